// Engine: decides one request against the current policy snapshot.
//
// Check() is safe to call from many threads at once; Publish() may run
// concurrently with it. The engine does no I/O of its own: time comes from
// the Clock, state from the StateStore, records go to the AuditSink.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/accounts.h"
#include "engine/admissions.h"
#include "engine/audit_sink.h"
#include "engine/account_marks.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/feature_log.h"
#include "engine/guard.h"
#include "engine/rules/cost_budget_spend.h"
#include "engine/snapshot.h"
#include "engine/state_store.h"
#include "tosgate/clock.h"
#include "tosgate/decision.h"
#include "tosgate/request.h"

namespace tosgate::engine {

struct EngineOptions {
  const Clock* clock = nullptr;                 // required
  StateStore* state = nullptr;                  // required
  AuditSink* audit = nullptr;                   // optional
  const AccountDirectory* accounts = nullptr;   // optional
  size_t max_admissions = 1'000'000;            // open reservations and leases
  // Per-account behaviour for competitor_training rules; null: the engine
  // keeps an in-memory one (NewMemoryBehaviorStore defaults). It outlives
  // snapshots, so a reload keeps what was learnt about each account.
  BehaviorStore* behavior = nullptr;
  // Where competitor_training rules log per-request feature vectors for the
  // out-of-path analyzer (engine/distill/analyzer.h); null: not logged.
  FeatureLog* feature_log = nullptr;
  // The external classifier guard rules ask (api/guard/); optional: without
  // one a guard rule's failure_mode decides. Must outlive the engine.
  GuardClient* guard = nullptr;
};

// Decision ids: 12 hex digits of the wall clock in ms, then 24 hex digits of
// 96 bits from a CSPRNG (OpenSSL RAND_bytes, pooled per thread). One id says
// nothing about any other, so holding an id is what entitles a caller to
// report the decision's usage. Nothing should parse them beyond the time.
inline constexpr size_t kDecisionIdLength = 36;
inline constexpr size_t kDecisionIdRandomBytes = 12;
std::string NewDecisionId(int64_t wall_ms);

// The rule id and reason of a refusal by settings.unmatched_operation.
inline constexpr std::string_view kUnmatchedOperationRule = "settings.unmatched_operation";

// The most tokens a usage report may give for input or for output; more is
// refused as a bad report. Two of them add up without overflow.
inline constexpr int64_t kMaxReportedTokens = 1'000'000'000;

// What the upstream reported a request used; -1 when not reported.
// input_tokens includes the cached and cache-written parts, output_tokens
// the reasoning part (api/request/usage_scanner.h normalizes each API's
// usage to this); the parts only change what a cost budget charges.
struct Usage {
  int64_t input_tokens = -1;
  int64_t output_tokens = -1;
  int64_t cached_input_tokens = -1;  // read from the provider's prompt cache
  int64_t cache_write_tokens = -1;   // written to it (Anthropic cache creation)
  int64_t reasoning_tokens = -1;     // reasoning / thinking output
};

// Counted once, read by /metrics. Relaxed atomics: exact totals, no ordering.
struct EngineCounters {
  // Each on its own cache line: two threads bumping neighbours would
  // otherwise fight over one line on every decision.
  alignas(64) std::atomic<uint64_t> allow{0};
  alignas(64) std::atomic<uint64_t> throttle{0};
  alignas(64) std::atomic<uint64_t> deny{0};
  alignas(64) std::atomic<uint64_t> shadow_matches{0};
  alignas(64) std::atomic<uint64_t> internal_errors{0};
  alignas(64) std::atomic<uint64_t> fail_open{0};
  alignas(64) std::atomic<uint64_t> audit_failures{0};
  alignas(64) std::atomic<uint64_t> delayed{0};
  alignas(64) std::atomic<uint64_t> usage_reports{0};  // accepted
  // Refused: counts out of range, or an external report on a decision the
  // inline proxy relays (UsageSource).
  alignas(64) std::atomic<uint64_t> usage_reports_refused{0};
  alignas(64) std::atomic<uint64_t> refunds{0};  // requests whose counted units were given back
};

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();

  // Makes `snapshot` the one new requests see. Never blocks Check().
  void Publish(std::shared_ptr<const PolicySnapshot> snapshot);
  std::shared_ptr<const PolicySnapshot> snapshot() const;

  // Decides, records to the audit sink, and returns the decision.
  Decision Check(const Request& request);

  // Decides like Check but leaves the audit record in *record instead of
  // submitting it, for a caller that submits it itself (SubmitThen) and
  // answers once it is durable; it then calls AuditOutcome with the sink's
  // answer. Without an audit sink *record is left empty.
  Decision Check(const Request& request, AuditRecord* record);
  // Applies the failure mode to a decision whose record the sink refused:
  // counted; with failure_mode closed an allow becomes 503 audit-unavailable,
  // with open it stays, counted as a fail-open. OK statuses change nothing.
  void AuditOutcome(Decision* decision, const Status& status);

  // Reconciles what decision `decision_id` reserved with the usage the
  // upstream reported (tokens not reported count as reserved) and releases
  // its concurrency leases: call it when the request completes.
  // InvalidArgument when a count is below -1 or above kMaxReportedTokens;
  // NotFound when the decision holds nothing, was already reported or
  // expired; FailedPrecondition when the request was relayed by the inline
  // proxy (Request::inline_proxy) and `source` is not the inline proxy: the
  // gateway saw that usage itself. An accepted external report is audited
  // (effect "usage", reason "usage-report", id "<decision id>.usage"); when
  // that record cannot be submitted and failure_mode is closed, Unavailable
  // and nothing changes.
  Status ReportUsage(std::string_view decision_id, const Usage& usage,
                     UsageSource source = UsageSource::kExternal);

  // An admitted batch submission (cost budgets): releases its concurrency
  // leases now and keeps its reservations open for the batch's results,
  // which ReportUsage settles later. Same errors as ReportUsage's Take.
  Status ReleaseLeases(std::string_view decision_id, UsageSource source);

  // Money cost budgets reserved and settled, per tier, since start.
  const SpendByTier& spend() const { return spend_; }
  // The counters' store (EngineOptions::state), for reading spend.
  StateStore& state_store() const { return *options_.state; }

  const EngineCounters& counters() const { return counters_; }
  // The sink decisions are recorded into (EngineOptions::audit); may be null.
  AuditSink* audit_sink() const { return options_.audit; }
  const Admissions& admissions() const { return admissions_; }
  // For /metrics: tracked accounts, cluster buckets, evictions.
  const BehaviorStore& behavior() const { return *behavior_; }
  // For the out-of-path analyzer, which writes its risk into the records.
  BehaviorStore& behavior() { return *behavior_; }
  // Flags raised out of the request path (async guard verdicts); the engine
  // adds an account's live ones to its flags when it resolves it.
  AccountMarks& marks() const { return *marks_; }

 private:
  uint64_t NextSequence();
  // Decide's steps, in order (engine.cc): ResolveStep, Evaluate, Combine,
  // RecordOf (the audit record), Settle.
  struct Pending;
  Decision Decide(const Request& request, AuditRecord* deferred);
  void ResolveStep(Pending& p);
  void Evaluate(Pending& p);
  void Combine(Pending& p);
  AuditRecord RecordOf(const Pending& p) const;
  void Settle(Pending& p);
  bool InternalError(Pending& p, std::string rule_id, const Status& s);
  void ApplyAuditFailure(Decision* d, bool fail_open);
  AuditRecord UsageRecord(std::string_view decision_id, const Admission& a,
                          const Usage& usage, int64_t settled_nano) const;
  static int64_t SettledCost(const Admission& a, const Usage& usage);

  EngineOptions options_;
  std::atomic<std::shared_ptr<const PolicySnapshot>> snapshot_;
  EngineCounters counters_;
  SpendByTier spend_;
  Admissions admissions_;
  std::atomic<int64_t> next_sweep_ns_{0};
  std::atomic<uint64_t> sequence_{0};
  uint64_t id_salt_ = 0;
  std::unique_ptr<BehaviorStore> owned_behavior_;
  BehaviorStore* behavior_ = nullptr;
  std::shared_ptr<AccountMarks> marks_;
};

// Gives back what `charges` counted: refunds meters, releases leases.
void Refund(StateStore& state, const std::vector<Charge>& charges, int64_t now_ns);

}  // namespace tosgate::engine
