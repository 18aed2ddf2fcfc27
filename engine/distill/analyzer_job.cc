#include "engine/distill/analyzer_job.h"

namespace tosgate::engine {

AnalyzerJob::AnalyzerJob(FeatureLog* log, BehaviorStore* store, const Clock* clock,
                         AnalyzerOptions opts)
    : log_(log), store_(store), clock_(clock), analyzer_(opts) {}

AnalyzerJob::~AnalyzerJob() { Stop(); }

AnalyzerRunStats AnalyzerJob::RunOnce() {
  std::lock_guard run(run_mu_);
  const auto started = std::chrono::steady_clock::now();
  batch_.clear();
  log_->Collect(&batch_);
  analyzer_.Add(batch_);
  const int64_t wall_ms = clock_->wall_ms();
  AnalyzerRunStats st;
  const std::vector<AnalyzerVerdict> verdicts = analyzer_.Run(wall_ms, &st);
  analyzer_.Apply(verdicts, *store_, clock_->monotonic_ns(), wall_ms);
  // A burst must not keep its buffer for ever.
  if (batch_.capacity() > (size_t{1} << 20)) std::vector<AnalyzerSample>().swap(batch_);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(mu_);
  ++stats_.runs;
  stats_.tested += st.tested;
  stats_.flagged += st.flagged;
  stats_.refused += st.refused;
  stats_.accounts = st.accounts;
  stats_.last_run_seconds = secs;
  return st;
}

void AnalyzerJob::Start(std::chrono::milliseconds interval) {
  Stop();
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
      lock.unlock();
      RunOnce();
      lock.lock();
    }
  });
}

void AnalyzerJob::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

AnalyzerJobStats AnalyzerJob::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace tosgate::engine
