#include "policies/kinds/kinds.h"

namespace tosgate::policies {
namespace {

constexpr KindSpec kKinds[] = {
    {"attribute", &CompileAttribute, Action::kDeny, "", false},
    {"rate_limit", &CompileRateLimit, Action::kThrottle, "rate-limited", true},
    {"token_budget", &CompileTokenBudget, Action::kThrottle, "token-budget-exceeded", false},
    {"cost_budget", &CompileCostBudget, Action::kThrottle, "cost-budget-exceeded", false},
    {"content", &CompileContent, Action::kDeny, "", false},
    {"competitor_training", &CompileCompetitorTraining, Action::kFlag, "competitor-training", false},
    {"guard", &CompileGuard, Action::kDeny, "guard-unsafe", false},
    {"indicators", &CompileIndicators, Action::kFlag, "campaign-indicator", false},
};

}  // namespace

std::span<const KindSpec> Kinds() { return kKinds; }

const KindSpec* FindKind(std::string_view name) {
  for (const KindSpec& k : kKinds)
    if (k.name == name) return &k;
  return nullptr;
}

}  // namespace tosgate::policies
