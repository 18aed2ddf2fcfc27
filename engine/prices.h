// Prices of models in USD per million tokens, and what a request costs.
//
// Money is counted in whole nano-dollars (1e-9 USD) as int64: a rate of
// $0.075 per million tokens is 75'000'000 nano-dollars per million, and
// int64 holds budgets up to about $9.2 billion. Costs round up per token
// class, so a request never costs less than its tokens at their rates.
//
// Immutable once built; safe to read from many threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tosgate::engine {

inline constexpr int64_t kNanoUsdPerUsd = 1'000'000'000;

// Rates in nano-dollars per million tokens.
struct CostRates {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cached_input = 0;  // input read from the provider's prompt cache
  int64_t cache_write = 0;   // input written to the cache (Anthropic cache creation)
  int64_t reasoning = 0;     // output spent on reasoning / thinking
};

struct ModelPrice {
  std::string pattern;  // an exact model name or a glob ('*' any run, '?' one character)
  CostRates rates;
  int64_t max_output_tokens = 0;  // caps the output estimate; 0: no cap
  std::string source;             // "file:line:column" where it was written
};

// Token counts of one request, in the gateway's normalized form: input
// includes its cached and cache-written parts, output its reasoning part.
struct TokenCounts {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cached_input = 0;
  int64_t cache_write = 0;
  int64_t reasoning = 0;
};

// What `tokens` cost at `rates`, in nano-dollars (saturating, never negative).
// Parts larger than their whole are clamped to it.
int64_t CostOf(const CostRates& rates, const TokenCounts& tokens);

// "12.50" -> 12'500'000'000 (nano-dollars), up to 9 decimals. False for
// anything else: signs, exponents, more decimals, values past int64.
bool ParseUsd(std::string_view text, int64_t* nano);
// 12'500'000'000 -> "12.50"; at least two decimals, more when needed.
std::string FormatUsd(int64_t nano);

// Whether `name` matches glob `pattern` ('*' any run, '?' one character).
// Linear in practice: one backtrack point, as for shell globs.
bool GlobMatches(std::string_view pattern, std::string_view name);

class PriceTable {
 public:
  // False when `pattern` is already priced.
  bool Add(ModelPrice price);
  // Exact names first, then the longest matching glob (the most specific);
  // null when nothing prices `model`.
  const ModelPrice* Find(std::string_view model) const;
  const ModelPrice* Exact(std::string_view pattern) const;
  bool empty() const { return exact_.empty() && globs_.empty(); }
  size_t size() const { return exact_.size() + globs_.size(); }

 private:
  std::map<std::string, ModelPrice, std::less<>> exact_;
  std::vector<ModelPrice> globs_;  // longest pattern first
};

}  // namespace tosgate::engine
