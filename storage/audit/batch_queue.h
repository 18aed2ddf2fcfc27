// Private to storage/: the queue and writer loop shared by the audit sinks
// (storage/audit/sqlite/sink.h, storage/audit/postgres/sink.h). It holds the bounded
// queue of records, the waiters for their commit (kSync Submit,
// SubmitThen) with their commit_timeout, the counters, Flush and Close with
// its deadline, and the writer thread's loop: take what is queued (up to
// max_batch), hand it to the sink's commit function, retry a failed commit
// with backoff (cut short by Close) until it succeeds or Close gives up.
// The sink keeps what differs: how a batch is committed, reopening or
// reconnecting, the chain, and its error texts (Texts below). Every record
// is cut to the field bounds here, once for both sinks, before it is
// queued and hashed (storage/audit/fields.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/thread_annotations.h"
#include "storage/audit/row.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// `s` with its code kept and `prefix` put before its message.
Status Prefixed(const Status& s, const std::string& prefix);

class AuditBatchQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // A queued record and whom to tell when it is committed (may be empty).
  struct Item {
    AuditRow record;
    std::function<void(Status)> done;
    Clock::time_point deadline{};  // commit_timeout for `done`
  };

  struct Options {
    size_t queue_capacity = 65536;
    std::chrono::milliseconds queue_wait{50};
    size_t max_batch = 16384;
    std::chrono::milliseconds commit_timeout{5000};
    std::chrono::milliseconds close_timeout{10000};
    std::chrono::milliseconds first_backoff{1};  // after the first failed commit
    std::chrono::milliseconds max_backoff{500};  // doubling up to this
    // Group window for records nobody waits on: the writer, woken for one,
    // waits up to this long for more before committing, and the records
    // queued meanwhile wake nobody. A record with a waiter, a Flush, Close
    // or kWakeAt records queued end the window at once. Zero: no window.
    std::chrono::microseconds linger{0};
  };
  // Queued records that end a linger window without a waiter among them.
  static constexpr size_t kWakeAt = 1024;
  // Records' worth of storage the writer keeps between batches whatever
  // the spell before was (~0.7 KB each).
  static constexpr size_t kKeepCapacity = 4096;

  // Options from a sink's options (fields of these names) and its backoff.
  template <class SinkOptions>
  static Options OptionsOf(const SinkOptions& o, std::chrono::milliseconds first_backoff,
                           std::chrono::milliseconds max_backoff) {
    return {o.queue_capacity, o.queue_wait, o.max_batch, o.commit_timeout, o.close_timeout,
            first_backoff, max_backoff};
  }

  // The sink's wording of the queue's errors.
  struct Texts {
    std::string who;        // "<path>: audit " / "PostgreSQL audit: "
    std::string prefix;     // "<path>: " / "PostgreSQL audit: "
    std::string records;    // "audit records" / "records"
    std::string closed;     // Submit after Close
    std::string back_when;  // "...; it stays queued and is written once <back_when>"
    // Flush's "not yet written" and a record given up at close keep the
    // failed commit's code; else Unavailable and IoError.
    bool keep_code = false;
  };

  // One attempt to commit `batch` (on the writer thread, unlocked).
  using CommitFn = std::function<Status(const std::vector<Item>& batch)>;
  // At Close, once everything queued is written (writer thread, unlocked).
  using DrainedFn = std::function<void()>;

  AuditBatchQueue(Options opts, Texts texts) : opts_(opts), texts_(std::move(texts)) {}
  ~AuditBatchQueue();  // joins the writer if Close did not
  AuditBatchQueue(const AuditBatchQueue&) = delete;
  AuditBatchQueue& operator=(const AuditBatchQueue&) = delete;

  // Starts the writer thread. Throws std::system_error if it cannot.
  void Start(CommitFn commit, DrainedFn drained);

  // The sinks' Submit (waiting for the commit when `wait_commit`),
  // SubmitThen and Flush; see storage/audit/sqlite/sink.h.
  Status Submit(AuditRow record, bool wait_commit);
  void SubmitThen(AuditRow record, std::function<void(Status)> done);
  Status Flush();

  // Stops accepting, lets the writer commit what is queued (retrying up to
  // close_timeout), joins it, runs `after_stop`, and returns OK or how many
  // records were given up. Idempotent: later calls return the first Status.
  Status Close(const std::function<void()>& after_stop);

  // A sink's Stats (its fields have these names) with the queue's counters.
  template <class Stats>
  Stats stats() const {
    engine::MutexLock lock(mu_);
    Stats s;
    s.submitted = submitted_;
    s.written = written_;
    s.rejected_full = rejected_full_;
    s.write_errors = write_errors_;
    s.batches = batches_;
    s.dropped = dropped_;
    s.commit_timeouts = commit_timeouts_;
    s.queue_depth = static_cast<size_t>(pending());
    return s;
  }
  // Kept as the last error (reported with a full queue or dropped records).
  void SetLastError(Status s);

 private:
  Status Enqueue(Item& item);
  void Run();
  void ExpireWaiters(std::vector<Item>& batch, std::vector<std::function<void(Status)>>* out)
      REQUIRES(mu_);
  uint64_t pending() const REQUIRES(mu_) { return submitted_ - written_ - dropped_; }

  const Options opts_;
  const Texts texts_;
  CommitFn commit_;
  DrainedFn drained_;

  mutable engine::Mutex mu_;
  std::condition_variable work_cv_;      // writer: records queued, or closing
  std::condition_variable space_cv_;     // Submit: room in the queue, or closing
  std::condition_variable progress_cv_;  // Flush: a commit succeeded or failed
  // A vector, not a deque: an Item is larger than a deque's 512-byte node,
  // so a deque allocated (submitter) and freed (writer) a node per record.
  // The writer swaps the whole vector out for its batch's (cleared) one,
  // so in steady state neither side allocates for the queue and no record
  // is moved twice. Records queued are queue_[head_, size): a backlog
  // longer than max_batch is taken from head_ on, and the taken prefix is
  // dropped once it is half the vector (each record moved once more at
  // most, whatever max_batch is).
  std::vector<Item> queue_ GUARDED_BY(mu_);
  size_t head_ GUARDED_BY(mu_) = 0;
  size_t queued() const REQUIRES(mu_) { return queue_.size() - head_; }
  uint64_t submitted_ GUARDED_BY(mu_) = 0;
  uint64_t written_ GUARDED_BY(mu_) = 0;
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
  uint64_t rejected_full_ GUARDED_BY(mu_) = 0;
  uint64_t write_errors_ GUARDED_BY(mu_) = 0;
  uint64_t batches_ GUARDED_BY(mu_) = 0;
  uint64_t commit_timeouts_ GUARDED_BY(mu_) = 0;
  Status last_error_ GUARDED_BY(mu_);
  bool writer_idle_ GUARDED_BY(mu_) = false;
  bool lingering_ GUARDED_BY(mu_) = false;  // in the linger window
  bool wake_ GUARDED_BY(mu_) = false;       // end the window: a waiter or Flush came
  int space_waiters_ GUARDED_BY(mu_) = 0;
  int flush_waiters_ GUARDED_BY(mu_) = 0;
  bool closing_ GUARDED_BY(mu_) = false;
  bool writer_done_ GUARDED_BY(mu_) = false;
  Clock::time_point close_deadline_ GUARDED_BY(mu_);

  std::thread writer_;

  engine::Mutex close_mu_;  // serializes Close
  bool closed_ GUARDED_BY(close_mu_) = false;
  Status close_status_ GUARDED_BY(close_mu_);
};

}  // namespace tosgate::storage
