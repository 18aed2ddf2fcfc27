// rate_limit: at most `requests` (+ `burst`) per sliding window of `per`,
// counted per scope (key, account, org, ip, model, operation or a mix).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/rule.h"

namespace tosgate::engine {

enum class ScopeField : uint8_t { kKey, kAccount, kOrg, kIp, kModel, kOperation };
// "key", "account", ... -> ScopeField; false if unknown.
bool ParseScopeField(std::string_view name, ScopeField* out);

struct RateLimit {
  int64_t requests = 0;
  int64_t per_ns = 0;
  int64_t burst = 0;
};

class RateLimitRule final : public Rule {
 public:
  // `by_tier` holds per-tier limits; `fallback`, when set, applies to tiers
  // not listed (a single limit for everyone is just a fallback). A tier with
  // no limit and no fallback is not limited by this rule.
  RateLimitRule(RuleCommon common, std::vector<ScopeField> scope,
                std::map<std::string, RateLimit, std::less<>> by_tier,
                std::optional<RateLimit> fallback);
  bool stateful() const override { return true; }
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const std::vector<ScopeField>& scope() const { return scope_; }
  const RateLimit* LimitFor(std::string_view tier) const;

 private:
  std::vector<ScopeField> scope_;
  std::map<std::string, RateLimit, std::less<>> by_tier_;
  std::optional<RateLimit> fallback_;
};

}  // namespace tosgate::engine
