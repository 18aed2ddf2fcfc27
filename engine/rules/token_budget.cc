#include "engine/rules/token_budget.h"

#include <cstdio>

namespace tosgate::engine {

TokenBudgetRule::TokenBudgetRule(RuleCommon common, std::vector<ScopeItem> scope,
                                 TieredLimits limits, TokenBudgetOptions options)
    : Rule(std::move(common)),
      scope_(std::move(scope)),
      limits_(std::move(limits)),
      options_(options),
      key_prefixes_(this->common().id, limits_) {}

Status TokenBudgetRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  LimitSpec scratch;
  const LimitSpec* limit = limits_.For(ctx.eval.account, common().id, &scratch);
  if (!limit) return Status::Ok();

  const RequestBody& body = ctx.eval.request.body;
  const int64_t est_input = CeilDiv(body.prompt_chars, options_.chars_per_token);
  const int64_t max_out = body.max_tokens > 0 ? body.max_tokens : options_.default_max_tokens;
  const int64_t est_output = max_out * std::max<int64_t>(1, body.n);
  int64_t amount = 0;
  Charge::Tokens tokens = Charge::Tokens::kTotal;
  switch (options_.count) {
    case TokenCount::kInput: amount = est_input, tokens = Charge::Tokens::kInput; break;
    case TokenCount::kOutput: amount = est_output, tokens = Charge::Tokens::kOutput; break;
    case TokenCount::kTotal: amount = est_input + est_output; break;
  }

  std::string key;
  key_prefixes_.BuildKey(common().id, *limit, scope_, ctx.eval, &key);
  const MeterSpec meter = MeterFor(*limit, ctx.eval.wall_ms);
  Result<MeterResult> r = ctx.state.Take(key, meter, amount, ctx.eval.now_ns);
  if (!r.ok()) return r.status();
  RateLimitItem item = ItemFor(common().id, *limit, meter, *r);
  item.unit = "tokens";
  out->rate_limits.push_back(std::move(item));

  if (r->allowed) {
    Charge c;
    c.key = std::move(key);
    c.meter = meter;
    c.amount = amount;
    c.taken_at_ns = ctx.eval.now_ns;
    c.hold_ns = options_.reservation_ttl_ns;
    c.tokens = tokens;
    c.est_input = est_input;
    c.est_output = est_output;
    out->charges.push_back(std::move(c));
    return Status::Ok();
  }
  out->matched = true;
  out->retry_after_ms = CeilDiv(r->retry_after_ns, 1'000'000);
  char buf[320];
  std::snprintf(buf, sizeof buf, "%lld tokens reserved, %lld more needed, budget %s tokens for %s",
                static_cast<long long>(r->used), static_cast<long long>(amount),
                limit->Describe().c_str(), ScopeText(scope_, ctx.eval).c_str());
  out->detail = buf;
  return Status::Ok();
}

}  // namespace tosgate::engine
