// Rule: one compiled policy rule. Each kind is a subclass in engine/rules/.
//
// Rules are immutable once compiled and shared by every thread that holds the
// snapshot. Evaluate() must not throw.
#pragma once

#include <string>
#include <vector>

#include "engine/field.h"
#include "tosgate/decision.h"
#include "tosgate/status.h"

namespace tosgate::engine {

class StateStore;

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
};

// What a rule reports back. `matched` says it acts; the rest describes how.
struct RuleOutcome {
  bool matched = false;
  std::string detail;            // what it saw, for the explanation
  int64_t retry_after_ms = 0;    // throttles
  std::vector<RateLimitItem> rate_limits;  // applicable limits, matched or not
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
