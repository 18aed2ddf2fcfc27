// cost_budget: money per calendar period per scope, priced from `prices:`,
// reserved at admission and reconciled with reported usage.
//
//   scope: [account]
//   limit:                            # or one {usd: ..., per: ...} for everyone
//     free: {usd: 5, per: month, timezone: America/New_York}
//     pro: {usd: 100, per: 1d, timezone: Europe/Berlin}
//   soft: [0.5, 0.8]                  # flag admitted requests past these shares
//   default_max_tokens: 1024          # output estimate when the body sets no max_tokens
//   unpriced: deny                    # or allow: a model without a price is not charged
//   reservation_ttl: 10m
//   batch_reservation_ttl: 72h        # a batch's reservation waits this long for results
#include <algorithm>

#include "engine/rules/cost_budget.h"
#include "policies/kinds/kinds.h"
#include "policies/kinds/limit_compiler.h"

namespace tosgate::policies {
namespace {

// `soft: 0.8` or `soft: [0.5, 0.8]`: shares strictly between 0 and 1.
bool CompileSoft(Context& ctx, const Field& f, std::vector<int64_t>* out) {
  std::vector<Field> items;
  if (f.node.IsSequence()) {
    if (!ctx.Sequence(f, &items)) return false;
  } else {
    items.push_back(f);
  }
  bool ok = true;
  for (const Field& item : items) {
    double share = 0;
    if (!ctx.Number(item, &share)) {
      ok = false;
    } else if (!(share > 0 && share < 1)) {
      ctx.Error(item, "a soft share must be between 0 and 1 (0.8 flags from 80% spent)");
      ok = false;
    } else {
      out->push_back(static_cast<int64_t>(share * 1000 + 0.5));
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return ok;
}

// Every model a cost budget is scoped to must have a price: a budget that
// could never price its requests is a policy error, found at load.
bool CheckMatchedModels(MapReader& rule, Context& ctx, const engine::PriceTable& prices) {
  std::optional<Field> match = rule.Peek("match");
  if (!match || !match->node.IsMap()) return true;
  const YAML::Node models = match->node["models"];
  if (!models || !models.IsSequence()) return true;
  bool ok = true;
  for (size_t i = 0; i < models.size(); ++i) {
    const YAML::Node m = models[i];
    if (!m.IsScalar() || prices.Find(m.Scalar())) continue;
    ctx.Error(Field{m, match->path + ".models[" + std::to_string(i) + "]", m.Mark()},
              "model \"" + m.Scalar() + "\" has no price; add it under prices: (models or files)");
    ok = false;
  }
  return ok;
}

}  // namespace

std::unique_ptr<engine::Rule> CompileCostBudget(MapReader& rule, Context& ctx,
                                                engine::RuleCommon common) {
  bool ok = true;
  std::shared_ptr<const engine::PriceTable> prices = ctx.prices();
  if (!prices) prices = std::make_shared<const engine::PriceTable>();
  if (prices->empty()) {
    ctx.Error(rule.field(), "a cost_budget needs prices: in a file of this policy set");
    ok = false;
  }
  ok = CheckMatchedModels(rule, ctx, *prices) && ok;

  engine::CostBudgetOptions options;
  if (std::optional<Field> soft = rule.Take("soft"))
    ok = CompileSoft(ctx, *soft, &options.soft_permille) && ok;
  if (std::optional<Field> dflt = rule.Take("default_max_tokens"))
    ok = PositiveInt(ctx, *dflt, "default_max_tokens", &options.default_max_tokens) && ok;
  if (std::optional<Field> unpriced = rule.Take("unpriced")) {
    size_t index = 0;
    if (ctx.Enum(*unpriced, {"deny", "allow"}, &index)) options.unpriced_deny = index == 0;
    else ok = false;
  }
  if (std::optional<Field> ttl = rule.Take("reservation_ttl")) {
    if (!ctx.Duration(*ttl, &options.reservation_ttl_ns)) {
      ok = false;
    } else if (options.reservation_ttl_ns < 1'000'000'000 ||
               options.reservation_ttl_ns > 86'400'000'000'000) {
      ctx.Error(*ttl, "reservation_ttl must be from 1s to 1d");
      ok = false;
    }
  }

  if (std::optional<Field> ttl = rule.Take("batch_reservation_ttl")) {
    if (!ctx.Duration(*ttl, &options.batch_reservation_ttl_ns)) {
      ok = false;
    } else if (options.batch_reservation_ttl_ns < 3'600'000'000'000 ||
               options.batch_reservation_ttl_ns > 31 * 86'400'000'000'000) {
      ctx.Error(*ttl, "batch_reservation_ttl must be from 1h to 31d");
      ok = false;
    }
  }

  std::vector<engine::ScopeItem> scope;
  ok = CompileScope(ctx, rule.Take("scope"), &scope) && ok;
  engine::TieredLimits limits;
  if (std::optional<Field> limit = rule.Require("limit")) {
    LimitSyntax syntax{"usd", false, false};
    syntax.money = true;
    ok = CompileTieredLimits(ctx, *limit, syntax, &limits) && ok;
  } else {
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_unique<engine::CostBudgetRule>(std::move(common), std::move(scope),
                                                  std::move(limits), std::move(prices),
                                                  std::move(options));
}

}  // namespace tosgate::policies
