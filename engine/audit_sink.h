// AuditSink: where every decision goes. The engine builds one AuditRecord per
// decision and submits it; the sink owns durability (storage/ has SQLite and
// PostgreSQL) and the stored form: the record is typed, and a store renders
// it to its columns (storage/audit/row.h), so nothing between the engine and
// the store parses text the engine wrote.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tosgate/decision.h"
#include "tosgate/status.h"

namespace tosgate::engine {

// What a record is about. Usage reports and admin actions are not decisions
// but are kept in the same trail, so that the hash chain covers them too.
enum class RecordKind : uint8_t {
  kDecision = 0,  // `effect` says what was decided
  kUsage = 1,     // an external usage report (Engine::ReportUsage)
  kAdmin = 2,     // an action through the admin API (api/admin)
};

// One matched rule as the trail keeps it: what it asked for and what it saw
// (RuleMatch without the fields that only shape the response).
struct AuditMatch {
  std::string rule_id;
  Action action = Action::kDeny;
  bool shadow = false;
  std::string detail;
};

struct AuditRecord {
  std::string id;           // decision id
  int64_t time_ms = 0;      // wall clock
  std::string request_id;
  std::string account;
  std::string key_id;       // already hashed; never the key
  std::string org;
  std::string client_ip;
  std::string method;
  std::string path;
  std::string operation;
  std::string model;
  RecordKind kind = RecordKind::kDecision;
  Effect effect = Effect::kAllow;  // a decision's; ignored for other kinds
  bool enforced = true;
  int status = 200;
  std::string reason;
  std::vector<std::string> rule_ids;  // the deciding rules
  std::vector<AuditMatch> matches;    // every matched rule, shadow too
  double risk = 0;
  std::string policy_revision;
  std::string prompt_sha256;  // empty when there was no prompt
  int64_t latency_us = 0;
  // The caller's W3C trace context (engine/trace_context.h), when it sent a
  // valid one; empty otherwise. Added after the first stores were written:
  // the chain covers them only when set (storage/audit/chain.h).
  std::string traceparent;
  std::string tracestate;
  // Cost budgets, in nano-dollars; -1 when the record has none. A decision
  // carries what it reserved, a usage record also what was settled. Added
  // after traceparent: the chain covers them only when set (chain.h).
  int64_t cost_reserved_nano = -1;
  int64_t cost_settled_nano = -1;
};

// The effect column's word: "allow", "throttle" or "deny" for a decision,
// "usage" or "admin" for the other kinds.
inline std::string_view EffectWord(const AuditRecord& r) {
  switch (r.kind) {
    case RecordKind::kDecision: return EffectName(r.effect);
    case RecordKind::kUsage: return "usage";
    case RecordKind::kAdmin: return "admin";
  }
  return EffectName(r.effect);
}

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Accepts the record or says why it cannot (queue full past the wait,
  // store unavailable). Safe to call from many threads.
  virtual Status Submit(AuditRecord record) = 0;

  // Submits `record` and calls `done` once with the outcome. A sink that
  // can tell when the record is durable (storage/audit/sqlite/sink.h) calls it
  // then, possibly on its own thread; the default calls it at once with
  // Submit's Status. `done` must be quick and must not call back into the
  // sink's blocking methods.
  virtual void SubmitThen(AuditRecord record, std::function<void(Status)> done) {
    done(Submit(std::move(record)));
  }
};

}  // namespace tosgate::engine
