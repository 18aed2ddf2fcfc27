// What rate_limit and token_budget share: scopes (whose counter a request
// goes to), limits per tier with per-account overrides, the state key, and
// the meter a limit uses at a given moment.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/field.h"
#include "engine/state_store.h"
#include "engine/time_zone.h"
#include "tosgate/decision.h"

namespace tosgate::engine {

enum class ScopeField : uint8_t { kKey, kAccount, kOrg, kIp, kModel, kOperation };

struct ScopeItem {
  ScopeField field = ScopeField::kAccount;
  int v4_bits = 32;   // kIp: addresses are grouped by these prefixes
  int v6_bits = 128;
  std::string name;   // as written: "account", "ip/24", ...
};

// "key", "account", "org", "model", "operation", "ip", and "ip/N" or
// "ip/N/M" for prefix grouping: "ip/24" groups IPv4 by /24 (and IPv6 by
// /64), "ip/64" groups IPv6 by /64 (and IPv4 by /32), "ip/24/56" sets both.
// On failure returns false and says why in *error.
bool ParseScopeItem(std::string_view text, ScopeItem* out, std::string* error);

// The value of a scope for one request: "203.0.113.0/24" for ip/24.
std::string ScopeValue(const ScopeItem& item, const EvalContext& ctx);
// The same, appended to *out (no temporary string unless an ip is grouped).
void AppendScopeValue(const ScopeItem& item, const EvalContext& ctx, std::string* out);
// The scope's values for people, "account=acct_1 ip=203.0.113.0/24" ("(none)"
// for an empty value): BuildStateKey's `scope_text`, made only when a
// refusal or a delay explains itself.
std::string ScopeText(const std::vector<ScopeItem>& scope, const EvalContext& ctx);

enum class LimitKind : uint8_t {
  kWindow,      // amount per sliding window of per_ns, plus burst
  kGcra,        // amount per per_ns at a steady pace, plus burst at once
  kDaily,       // amount per UTC calendar day
  kMonthly,     // amount per UTC calendar month
  kConcurrent,  // amount at once; leases end on completion or after lease_ns
  kWeekly,      // amount per calendar week, Monday to Monday
};

struct LimitSpec {
  LimitKind kind = LimitKind::kWindow;
  int64_t amount = 0;
  int64_t per_ns = 0;
  int64_t burst = 0;
  int64_t lease_ns = 0;
  // Calendar limits (daily, weekly, monthly): the zone whose midnights end
  // their periods; null: UTC.
  std::shared_ptr<const TimeZone> zone{};
  // Identifies the limit inside state keys: a reload that keeps the rule id
  // and this keeps the counters; a changed limit starts afresh.
  std::string Signature() const;
  // The same, appended to *out: state keys are built per request.
  void AppendSignature(std::string* out) const;
  // "20 per 1m", "1000 per UTC day", "4 concurrent", for explanations.
  std::string Describe() const;
};

// `limit:` — one for everyone, or one per tier; an account's override for
// the rule replaces it.
struct TieredLimits {
  std::map<std::string, LimitSpec, std::less<>> by_tier;
  std::optional<LimitSpec> fallback;

  // The limit for `account` under rule `rule_id`, or nullptr when its tier
  // has none. May point into *scratch.
  const LimitSpec* For(const Account& account, std::string_view rule_id,
                       LimitSpec* scratch) const;
};

// The state key of one rule, limit and scope: "<rule>|<signature>" followed
// by each scope's value; `scope_text` says the same for people.
void BuildStateKey(std::string_view rule_id, const LimitSpec& limit,
                   const std::vector<ScopeItem>& scope, const EvalContext& ctx,
                   std::string* key, std::string* scope_text);

// The fixed part of a rule's state keys, "<rule>|<signature>", worked out
// once for each limit its TieredLimits holds; BuildKey then appends only the
// request's scope values (the same key BuildStateKey builds). A limit that
// is not one of them (an account's override) gets its prefix built per
// request. Holds pointers into `limits`, which must stay where it is.
class StateKeyPrefixes {
 public:
  StateKeyPrefixes(std::string_view rule_id, const TieredLimits& limits);
  void BuildKey(std::string_view rule_id, const LimitSpec& limit,
                const std::vector<ScopeItem>& scope, const EvalContext& ctx,
                std::string* key) const;

 private:
  std::vector<std::pair<const LimitSpec*, std::string>> prefixes_;
};

// The meter a (non-concurrent) limit counts with at this wall time: the
// calendar period of a daily or monthly quota comes from it.
MeterSpec MeterFor(const LimitSpec& limit, int64_t wall_ms);

// The calendar period (day, week from Monday, month) of a calendar limit
// that holds `wall_ms`, in the limit's zone (UTC without one).
struct CalendarPeriod {
  int64_t index = 0;     // distinct per period of one kind
  int64_t start_ms = 0;  // UTC
  int64_t end_ms = 0;    // UTC: the next period's start
};
CalendarPeriod CalendarPeriodOf(LimitKind kind, const TimeZone* zone, int64_t wall_ms);

// The RateLimit-Policy / RateLimit item a limit reports.
RateLimitItem ItemFor(std::string_view rule_id, const LimitSpec& limit, const MeterSpec& meter,
                      const MeterResult& result);

int64_t CeilDiv(int64_t a, int64_t b);

}  // namespace tosgate::engine
