// Spend: what cost budgets have counted, for people. Two views:
// - SpendByTier: money reserved and settled per account tier since the
//   process started, for Prometheus (tosgate_cost_*_usd_total{tier}).
// - AccountSpend(): one account's spend to date against each cost budget
//   of a policy snapshot, read from the StateStore's meters (the admin API,
//   `tosgate accounts spend`).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/snapshot.h"
#include "engine/state_store.h"
#include "engine/thread_annotations.h"
#include "tosgate/request.h"

namespace tosgate::engine {

// Nano-dollars per tier. Thread-safe; a short lock per admitted or settled
// request that a cost budget priced. At most kMaxTiers tiers are told apart
// (tiers come from the policy and the accounts); the rest count as "other".
class SpendByTier {
 public:
  static constexpr size_t kMaxTiers = 256;
  struct Row {
    std::string tier;
    int64_t reserved = 0;  // at admission, every priced request
    int64_t settled = 0;   // repriced from usage, or the reservation when none came
  };
  void AddReserved(std::string_view tier, int64_t nano);
  void AddSettled(std::string_view tier, int64_t nano);
  std::vector<Row> Rows() const;

 private:
  Row& RowFor(std::string_view tier) REQUIRES(mu_);
  mutable Mutex mu_;
  std::map<std::string, Row, std::less<>> rows_ GUARDED_BY(mu_);
};

// One account's standing against one cost budget, in its current period.
struct BudgetSpend {
  std::string rule_id;
  std::string tier;
  std::string scope;      // "org=acme", as the refusals say it
  int64_t limit = 0;      // nano-dollars
  int64_t spent = 0;      // spent or reserved in this period, nano-dollars
  std::string per;        // "day", "week" or "month"
  std::string timezone;   // IANA name, "UTC" by default
  std::string period_start;  // local time with offset
  std::string resets_at;     // local time with offset
};

// The account's spend against every cost budget of `snapshot` that applies
// to its tier, scoped by what an account determines: key (one line per
// key of the account), account, org. Budgets scoped by ip, model or
// operation have a meter per value and are listed once with scope "…" and
// spent -1 (not shown). Reads with a zero-cost Take (counts nothing).
Result<std::vector<BudgetSpend>> AccountSpend(const PolicySnapshot& snapshot, StateStore& state,
                                              const Account& account, int64_t wall_ms,
                                              int64_t now_ns);

}  // namespace tosgate::engine
