#include "api/admin/review_observer.h"

namespace tosgate::api::admin {

ObservingAuditSink::ObservingAuditSink(engine::AuditSink* inner, AdminMetrics* metrics,
                                       const Clock* clock, ReviewFn on_review)
    : inner_(inner), metrics_(metrics), clock_(clock), on_review_(std::move(on_review)) {
  if (on_review_) thread_ = std::thread([this] { ReviewLoop(); });
}

ObservingAuditSink::~ObservingAuditSink() {
  {
    engine::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ObservingAuditSink::Observe(const engine::AuditRecord& r) {
  if (metrics_) metrics_->ObserveDecision(r);
  if (!on_review_) return;
  bool queued = false;
  for (const engine::AuditMatch& m : r.matches) {
    // A shadow rule is evaluated and recorded, never enforced: no review.
    if (m.action != Action::kReview || m.shadow) continue;
    engine::MutexLock lock(mu_);
    if (pending_.size() >= 10'000) {
      reviews_dropped_.fetch_add(1);
      continue;
    }
    pending_.push_back({r.account, m.rule_id, m.detail});
    queued = true;
  }
  if (queued) cv_.notify_one();
}

Status ObservingAuditSink::Submit(engine::AuditRecord record) {
  Observe(record);
  if (!inner_) return Status::Ok();
  const int64_t start = clock_->monotonic_ns();
  Status s = inner_->Submit(std::move(record));
  if (s.ok() && metrics_) metrics_->ObserveAuditCommit(clock_->monotonic_ns() - start);
  return s;
}

void ObservingAuditSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  Observe(record);
  if (!inner_) return done(Status::Ok());
  const int64_t start = clock_->monotonic_ns();
  inner_->SubmitThen(std::move(record), [this, start, done = std::move(done)](Status s) {
    if (s.ok() && metrics_) metrics_->ObserveAuditCommit(clock_->monotonic_ns() - start);
    done(std::move(s));
  });
}

void ObservingAuditSink::ReviewLoop() {
  engine::MutexLock lock(mu_);
  for (;;) {
    cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stop_ || !pending_.empty(); });
    if (pending_.empty() && stop_) return;
    Review r = std::move(pending_.front());
    pending_.pop_front();
    ++in_flight_;
    lock.Unlock();
    on_review_(r.account, r.rule, r.detail);
    lock.Lock();
    --in_flight_;
    cv_.notify_all();
  }
}

void ObservingAuditSink::DrainReviews() {
  engine::MutexLock lock(mu_);
  cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return pending_.empty() && in_flight_ == 0; });
}

}  // namespace tosgate::api::admin
