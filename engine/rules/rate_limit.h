// rate_limit: requests per window per scope (key, account, org, ip or an ip
// prefix, model, operation, or a mix), as a sliding window or GCRA with
// burst, daily and monthly UTC quotas, or a cap on concurrent requests.
// Optionally delays instead of refusing (GCRA only), like nginx limit_req
// with delay=.
#pragma once

#include <string>
#include <vector>

#include "engine/rule.h"
#include "engine/rules/limits.h"

namespace tosgate::engine {

class RateLimitRule final : public Rule {
 public:
  // `max_delay_ns` > 0: a request that would be throttled is held up to this
  // long and then admitted (every limit is then kGcra).
  RateLimitRule(RuleCommon common, std::vector<ScopeItem> scope, TieredLimits limits,
                int64_t max_delay_ns);
  bool stateful() const override { return true; }
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const std::vector<ScopeItem>& scope() const { return scope_; }
  const TieredLimits& limits() const { return limits_; }
  // The limit a tier gets (no account override), or nullptr.
  const LimitSpec* LimitFor(std::string_view tier) const;
  int64_t max_delay_ns() const { return max_delay_ns_; }

 private:
  std::vector<ScopeItem> scope_;
  TieredLimits limits_;
  int64_t max_delay_ns_;
  StateKeyPrefixes key_prefixes_;  // after limits_: it points into them
};

}  // namespace tosgate::engine
