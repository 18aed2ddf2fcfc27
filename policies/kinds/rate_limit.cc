// rate_limit: requests per window per scope.
//
//   scope: [account]                                     # or key, org, ip, ip/24, model, operation
//   algorithm: sliding_window                            # or gcra
//   limit: {requests: 100, per: 1m, burst: 10}           # everyone
//   limit: {free: {requests: 20, per: 1m}, pro: {...}}   # per tier
//   limit: {requests: 10000, per: day}                   # UTC calendar quota (day / month)
//   limit: {concurrent: 4, lease: 10m}                   # at most 4 in flight
//   action: throttle                                     # or {delay: {max: 2s}}
#include "engine/rules/rate_limit.h"

#include "policies/kinds/kinds.h"
#include "policies/kinds/limit_compiler.h"

namespace tosgate::policies {
namespace {

// `action: {delay: {max: 2s}}` -> the longest delay, or 0 on error.
int64_t CompileDelayAction(Context& ctx, const Field& f) {
  MapReader action(ctx, f);
  if (!action.ok()) return 0;
  std::optional<Field> delay = action.Require("delay");
  action.RejectUnknown();
  if (!delay) return 0;
  MapReader delay_map(ctx, *delay);
  if (!delay_map.ok()) return 0;
  std::optional<Field> max = delay_map.Require("max");
  delay_map.RejectUnknown();
  int64_t max_ns = 0;
  if (!max || !ctx.Duration(*max, &max_ns)) return 0;
  if (max_ns <= 0 || max_ns > 60'000'000'000) {
    ctx.Error(*max, "delay max must be from 1ms to 60s");
    return 0;
  }
  return max_ns;
}

}  // namespace

std::unique_ptr<engine::Rule> CompileRateLimit(MapReader& rule, Context& ctx,
                                               engine::RuleCommon common) {
  bool ok = true;
  int64_t max_delay_ns = 0;
  // The rule compiler left a map-valued action to us.
  if (std::optional<Field> action = rule.Peek("action"); action && action->node.IsMap()) {
    rule.Take("action");
    max_delay_ns = CompileDelayAction(ctx, *action);
    ok = max_delay_ns > 0 && ok;
    common.action = Action::kThrottle;
  }

  LimitSyntax syntax{"requests", /*allow_concurrent=*/true, /*gcra=*/max_delay_ns > 0};
  if (std::optional<Field> algorithm = rule.Take("algorithm")) {
    size_t index = 0;
    if (!ctx.Enum(*algorithm, {"sliding_window", "gcra"}, &index)) {
      ok = false;
    } else if (index == 0 && max_delay_ns > 0) {
      ctx.Error(*algorithm, "delay mode schedules requests with gcra; remove algorithm or set gcra");
      ok = false;
    } else {
      syntax.gcra = index == 1;
    }
  }

  std::vector<engine::ScopeItem> scope;
  ok = CompileScope(ctx, rule.Take("scope"), &scope) && ok;

  engine::TieredLimits limits;
  if (std::optional<Field> limit = rule.Require("limit")) {
    ok = CompileTieredLimits(ctx, *limit, syntax, &limits) && ok;
  } else {
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_unique<engine::RateLimitRule>(std::move(common), std::move(scope),
                                                 std::move(limits), max_delay_ns);
}

}  // namespace tosgate::policies
