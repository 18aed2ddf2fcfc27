#include "storage/audit/batch_queue.h"

#include <algorithm>
#include <utility>

#include "storage/audit/fields.h"

namespace tosgate::storage {

Status Prefixed(const Status& s, const std::string& prefix) {
  std::string m = prefix + s.message();
  switch (s.code()) {
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(m));
    case Status::Code::kIoError: return Status::IoError(std::move(m));
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(m));
    case Status::Code::kResourceExhausted: return Status::ResourceExhausted(std::move(m));
    default: return Status::Internal(std::move(m));
  }
}

AuditBatchQueue::~AuditBatchQueue() {
  if (!writer_.joinable()) return;
  {
    engine::MutexLock lock(mu_);
    closing_ = true;
    close_deadline_ = Clock::now() + opts_.close_timeout;
  }
  work_cv_.notify_all();
  writer_.join();
}

void AuditBatchQueue::Start(CommitFn commit, DrainedFn drained) {
  commit_ = std::move(commit);
  drained_ = std::move(drained);
  {
    engine::MutexLock lock(mu_);
    queue_.reserve(std::min(kKeepCapacity, opts_.max_batch));
  }
  writer_ = std::thread([this] { Run(); });
}

// Queues `item` (moving from it) or returns why not (leaving it as it was).
Status AuditBatchQueue::Enqueue(Item& item) {
  if (item.done) item.deadline = Clock::now() + opts_.commit_timeout;
  engine::MutexLock lock(mu_);
  if (!closing_ && pending() >= opts_.queue_capacity) {
    ++space_waiters_;
    const bool room = space_cv_.wait_for(lock.native(), opts_.queue_wait, [this]() REQUIRES(mu_) {
      return closing_ || pending() < opts_.queue_capacity;
    });
    --space_waiters_;
    if (!room) {
      ++rejected_full_;
      std::string msg = texts_.who + "queue full (" + std::to_string(pending()) +
                        " records not yet written)";
      if (!last_error_.ok()) msg += "; last write error: " + last_error_.message();
      return Status::ResourceExhausted(std::move(msg));
    }
  }
  if (closing_) return Status::Unavailable(texts_.closed);
  queue_.push_back(std::move(item));
  ++submitted_;
  // One wake-up per idle spell of the writer: the first submitter wakes it
  // and clears the flag, so the others queue behind it without a signal
  // (the writer takes all they queued when it runs). In its linger window
  // only a record someone waits for, or a queue filling up, wakes it.
  const bool urgent =
      queue_.back().done || queued() >= std::min(kWakeAt, opts_.max_batch);
  if (urgent) wake_ = true;
  const bool wake = writer_idle_ || (lingering_ && urgent);
  writer_idle_ = false;
  if (urgent) lingering_ = false;
  lock.Unlock();
  if (wake) work_cv_.notify_one();
  return Status::Ok();
}

Status AuditBatchQueue::Submit(AuditRow record, bool wait_commit) {
  BoundAuditRecord(&record);  // here, before either store hashes it
  Item item{std::move(record), nullptr};
  if (!wait_commit) return Enqueue(item);
  // Wait for the writer's word. The waiter lives on this stack: the writer
  // calls `done` exactly once and this returns only after it did.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  } w;
  item.done = [&w](Status s) {
    std::lock_guard lock(w.mu);
    w.status = std::move(s);
    w.done = true;
    w.cv.notify_one();
  };
  if (Status s = Enqueue(item); !s.ok()) return s;
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&w] { return w.done; });
  return w.status;
}

void AuditBatchQueue::SubmitThen(AuditRow record, std::function<void(Status)> done) {
  BoundAuditRecord(&record);
  Item item{std::move(record), std::move(done)};
  if (Status s = Enqueue(item); !s.ok() && item.done) item.done(std::move(s));
}

Status AuditBatchQueue::Flush() {
  engine::MutexLock lock(mu_);
  const uint64_t target = submitted_;
  const uint64_t errors_before = write_errors_;
  ++flush_waiters_;
  if (pending() > 0) {  // no group window for what Flush waits on
    wake_ = true;
    if (lingering_) {
      lingering_ = false;
      work_cv_.notify_one();
    }
  }
  progress_cv_.wait(lock.native(), [&]() REQUIRES(mu_) {
    return written_ + dropped_ >= target || write_errors_ != errors_before || writer_done_;
  });
  --flush_waiters_;
  if (written_ + dropped_ >= target && dropped_ == 0) return Status::Ok();
  if (dropped_ != 0) {
    return Status::IoError(texts_.prefix + std::to_string(dropped_) + " " + texts_.records +
                           " were given up at close: " + last_error_.message());
  }
  const std::string what =
      std::to_string(pending()) + " audit records not yet written, will retry: ";
  if (texts_.keep_code) return Prefixed(last_error_, what);
  return Status::Unavailable(what + last_error_.message());
}

Status AuditBatchQueue::Close(const std::function<void()>& after_stop) {
  engine::MutexLock close_lock(close_mu_);
  if (closed_) return close_status_;
  {
    engine::MutexLock lock(mu_);
    closing_ = true;
    close_deadline_ = Clock::now() + opts_.close_timeout;
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (after_stop) after_stop();
  closed_ = true;
  engine::MutexLock lock(mu_);
  if (dropped_ != 0) {
    close_status_ = Status::IoError(texts_.prefix + std::to_string(dropped_) + " " +
                                    texts_.records + " could not be written before closing: " +
                                    last_error_.message());
  }
  return close_status_;
}

void AuditBatchQueue::SetLastError(Status s) {
  engine::MutexLock lock(mu_);
  last_error_ = std::move(s);
}

// With mu_ held, after a failed commit: takes the `done` of every waiter
// whose commit_timeout has passed, in the batch and in the queue.
void AuditBatchQueue::ExpireWaiters(std::vector<Item>& batch,
                                    std::vector<std::function<void(Status)>>* out) {
  const auto now = Clock::now();
  auto take = [out](Item& item) {
    out->push_back(std::move(item.done));
    item.done = nullptr;
  };
  for (Item& item : batch)
    if (item.done && now >= item.deadline) take(item);
  // Deadlines grow along the queue: stop at the first waiter still in time.
  for (size_t i = head_; i < queue_.size(); ++i) {
    Item& item = queue_[i];
    if (!item.done) continue;
    if (now < item.deadline) break;
    take(item);
  }
  commit_timeouts_ += out->size();
}

void AuditBatchQueue::Run() {
  // Both buffers sized once for a commit of the usual size: the submitters
  // grow (and move) the queue only in a spell larger than that.
  const size_t keep = std::min(kKeepCapacity, opts_.max_batch);
  std::vector<Item> batch;
  batch.reserve(keep);
  engine::MutexLock lock(mu_);
  for (;;) {
    writer_idle_ = true;
    work_cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return queued() > 0 || closing_; });
    writer_idle_ = false;
    if (queued() == 0) {  // closing, and everything is written
      if (drained_) {
        lock.Unlock();
        drained_();
        lock.Lock();
      }
      break;
    }

    // The group window (async records): more records per commit, and the
    // submitters meanwhile pay no wake-up. Never with a waiter queued, at
    // close, or with a queue that already fills a commit.
    if (opts_.linger.count() > 0 && !wake_ && !closing_ && queued() < kWakeAt &&
        queued() < opts_.max_batch) {
      lingering_ = true;
      work_cv_.wait_for(lock.native(), opts_.linger,
                        [this]() REQUIRES(mu_) { return wake_ || closing_; });
      lingering_ = false;
    }
    wake_ = false;
    const size_t n = std::min(queued(), opts_.max_batch);
    if (head_ == 0 && n == queue_.size()) {
      batch.swap(queue_);  // `batch` is empty here: the submitters reuse its storage
    } else {  // a backlog longer than max_batch: the first n, in order
      const auto first = queue_.begin() + static_cast<std::ptrdiff_t>(head_);
      batch.assign(std::make_move_iterator(first),
                   std::make_move_iterator(first + static_cast<std::ptrdiff_t>(n)));
      head_ += n;
      if (head_ == queue_.size()) {
        queue_.clear();
        head_ = 0;
      } else if (head_ >= queue_.size() / 2) {
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }
    lock.Unlock();

    auto backoff = opts_.first_backoff;
    Status outcome;
    std::vector<std::function<void(Status)>> expired;
    for (;;) {
      Status s = commit_(batch);
      lock.Lock();
      if (s.ok()) {
        written_ += n;
        ++batches_;
        break;
      }
      ++write_errors_;
      last_error_ = s;
      if (flush_waiters_) progress_cv_.notify_all();
      ExpireWaiters(batch, &expired);
      if (!expired.empty()) {
        const Status late = Status::Unavailable(
            texts_.who + "record not committed within " +
            std::to_string(opts_.commit_timeout.count()) + " ms (" + s.message() +
            "); it stays queued and is written once " + texts_.back_when);
        lock.Unlock();
        for (auto& done : expired) done(late);
        expired.clear();
        lock.Lock();
      }
      if (closing_ && Clock::now() >= close_deadline_) {
        dropped_ += n;
        const std::string what = texts_.who + "record given up at close: ";
        outcome = texts_.keep_code ? Prefixed(s, what) : Status::IoError(what + s.message());
        break;
      }
      // Wait before retrying; Close cuts the wait short to apply its deadline.
      const bool was_closing = closing_;
      auto until = Clock::now() + backoff;
      if (closing_) until = std::min(until, close_deadline_);
      work_cv_.wait_until(lock.native(), until,
                          [&]() REQUIRES(mu_) { return closing_ != was_closing; });
      backoff = std::min(backoff * 2, opts_.max_backoff);
      lock.Unlock();
    }
    // Still locked here. Tell the submitters waiting on these records.
    lock.Unlock();
    for (Item& item : batch)
      if (item.done) item.done(outcome);
    // The records' memory goes back unlocked, and the storage of a spell
    // much larger than what is queued now is not kept.
    const size_t peak = batch.size();
    batch.clear();
    if (batch.capacity() > keep && peak < batch.capacity() / 4) {
      std::vector<Item>().swap(batch);
      batch.reserve(keep);
    }
    lock.Lock();
    if (space_waiters_) space_cv_.notify_all();
    if (flush_waiters_) progress_cv_.notify_all();
  }
  writer_done_ = true;
  progress_cv_.notify_all();
  space_cv_.notify_all();
}

}  // namespace tosgate::storage
