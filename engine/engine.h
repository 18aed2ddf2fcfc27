// Engine: decides one request against the current policy snapshot.
//
// Check() is safe to call from many threads at once; Publish() may run
// concurrently with it. The engine does no I/O of its own: time comes from
// the Clock, state from the StateStore, records go to the AuditSink.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "engine/accounts.h"
#include "engine/audit_sink.h"
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
};

// Counted once, read by /metrics. Relaxed atomics: exact totals, no ordering.
struct EngineCounters {
  std::atomic<uint64_t> allow{0}, throttle{0}, deny{0};
  std::atomic<uint64_t> shadow_matches{0};
  std::atomic<uint64_t> internal_errors{0};
  std::atomic<uint64_t> fail_open{0};
  std::atomic<uint64_t> audit_failures{0};
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

  const EngineCounters& counters() const { return counters_; }

 private:
  EngineOptions options_;
  std::atomic<std::shared_ptr<const PolicySnapshot>> snapshot_;
  EngineCounters counters_;
  std::atomic<uint64_t> sequence_{0};
  uint64_t id_salt_ = 0;
};

// RFC 9457 problem+json body for a deny or throttle.
std::string ProblemJson(const Decision& d);

}  // namespace tosgate::engine
