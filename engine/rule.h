// Rule: one compiled policy rule. Each kind is a subclass in engine/rules/.
//
// Rules are immutable once compiled and shared by every thread that holds the
// snapshot. Evaluate() must not throw.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/field.h"
#include "engine/prices.h"
#include "engine/state_store.h"
#include "tosgate/decision.h"
#include "tosgate/status.h"

namespace tosgate::engine {

class ContentScans;  // engine/content/index.h
class BehaviorStore;  // engine/distill/behavior_store.h
class FeatureLog;     // engine/distill/feature_log.h
class GuardClient;    // engine/guard.h
class AccountMarks;   // engine/account_marks.h

// `match:` — which requests a rule applies to. Empty lists match everything.
struct RuleScope {
  std::vector<std::string> operations;
  std::vector<std::string> models;
  std::vector<std::string> tiers;
  bool Applies(const EvalContext& ctx) const;
};

struct RuleCommon {
  std::string id;
  std::string kind;  // "attribute", "rate_limit", ...
  std::string description;
  RuleMode mode = RuleMode::kEnforce;
  Action action = Action::kDeny;
  std::string reason;  // stable reason code given to clients
  RuleScope match;
  std::string source;  // "file:line" where the rule was written
};

// What a rule sees while it runs: the evaluation context plus the state
// store, which only stateful rules touch.
struct RuleContext {
  const EvalContext& eval;
  StateStore& state;
  uint64_t lease_id = 0;  // unique per request: names its concurrency leases
  // One request's content scans, shared by its content rules so that each
  // scope is scanned once; null: each content rule scans for itself.
  ContentScans* content = nullptr;
  // Per-account behaviour (competitor_training); outlives policy reloads.
  // Null: behaviour rules see nothing and match nothing.
  BehaviorStore* behavior = nullptr;
  // Per-request feature vectors for the out-of-path analyzer; null: none.
  FeatureLog* feature_log = nullptr;
  // The external classifier of guard rules; null: they cannot ask, and
  // their failure_mode decides.
  GuardClient* guard = nullptr;
  // Where async guard rules flag accounts (shared: a verdict may arrive
  // after the request, and the rule, are gone). Null: nowhere.
  const std::shared_ptr<AccountMarks>* marks = nullptr;
};

// Units a stateful rule counted for this request, kept so that they can be
// given back when a later rule refuses the request, and reconciled with what
// the request actually used (token budgets) or released when it completes
// (concurrency leases).
struct Charge {
  // kCost: `amount` is nano-dollars at `rates` (cost budgets).
  enum class Tokens : uint8_t { kNone, kInput, kOutput, kTotal, kCost };
  std::string key;
  MeterSpec meter;          // unused for leases
  int64_t amount = 0;       // units taken
  int64_t taken_at_ns = 0;
  uint64_t lease_id = 0;    // a concurrency lease to release; 0: none
  int64_t hold_ns = 0;      // how long to wait for usage or completion
  Tokens tokens = Tokens::kNone;  // token budgets: what `amount` estimated
  int64_t est_input = 0, est_output = 0;
  CostRates rates{};        // kCost: the model's prices at admission
  // kCost: the account's tier, and whether this charge is the request's
  // one counted in Engine::spend() (several budgets may price one request).
  std::string tier{};
  bool spend = false;
};

// What a rule reports back. `matched` says it acts; the rest describes how.
struct RuleOutcome {
  bool matched = false;
  std::string detail;            // what it saw, for the explanation
  int64_t retry_after_ms = 0;    // throttles
  std::vector<RateLimitItem> rate_limits;  // applicable limits, matched or not
  std::vector<Charge> charges;   // what it counted (stateful rules)
  int64_t delay_ms = 0;          // admitted after this wait (delay mode)
  // Scoring rules choose their action per request (by risk threshold);
  // unset: the rule's configured action.
  std::optional<Action> action;
  // Non-empty: the reason code of this match instead of the rule's (a
  // guard rule that fails closed says guard-unavailable).
  std::string reason;
  double risk = 0;               // 0..1; the engine keeps the highest in Decision.risk
  // Non-empty: the value of an X-Tos-Watermark header for the upstream, added
  // when the request is admitted and the rule is not in shadow mode.
  std::string watermark;
  // Budgets over calendar periods: when the refused budget resets, as
  // local time with its offset ("2027-01-01T00:00:00+01:00"); the problem
  // document names it.
  std::string resets_at;
};

class Rule {
 public:
  explicit Rule(RuleCommon common) : common_(std::move(common)) {}
  virtual ~Rule() = default;
  Rule(const Rule&) = delete;
  Rule& operator=(const Rule&) = delete;

  const RuleCommon& common() const { return common_; }

  // Pure rules read only the request and run first. Stateful rules (limits,
  // budgets, detection) run after them and only while the request is still
  // admissible, so a denied request does not use up anyone's quota.
  virtual bool stateful() const = 0;

  // A non-OK Status is an internal error (e.g. the state store failed);
  // the snapshot's failure_mode decides what it becomes.
  virtual Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const = 0;

 private:
  RuleCommon common_;
};

}  // namespace tosgate::engine
