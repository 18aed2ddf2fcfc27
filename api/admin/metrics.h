// What /metrics reports beyond the engine's own counters: decisions by
// effect and rule, check and audit-commit latency histograms, policy reload
// outcomes. ObservingAuditSink (api/admin/review_observer.h) feeds it: it
// sits between the engine and the real audit sink and sees every decision's
// record, so neither the engine nor the gateway needs a hook.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "engine/audit_sink.h"
#include "engine/engine.h"
#include "engine/thread_annotations.h"
#include "metrics/registry.h"
#include "tosgate/clock.h"

namespace tosgate::api::admin {

// The histogram type lives with the registry (metrics/histogram.h).
using LatencyHistogram = metrics::LatencyHistogram;

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

  // Registers everything above and the engine's counters and active
  // revision in `registry`, once; both must outlive it.
  void Register(metrics::Registry* registry, const engine::Engine* engine) const;
  // The Prometheus text exposition (version 0.0.4) of a registry holding
  // only what Register adds (an admin server without a process registry).
  std::string Render(const engine::Engine& engine) const;

  const LatencyHistogram& check_latency() const { return check_latency_; }

 private:
  LatencyHistogram check_latency_;
  LatencyHistogram audit_commit_;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
  mutable engine::Mutex mu_;
  // (effect, rule) -> decisions; only decisions with deciding rules take
  // the lock, so plain allows stay lock-free.
  std::map<std::pair<std::string, std::string>, uint64_t> by_rule_ GUARDED_BY(mu_);
  std::string last_reload_error_ GUARDED_BY(mu_);
};

}  // namespace tosgate::api::admin
