#include "engine/rules/cost_budget_spend.h"

#include "engine/rules/cost_budget.h"

namespace tosgate::engine {

SpendByTier::Row& SpendByTier::RowFor(std::string_view tier) {
  if (auto it = rows_.find(tier); it != rows_.end()) return it->second;
  const std::string name = rows_.size() < kMaxTiers ? std::string(tier) : std::string("other");
  Row& row = rows_[name];
  row.tier = name;
  return row;
}

void SpendByTier::AddReserved(std::string_view tier, int64_t nano) {
  MutexLock lock(mu_);
  RowFor(tier).reserved += nano;
}

void SpendByTier::AddSettled(std::string_view tier, int64_t nano) {
  MutexLock lock(mu_);
  RowFor(tier).settled += nano;
}

std::vector<SpendByTier::Row> SpendByTier::Rows() const {
  MutexLock lock(mu_);
  std::vector<Row> out;
  out.reserve(rows_.size());
  for (const auto& [name, row] : rows_) out.push_back(row);
  return out;
}

namespace {

const char* PerWord(LimitKind kind) {
  return kind == LimitKind::kDaily ? "day" : kind == LimitKind::kWeekly ? "week" : "month";
}

}  // namespace

Result<std::vector<BudgetSpend>> AccountSpend(const PolicySnapshot& snapshot, StateStore& state,
                                              const Account& account, int64_t wall_ms,
                                              int64_t now_ns) {
  std::vector<BudgetSpend> out;
  for (const auto& rule : snapshot.rules) {
    const auto* budget = dynamic_cast<const CostBudgetRule*>(rule.get());
    if (!budget) continue;
    LimitSpec scratch;
    const LimitSpec* limit = budget->limits().For(account, budget->common().id, &scratch);
    if (!limit) continue;
    BudgetSpend base;
    base.rule_id = budget->common().id;
    base.tier = account.tier;
    base.limit = limit->amount;
    base.per = PerWord(limit->kind);
    const std::shared_ptr<const TimeZone> zone = limit->zone ? limit->zone : TimeZone::Utc();
    base.timezone = zone->name();
    const CalendarPeriod period = CalendarPeriodOf(limit->kind, limit->zone.get(), wall_ms);
    base.period_start = zone->Format(period.start_ms / 1000);
    base.resets_at = zone->Format(period.end_ms / 1000);

    bool per_key = false, unknowable = false;
    for (const ScopeItem& item : budget->scope()) {
      per_key |= item.field == ScopeField::kKey;
      unknowable |= item.field == ScopeField::kIp || item.field == ScopeField::kModel ||
                    item.field == ScopeField::kOperation;
    }
    if (unknowable) {
      base.scope = "…";
      base.spent = -1;
      out.push_back(std::move(base));
      continue;
    }
    // The meters an account's requests go to: one, or one per key.
    std::vector<std::string> keys = per_key ? account.key_ids : std::vector<std::string>{""};
    for (const std::string& key_id : keys) {
      Request req;
      req.key_id = key_id;
      const EvalContext ctx{req, account, {}, wall_ms, now_ns};
      std::string state_key;
      BudgetSpend row = base;
      BuildStateKey(base.rule_id, *limit, budget->scope(), ctx, &state_key, &row.scope);
      Result<MeterResult> r = state.Take(state_key, MeterFor(*limit, wall_ms), 0, now_ns);
      if (!r.ok()) return r.status();
      row.spent = r->used;
      out.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace tosgate::engine
