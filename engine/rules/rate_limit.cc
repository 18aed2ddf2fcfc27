#include "engine/rules/rate_limit.h"

#include <cstdio>

namespace tosgate::engine {

RateLimitRule::RateLimitRule(RuleCommon common, std::vector<ScopeItem> scope, TieredLimits limits,
                             int64_t max_delay_ns)
    : Rule(std::move(common)),
      scope_(std::move(scope)),
      limits_(std::move(limits)),
      max_delay_ns_(max_delay_ns),
      key_prefixes_(this->common().id, limits_) {}

const LimitSpec* RateLimitRule::LimitFor(std::string_view tier) const {
  Account a;
  a.tier = std::string(tier);
  LimitSpec unused;
  return limits_.For(a, common().id, &unused);
}

Status RateLimitRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  LimitSpec scratch;
  const LimitSpec* limit = limits_.For(ctx.eval.account, common().id, &scratch);
  if (!limit) return Status::Ok();

  // The key is built where the charge keeps it (no copy).
  Charge charge;
  key_prefixes_.BuildKey(common().id, *limit, scope_, ctx.eval, &charge.key);
  const std::string& key = charge.key;
  const int64_t now = ctx.eval.now_ns;

  MeterSpec meter = MeterFor(*limit, ctx.eval.wall_ms);
  Result<MeterResult> r = Status::Ok();
  if (limit->kind == LimitKind::kConcurrent) {
    r = ctx.state.Acquire(key, ctx.lease_id, limit->amount, now, limit->lease_ns);
    charge.lease_id = ctx.lease_id;
    charge.hold_ns = limit->lease_ns;
  } else {
    r = ctx.state.Take(key, meter, 1, now, max_delay_ns_);
    charge.meter = meter;
    charge.amount = 1;
    charge.taken_at_ns = now;
  }
  if (!r.ok()) return r.status();
  out->rate_limits.push_back(ItemFor(common().id, *limit, meter, *r));

  char buf[320];
  if (r->allowed) {
    out->charges.push_back(std::move(charge));
    if (r->delay_ns > 0) {
      out->delay_ms = CeilDiv(r->delay_ns, 1'000'000);
      std::snprintf(buf, sizeof buf, "delayed %lldms to keep %s to %s",
                    static_cast<long long>(out->delay_ms), ScopeText(scope_, ctx.eval).c_str(),
                    limit->Describe().c_str());
      out->detail = buf;
    }
    return Status::Ok();
  }
  out->matched = true;
  out->retry_after_ms = CeilDiv(r->retry_after_ns, 1'000'000);
  std::snprintf(buf, sizeof buf, "%lld in use of %s for %s", static_cast<long long>(r->used),
                limit->Describe().c_str(), ScopeText(scope_, ctx.eval).c_str());
  out->detail = buf;
  return Status::Ok();
}

}  // namespace tosgate::engine
