#include "engine/usage.h"

#include <algorithm>

#include "engine/rules/rate_limit.h"
#include "engine/rules/token_budget.h"

namespace tosgate::engine {
namespace {

struct Limited {
  const Rule* rule;
  const char* kind;
  const std::vector<ScopeItem>* scope;
  const TieredLimits* limits;
};

bool Overridden(const Account& account, const std::string& rule_id) {
  return std::any_of(account.limit_overrides.begin(), account.limit_overrides.end(),
                     [&](const LimitOverride& o) { return o.rule_id == rule_id && o.amount > 0; });
}

// One meter's row: read, never counted (StateStore::Peek, LeasesHeld).
Status Read(StateStore& state, const LimitSpec& limit, const std::string& key, bool tokens,
            int64_t wall_ms, int64_t now_ns, LimitUsage* row) {
  if (limit.kind == LimitKind::kConcurrent) {
    row->unit = "concurrent";
    Result<int64_t> held = state.LeasesHeld(key, now_ns);
    if (!held.ok()) return held.status();
    if (*held >= 0) {
      row->used = *held;
      row->remaining = std::max<int64_t>(0, limit.amount - *held);
    }
    return Status::Ok();
  }
  row->unit = tokens ? "tokens" : "requests";
  const MeterSpec meter = MeterFor(limit, wall_ms);
  Result<MeterResult> r = state.Peek(key, meter, now_ns);
  if (!r.ok()) return r.status();
  row->used = r->used;
  row->remaining = r->remaining;
  row->reset_ms = CeilDiv(r->reset_ns, 1'000'000);
  return Status::Ok();
}

}  // namespace

Result<std::vector<LimitUsage>> AccountUsage(const PolicySnapshot& snapshot, StateStore& state,
                                             const Account& account, int64_t wall_ms,
                                             int64_t now_ns) {
  std::vector<LimitUsage> out;
  for (const auto& rule : snapshot.rules) {
    Limited l{rule.get(), nullptr, nullptr, nullptr};
    if (const auto* r = dynamic_cast<const RateLimitRule*>(rule.get())) {
      l = {r, "rate_limit", &r->scope(), &r->limits()};
    } else if (const auto* t = dynamic_cast<const TokenBudgetRule*>(rule.get())) {
      l = {t, "token_budget", &t->scope(), &t->limits()};
    } else {
      continue;
    }
    const std::string& id = l.rule->common().id;
    LimitSpec scratch;
    const LimitSpec* limit = l.limits->For(account, id, &scratch);
    if (!limit) continue;
    LimitUsage base;
    base.rule_id = id;
    base.kind = l.kind;
    base.limit = limit->Describe();
    base.amount = limit->amount + (limit->kind == LimitKind::kGcra ? limit->burst : 0);
    base.overridden = Overridden(account, id);
    const bool tokens = l.kind[0] == 't';
    bool per_key = false, unknowable = false;
    for (const ScopeItem& item : *l.scope) {
      per_key |= item.field == ScopeField::kKey;
      unknowable |= item.field == ScopeField::kIp || item.field == ScopeField::kModel ||
                    item.field == ScopeField::kOperation;
    }
    if (unknowable) {
      base.scope = "…";
      base.unit = limit->kind == LimitKind::kConcurrent ? "concurrent" : tokens ? "tokens" : "requests";
      out.push_back(std::move(base));
      continue;
    }
    // The meters the account's requests go to: one, or one per key - keyed
    // exactly as the rule keys them (BuildStateKey over the same scope).
    const std::vector<std::string> keys = per_key ? account.key_ids : std::vector<std::string>{""};
    for (const std::string& key_id : keys) {
      Request req;
      req.key_id = key_id;
      const EvalContext ctx{req, account, {}, wall_ms, now_ns};
      std::string state_key;
      LimitUsage row = base;
      BuildStateKey(id, *limit, *l.scope, ctx, &state_key, &row.scope);
      if (Status s = Read(state, *limit, state_key, tokens, wall_ms, now_ns, &row); !s.ok()) return s;
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace tosgate::engine
