// What /metrics reports beyond the engine's own counters: decisions by
// effect and rule, check and audit-commit latency histograms, policy reload
// outcomes. ObservingAuditSink (api/admin/review_observer.h) feeds it: it
// sits between the engine and the real audit sink and sees every decision's
// record, so neither the engine nor the gateway needs a hook.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/audit_sink.h"
#include "engine/engine.h"
#include "tosgate/clock.h"

namespace tosgate::api::admin {

// Fixed buckets, counted with relaxed atomics: no lock on the data path.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
      0.001,    0.0025,  0.005,    0.01,    0.025,  0.1,     1.0};
  void Observe(int64_t ns);
  // Prometheus histogram lines for `name` (with _bucket, _sum, _count).
  void Render(const std::string& name, const std::string& help, std::string* out) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

class AdminMetrics {
 public:
  // One decision, from its audit record.
  void ObserveDecision(const engine::AuditRecord& r);
  void ObserveAuditCommit(int64_t ns) { audit_commit_.Observe(ns); }

  // A policy reload (file change, SIGHUP, API activation) and its outcome.
  void RecordReload(bool ok, const std::string& source, const std::string& error);
  // The last failed reload that no later success replaced: "" when none.
  std::string last_reload_error() const;
  uint64_t reloads() const { return reloads_.load(); }
  uint64_t reload_failures() const { return reload_failures_.load(); }

  // The Prometheus text exposition (version 0.0.4) of everything above and
  // of the engine's counters and active revision.
  std::string Render(const engine::Engine& engine) const;

  const LatencyHistogram& check_latency() const { return check_latency_; }

 private:
  LatencyHistogram check_latency_;
  LatencyHistogram audit_commit_;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
  mutable std::mutex mu_;
  // (effect, rule) -> decisions; only decisions with deciding rules take
  // the lock, so plain allows stay lock-free.
  std::map<std::pair<std::string, std::string>, uint64_t> by_rule_;  // GUARDED_BY(mu_)
  std::string last_reload_error_;                                    // GUARDED_BY(mu_)
};

}  // namespace tosgate::api::admin
