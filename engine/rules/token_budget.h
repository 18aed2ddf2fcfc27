// token_budget: tokens per window per scope. At admission the request's
// estimated input tokens and/or its max_tokens (times n) are reserved
// atomically; the engine later reconciles the reservation with what the
// upstream reported (Engine::ReportUsage), or keeps it as reserved when no
// report comes within the reservation's time to live.
#pragma once

#include <string>
#include <vector>

#include "engine/rule.h"
#include "engine/rules/limits.h"

namespace tosgate::engine {

enum class TokenCount : uint8_t { kInput, kOutput, kTotal };

struct TokenBudgetOptions {
  TokenCount count = TokenCount::kTotal;
  int64_t default_max_tokens = 1024;  // when the body gives none
  int64_t chars_per_token = 4;        // input estimate: prompt characters / this
  int64_t reservation_ttl_ns = 600'000'000'000;
};

class TokenBudgetRule final : public Rule {
 public:
  TokenBudgetRule(RuleCommon common, std::vector<ScopeItem> scope, TieredLimits limits,
                  TokenBudgetOptions options);
  bool stateful() const override { return true; }
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const std::vector<ScopeItem>& scope() const { return scope_; }
  const TieredLimits& limits() const { return limits_; }
  const TokenBudgetOptions& options() const { return options_; }

 private:
  std::vector<ScopeItem> scope_;
  TieredLimits limits_;
  TokenBudgetOptions options_;
  StateKeyPrefixes key_prefixes_;  // after limits_: it points into them
};

}  // namespace tosgate::engine
