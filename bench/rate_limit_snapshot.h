// The policy the rate-limit benchmarks decide against: one rate_limit rule,
// 600 requests a minute per account (sliding window), built directly so that
// the figures leave the YAML loader out.
#pragma once

#include <memory>
#include <vector>

#include "engine/rules/rate_limit.h"
#include "engine/snapshot.h"

namespace tosgate::bench {

inline std::shared_ptr<engine::PolicySnapshot> PerAccountRateLimit() {
  auto snap = std::make_shared<engine::PolicySnapshot>();
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  engine::RuleCommon c;
  c.id = "rate.rpm";
  c.kind = "rate_limit";
  c.action = Action::kThrottle;
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, 600, 60'000'000'000, 60};
  engine::ScopeItem scope;
  scope.name = "account";
  snap->rules.push_back(std::make_unique<engine::RateLimitRule>(c, std::vector{scope}, limits, 0));
  return snap;
}

}  // namespace tosgate::bench
