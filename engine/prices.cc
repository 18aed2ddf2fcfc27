#include "engine/prices.h"

#include <algorithm>
#include <limits>

namespace tosgate::engine {
namespace {

constexpr int64_t kMillion = 1'000'000;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t SatAdd(int64_t a, int64_t b) { return a > kMax - b ? kMax : a + b; }

// tokens * rate / 1e6, rounded up, without overflowing for tokens up to 1e9
// and rates up to ~9e12 (nine thousand dollars per token): the rate is split
// into whole nano-dollars per token and a remainder.
int64_t Price(int64_t tokens, int64_t rate_per_million) {
  if (tokens <= 0 || rate_per_million <= 0) return 0;
  const int64_t whole = rate_per_million / kMillion, part = rate_per_million % kMillion;
  if (whole > 0 && tokens > kMax / whole) return kMax;
  const int64_t a = tokens * whole;
  // part < 1e6 and tokens <= 9e12 keep the product in range; beyond, saturate.
  if (tokens > kMax / kMillion) return kMax;
  const int64_t b = (tokens * part + kMillion - 1) / kMillion;
  return SatAdd(a, b);
}

}  // namespace

int64_t CostOf(const CostRates& r, const TokenCounts& t) {
  const int64_t input = std::max<int64_t>(0, t.input), output = std::max<int64_t>(0, t.output);
  const int64_t cached = std::clamp<int64_t>(t.cached_input, 0, input);
  const int64_t written = std::clamp<int64_t>(t.cache_write, 0, input - cached);
  const int64_t reasoning = std::clamp<int64_t>(t.reasoning, 0, output);
  int64_t cost = Price(input - cached - written, r.input);
  cost = SatAdd(cost, Price(cached, r.cached_input));
  cost = SatAdd(cost, Price(written, r.cache_write));
  cost = SatAdd(cost, Price(output - reasoning, r.output));
  return SatAdd(cost, Price(reasoning, r.reasoning));
}

bool ParseUsd(std::string_view s, int64_t* nano) {
  int64_t whole = 0, frac = 0, scale = kNanoUsdPerUsd;
  size_t i = 0, digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
    if (whole > kMax / kNanoUsdPerUsd / 10) return false;
    whole = whole * 10 + (s[i] - '0');
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (scale == 1) return false;  // finer than a nano-dollar
      scale /= 10;
      frac += (s[i] - '0') * scale;
    }
  }
  if (i != s.size() || digits == 0) return false;
  *nano = whole * kNanoUsdPerUsd + frac;
  return true;
}

std::string FormatUsd(int64_t nano) {
  const bool negative = nano < 0;
  const uint64_t v = negative ? 0 - static_cast<uint64_t>(nano) : static_cast<uint64_t>(nano);
  std::string frac = std::to_string(v % kNanoUsdPerUsd);
  frac.insert(0, 9 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return (negative ? "-" : "") + std::to_string(v / kNanoUsdPerUsd) + "." + frac;
}

bool GlobMatches(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi, ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1, si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool PriceTable::Add(ModelPrice price) {
  if (Exact(price.pattern)) return false;
  if (price.pattern.find_first_of("*?") == std::string::npos) {
    std::string key = price.pattern;
    exact_.emplace(std::move(key), std::move(price));
    return true;
  }
  auto at = std::find_if(globs_.begin(), globs_.end(), [&](const ModelPrice& g) {
    return g.pattern.size() < price.pattern.size();
  });
  globs_.insert(at, std::move(price));
  return true;
}

const ModelPrice* PriceTable::Exact(std::string_view pattern) const {
  if (auto it = exact_.find(pattern); it != exact_.end()) return &it->second;
  for (const ModelPrice& g : globs_)
    if (g.pattern == pattern) return &g;
  return nullptr;
}

const ModelPrice* PriceTable::Find(std::string_view model) const {
  if (auto it = exact_.find(model); it != exact_.end()) return &it->second;
  for (const ModelPrice& g : globs_)
    if (GlobMatches(g.pattern, model)) return &g;
  return nullptr;
}

}  // namespace tosgate::engine
