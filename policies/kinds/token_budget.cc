// token_budget: tokens per window per scope, reserved at admission and
// reconciled with reported usage.
//
//   scope: [org, model]
//   count: total                      # input | output | total
//   limit: {free: {tokens: 40000, per: 1m}, pro: {tokens: 2000000, per: 1m}}
//   default_max_tokens: 1024          # reserved for output when the body sets no max_tokens
//   reservation_ttl: 10m              # unreported reservations are kept as reserved after this
#include "engine/rules/token_budget.h"

#include "policies/kinds/kinds.h"
#include "policies/kinds/limit_compiler.h"

namespace tosgate::policies {

std::unique_ptr<engine::Rule> CompileTokenBudget(MapReader& rule, Context& ctx,
                                                 engine::RuleCommon common) {
  bool ok = true;
  engine::TokenBudgetOptions options;
  if (std::optional<Field> count = rule.Take("count")) {
    size_t index = 0;
    if (ctx.Enum(*count, {"input", "output", "total"}, &index))
      options.count = static_cast<engine::TokenCount>(index);
    else
      ok = false;
  }
  if (std::optional<Field> dflt = rule.Take("default_max_tokens"))
    ok = PositiveInt(ctx, *dflt, "default_max_tokens", &options.default_max_tokens) && ok;
  if (std::optional<Field> ttl = rule.Take("reservation_ttl")) {
    if (!ctx.Duration(*ttl, &options.reservation_ttl_ns)) {
      ok = false;
    } else if (options.reservation_ttl_ns < 1'000'000'000 ||
               options.reservation_ttl_ns > 86'400'000'000'000) {
      ctx.Error(*ttl, "reservation_ttl must be from 1s to 1d");
      ok = false;
    }
  }
  bool gcra = false;
  if (std::optional<Field> algorithm = rule.Take("algorithm")) {
    size_t index = 0;
    if (ctx.Enum(*algorithm, {"sliding_window", "gcra"}, &index)) gcra = index == 1;
    else ok = false;
  }

  std::vector<engine::ScopeItem> scope;
  ok = CompileScope(ctx, rule.Take("scope"), &scope) && ok;

  engine::TieredLimits limits;
  if (std::optional<Field> limit = rule.Require("limit")) {
    ok = CompileTieredLimits(ctx, *limit, LimitSyntax{"tokens", false, gcra}, &limits) && ok;
  } else {
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_unique<engine::TokenBudgetRule>(std::move(common), std::move(scope),
                                                   std::move(limits), options);
}

}  // namespace tosgate::policies
