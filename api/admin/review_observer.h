// ObservingAuditSink: sits between the engine and the real audit sink and
// sees every decision's record on its way: it feeds AdminMetrics and the
// account review queue, so neither the engine nor the gateway needs a hook.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "api/admin/metrics.h"
#include "engine/audit_sink.h"
#include "engine/thread_annotations.h"
#include "tosgate/clock.h"

namespace tosgate::api::admin {

// Forwards every record to `inner` (may be null) and observes it on the way:
// metrics, and review entries for enforced (not shadow) matches whose action
// is "review", which
// `on_review(account, rule, detail)` receives on a thread of its own (it
// may write SQLite; the request never waits for it).
class ObservingAuditSink final : public engine::AuditSink {
 public:
  using ReviewFn = std::function<void(const std::string& account, const std::string& rule,
                                      const std::string& detail)>;
  ObservingAuditSink(engine::AuditSink* inner, AdminMetrics* metrics, const Clock* clock,
                     ReviewFn on_review = nullptr);
  ~ObservingAuditSink() override;

  Status Submit(engine::AuditRecord record) override;
  void SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) override;

  uint64_t reviews_dropped() const { return reviews_dropped_.load(); }
  // Blocks until every review seen so far was handed to on_review (tests).
  void DrainReviews();

 private:
  struct Review {
    std::string account, rule, detail;
  };
  void Observe(const engine::AuditRecord& r);
  void ReviewLoop();

  engine::AuditSink* inner_;
  AdminMetrics* metrics_;
  const Clock* clock_;
  ReviewFn on_review_;
  engine::Mutex mu_;
  std::condition_variable cv_;
  std::deque<Review> pending_ GUARDED_BY(mu_);
  size_t in_flight_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> reviews_dropped_{0};
  std::thread thread_;
};

}  // namespace tosgate::api::admin
