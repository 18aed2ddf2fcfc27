#include "engine/rules/cost_budget.h"

#include <algorithm>

namespace tosgate::engine {
namespace {

constexpr int64_t kNanoPerCent = kNanoUsdPerUsd / 100;

// Token estimates are non-negative; these saturate at INT64_MAX.
int64_t SaturatingAdd(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }
int64_t SaturatingMul(int64_t a, int64_t b) {
  return a != 0 && b > INT64_MAX / a ? INT64_MAX : a * b;
}

}  // namespace

std::string DescribeCostLimit(const LimitSpec& limit) {
  const char* per = limit.kind == LimitKind::kDaily    ? "day"
                    : limit.kind == LimitKind::kWeekly ? "week"
                                                       : "month";
  return "$" + FormatUsd(limit.amount) + " per " + per + " (" +
         (limit.zone ? limit.zone->name() : std::string("UTC")) + ")";
}

CostBudgetRule::CostBudgetRule(RuleCommon common, std::vector<ScopeItem> scope, TieredLimits limits,
                               std::shared_ptr<const PriceTable> prices, CostBudgetOptions options)
    : Rule(std::move(common)),
      scope_(std::move(scope)),
      limits_(std::move(limits)),
      prices_(std::move(prices)),
      options_(std::move(options)) {}

int64_t CostBudgetRule::Estimate(const ModelPrice& price, const RequestBody& body,
                                 TokenCounts* tokens) const {
  auto capped = [&](int64_t max_out) {
    return price.max_output_tokens > 0 ? std::min(max_out, price.max_output_tokens) : max_out;
  };
  const int64_t given = capped(body.max_tokens > 0 ? body.max_tokens : options_.default_max_tokens);
  const int64_t n = std::clamp<int64_t>(body.n, 1, 128);
  tokens->input = CeilDiv(body.prompt_chars, options_.chars_per_token);
  // A batch: every request at the largest max_tokens any sets (the body
  // keeps only that), those that set none at the default. At most a
  // million tokens of output per request and a few million requests: no
  // overflow before the multiplication by n, which saturates.
  int64_t max_out = given;
  if (body.batch_requests > 0) {
    const int64_t unbounded = std::clamp<int64_t>(body.batch_unbounded_requests, 0, body.batch_requests);
    const int64_t bounded = body.batch_requests - unbounded;
    max_out = SaturatingMul(bounded, given);
    max_out = SaturatingAdd(max_out, SaturatingMul(unbounded, capped(options_.default_max_tokens)));
  }
  tokens->output = SaturatingMul(max_out, n);
  CostRates upper = price.rates;
  upper.output = std::max(upper.output, upper.reasoning);
  return CostOf(upper, *tokens);
}

Status CostBudgetRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  LimitSpec scratch;
  const LimitSpec* limit = limits_.For(ctx.eval.account, common().id, &scratch);
  if (!limit) return Status::Ok();
  const RequestBody& body = ctx.eval.request.body;
  // Uploading a file costs nothing; its requests are counted when a batch
  // of them is submitted. A request without a body (GET, DELETE: a batch's
  // status, its results) asks for no generation.
  if (body.api == "files" || (!body.present && body.model.empty())) return Status::Ok();
  const std::string& model = body.model;
  if (!body.batch_input_file.empty() && body.batch_requests <= 0) {
    if (!options_.unpriced_deny) return Status::Ok();
    out->matched = true;
    out->action = Action::kDeny;
    out->reason = std::string(kBatchInputUnknown);
    out->detail = "the batch's input file \"" + body.batch_input_file +
                  "\" was not uploaded through the gateway: its requests cannot be counted";
    return Status::Ok();
  }
  const ModelPrice* price = prices_->Find(model);
  if (!price) {
    if (!options_.unpriced_deny) return Status::Ok();
    // Nothing to price it by: spending on it could not be bounded.
    out->matched = true;
    out->action = Action::kDeny;
    out->reason = std::string(kModelUnpriced);
    out->detail = "no price for model \"" + model + "\" in prices:";
    return Status::Ok();
  }
  TokenCounts est;
  const int64_t amount = Estimate(*price, body, &est);

  std::string key, scope_text;
  BuildStateKey(common().id, *limit, scope_, ctx.eval, &key, &scope_text);
  const MeterSpec meter = MeterFor(*limit, ctx.eval.wall_ms);
  Result<MeterResult> r = ctx.state.Take(key, meter, amount, ctx.eval.now_ns);
  if (!r.ok()) return r.status();
  RateLimitItem item = ItemFor(common().id, *limit, meter, *r);
  item.quota = limit->amount / kNanoPerCent;
  item.remaining = r->allowed ? r->remaining / kNanoPerCent : 0;
  item.unit = "usd-cents";
  out->rate_limits.push_back(std::move(item));

  // When the period ends, in its zone; only for a flag or a refusal.
  auto resets_at = [&] {
    const int64_t end_s = (ctx.eval.wall_ms + CeilDiv(meter.period_left_ns, 1'000'000)) / 1000;
    return limit->zone ? limit->zone->Format(end_s) : TimeZone::Utc()->Format(end_s);
  };
  if (r->allowed) {
    Charge c;
    c.key = std::move(key);
    c.meter = meter;
    c.amount = amount;
    c.taken_at_ns = ctx.eval.now_ns;
    c.hold_ns = body.batch_requests > 0 ? options_.batch_reservation_ttl_ns
                                        : options_.reservation_ttl_ns;
    c.tokens = Charge::Tokens::kCost;
    c.est_input = est.input;
    c.est_output = est.output;
    c.rates = price->rates;
    c.tier = ctx.eval.account.tier;
    out->charges.push_back(std::move(c));
    // Soft shares flag the request that crosses them, and every one after.
    for (auto it = options_.soft_permille.rbegin(); it != options_.soft_permille.rend(); ++it) {
      if (r->used / 1000 < limit->amount / 1000 * *it / 1000) continue;
      out->matched = true;
      out->action = Action::kFlag;
      out->reason = std::string(kCostBudgetSoft);
      out->detail = "$" + FormatUsd(r->used) + " spent or reserved of " +
                    DescribeCostLimit(*limit) + " (past " + std::to_string(*it / 10) + "." +
                    std::to_string(*it % 10) + "%) for " + scope_text + "; resets " + resets_at();
      break;
    }
    return Status::Ok();
  }
  out->matched = true;
  out->retry_after_ms = CeilDiv(r->retry_after_ns, 1'000'000);
  out->resets_at = resets_at();
  out->detail = "$" + FormatUsd(r->used) + " spent or reserved, $" + FormatUsd(amount) +
                " more needed, budget " + DescribeCostLimit(*limit) + " for " + scope_text +
                "; resets " + out->resets_at;
  return Status::Ok();
}

}  // namespace tosgate::engine
