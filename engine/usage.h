// Usage: one account's standing against the rate limits and token budgets
// of a policy snapshot - used, limit, remaining and when it resets - for
// people (the admin API's /v1/admin/accounts/{id}/usage and the console's
// Accounts page). Cost budgets have their own view (AccountSpend in
// engine/rules/cost_budget_spend.h).
//
// Reads only: meters through StateStore::Peek, concurrency leases through
// StateStore::LeasesHeld. Nothing is counted, no lease is taken, no token
// reservation changes, and (with the memory store) no key is tracked that
// was not before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/snapshot.h"
#include "engine/state_store.h"
#include "tosgate/request.h"

namespace tosgate::engine {

struct LimitUsage {
  std::string rule_id;
  std::string kind;       // "rate_limit" or "token_budget"
  std::string unit;       // "requests", "tokens" or "concurrent"
  std::string scope;      // "account=a1", as the refusals say it; "…" when not the account's
  std::string limit;      // "20 per 1m", LimitSpec::Describe
  int64_t amount = 0;     // the limit's amount (GCRA: plus its burst)
  int64_t used = -1;      // -1: not known (per ip, model or operation; or a store that cannot tell)
  int64_t remaining = -1;
  int64_t reset_ms = -1;  // until the meter is full again or its window or period ends
  bool overridden = false;  // the account's own limit_overrides, not its tier's
};

// Every rate_limit and token_budget rule of `snapshot` that gives the
// account's tier (or the account's override) a limit. Scoped by what an
// account determines: key (one row per key of the account), account, org;
// limits scoped by ip, model or operation have a meter per value and are
// listed once with scope "…" and used -1.
Result<std::vector<LimitUsage>> AccountUsage(const PolicySnapshot& snapshot, StateStore& state,
                                             const Account& account, int64_t wall_ms,
                                             int64_t now_ns);

}  // namespace tosgate::engine
