// AnalyzerJob: runs the traffic analyzer periodically over what the rules
// logged, and writes its risks into the behaviour store.
//
// RunOnce does one pass (collect the log, Run, Apply) on the caller's
// thread: `replay` calls it every N seconds of capture time. Start runs it
// on a thread of its own every `interval` until Stop, which wakes the thread
// at once (a condition variable, not a sleep). RunOnce and stats() are safe
// from any thread; RunOnce calls are serialised.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/distill/analyzer.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/feature_log.h"
#include "tosgate/clock.h"

namespace tosgate::engine {

// Totals since start, for /metrics.
struct AnalyzerJobStats {
  uint64_t runs = 0;
  uint64_t tested = 0;          // account windows tested
  uint64_t flagged = 0;         // verdicts with risk > 0
  uint64_t refused = 0;         // samples of new accounts not held (max_accounts)
  size_t accounts = 0;          // accounts held after the last run
  double last_run_seconds = 0;  // the last run's duration (steady clock)
};

class AnalyzerJob {
 public:
  // Every pointer must outlive the job.
  AnalyzerJob(FeatureLog* log, BehaviorStore* store, const Clock* clock, AnalyzerOptions opts);
  ~AnalyzerJob();  // stops the thread
  AnalyzerJob(const AnalyzerJob&) = delete;
  AnalyzerJob& operator=(const AnalyzerJob&) = delete;

  AnalyzerRunStats RunOnce();

  void Start(std::chrono::milliseconds interval);
  void Stop();

  AnalyzerJobStats stats() const;

 private:
  FeatureLog* log_;
  BehaviorStore* store_;
  const Clock* clock_;
  std::mutex run_mu_;  // serialises RunOnce
  TrafficAnalyzer analyzer_;
  std::vector<AnalyzerSample> batch_;

  mutable std::mutex mu_;  // guards what follows
  std::condition_variable wake_;
  bool stop_ = false;
  AnalyzerJobStats stats_;
  std::thread thread_;
};

}  // namespace tosgate::engine
