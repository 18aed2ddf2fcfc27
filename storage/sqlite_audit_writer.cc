// The SQLite audit sink's writer thread: takes what is queued, commits it
// in one transaction (group commit), retries failed commits with backoff,
// answers waiters, writes back a store file deleted under it, and signs
// checkpoints. See storage/sqlite_audit.h for the contract.
#include <algorithm>
#include <utility>

#include "storage/audit_relocate.h"
#include "storage/audit_schema.h"
#include "storage/sqlite_audit_impl.h"

namespace tosgate::storage {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{1};
constexpr std::chrono::milliseconds kMaxBackoff{500};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Commits `batch` in one transaction, continuing the chain; on any error
// rolls back and leaves the chain state as it was, so the batch can be
// retried as is.
Status SqliteAuditSink::Impl::InsertCheckpoint(uint64_t seq, const std::string& hash) {
  auto sig = key->Sign(seq, hash);
  if (!sig.ok()) return Prefixed(sig.status(), opts.path + ": ");
  sqlite3_stmt* st = insert_checkpoint.get();
  sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(seq));
  sqlite3_bind_blob(st, 2, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, WallMs());
  sqlite3_bind_blob(st, 4, sig->data(), static_cast<int>(sig->size()), SQLITE_STATIC);
  BindText(st, 5, key->key_id());
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return SqliteStatus(db.get(), rc, opts.path, "writing a checkpoint");
  return Status::Ok();
}

// At Close: signs the last record unless a checkpoint already covers it.
// Best effort; a failure is kept in last_error.
void SqliteAuditSink::Impl::FinalCheckpoint() {
  const uint64_t last = next_seq - 1;
  if (!key || last == 0 || last <= last_checkpoint_seq) return;
  Status s = Exec(db.get(), "BEGIN IMMEDIATE", opts.path);
  if (s.ok()) s = InsertCheckpoint(last, prev_hash);
  if (s.ok()) s = Exec(db.get(), "COMMIT", opts.path);
  std::lock_guard lock(mu);
  if (s.ok()) {
    last_checkpoint_seq = last;
    ++checkpoints;
  } else {
    if (!sqlite3_get_autocommit(db.get())) sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    last_error = s;
  }
}

Status SqliteAuditSink::Impl::WriteBatch(const std::vector<Item>& batch) {
  sqlite3* raw = db.get();
  auto fail = [&](int rc, const char* what) {
    Status s = SqliteStatus(raw, rc, opts.path, what);
    if (!sqlite3_get_autocommit(raw)) {
      sqlite3_step(rollback.get());
      sqlite3_reset(rollback.get());
    }
    return s;
  };
  int rc = sqlite3_step(begin.get());
  sqlite3_reset(begin.get());
  if (rc != SQLITE_DONE) return fail(rc, "starting a transaction");

  uint64_t seq = next_seq;
  std::string prev = prev_hash;
  uint64_t signed_seq = last_checkpoint_seq, signed_now = 0;
  for (const Item& item : batch) {
    const engine::AuditRecord& r = item.record;
    std::string hash = AuditChainHash(prev, seq, r, &scratch);
    rc = BindDecision(insert.get(), seq, r, prev, hash);
    if (rc == SQLITE_OK) rc = sqlite3_step(insert.get());
    sqlite3_reset(insert.get());
    if (rc != SQLITE_DONE) return fail(rc, "inserting a decision");
    if (key && opts.checkpoint_every > 0 && seq % opts.checkpoint_every == 0) {
      if (Status s = InsertCheckpoint(seq, hash); !s.ok()) {
        if (!sqlite3_get_autocommit(raw)) {
          sqlite3_step(rollback.get());
          sqlite3_reset(rollback.get());
        }
        return s;
      }
      signed_seq = seq;
      ++signed_now;
    }
    prev = std::move(hash);
    ++seq;
  }
  rc = sqlite3_step(commit.get());
  sqlite3_reset(commit.get());
  if (rc != SQLITE_DONE) return fail(rc, "committing");
  next_seq = seq;
  prev_hash = std::move(prev);
  last_checkpoint_seq = signed_seq;
  if (signed_now) {
    std::lock_guard lock(mu);
    checkpoints += signed_now;
  }
  return Status::Ok();
}

void SqliteAuditSink::Impl::CloseDb() {
  checkpointer.reset();  // before the writer's connection, which must close last
  insert.reset();
  begin.reset();
  commit.reset();
  rollback.reset();
  insert_checkpoint.reset();
  db.reset();  // the last connection checkpoints the WAL into the file
  db_open = false;
}

// Before each commit: a file deleted or moved under us is written back at
// its path and the writer continues there (storage/audit_relocate.h); a
// reopen that failed earlier is tried again.
Status SqliteAuditSink::Impl::BeforeWrite() {
  if (db_open) {
    bool rewritten = false;
    if (Status s = RewriteIfMoved(db.get(), opts.path, &rewritten); !s.ok() || !rewritten)
      return s;
    CloseDb();
    std::lock_guard lock(mu);
    ++recreated;
  }
  // The file reopened must continue our chain: never start one afresh in a
  // file that appeared in its place meanwhile.
  const uint64_t seq = next_seq;
  const std::string hash = prev_hash;
  Status s = OpenDb();
  if (s.ok() && (next_seq != seq || prev_hash != hash)) {
    s = Status::IoError(opts.path + ": the file at this path is no longer the audit store "
                        "being written (its chain ends elsewhere); records stay in memory");
    next_seq = seq;
    prev_hash = hash;
  }
  if (!s.ok()) {
    CloseDb();
    return s;
  }
  db_open = true;
  const bool full = opts.synchronous_full || opts.durability == Durability::kSync;
  checkpointer = WalCheckpointer::Start(db.get(), opts.path, full);
  return Status::Ok();
}

// With mu held, after a failed commit: takes the `done` of every waiter
// whose commit_timeout has passed, in the batch and in the queue.
void SqliteAuditSink::Impl::ExpireWaiters(std::vector<Item>& batch,
                                          std::vector<std::function<void(Status)>>* out) {
  const auto now = Clock::now();
  auto take = [out](Item& item) {
    out->push_back(std::move(item.done));
    item.done = nullptr;
  };
  for (Item& item : batch)
    if (item.done && now >= item.deadline) take(item);
  // Deadlines grow along the queue: stop at the first waiter still in time.
  for (Item& item : queue) {
    if (!item.done) continue;
    if (now < item.deadline) break;
    take(item);
  }
  commit_timeouts += out->size();
}

void SqliteAuditSink::Impl::Run() {
  std::vector<Item> batch;
  std::unique_lock lock(mu);
  for (;;) {
    writer_idle = true;
    work_cv.wait(lock, [this] { return !queue.empty() || closing; });
    writer_idle = false;
    if (queue.empty()) {  // closing, and everything is written
      lock.unlock();
      // A file deleted since the last commit still gets written back.
      if (Status s = BeforeWrite(); !s.ok()) {
        std::lock_guard relock(mu);
        last_error = s;
      }
      if (db_open) FinalCheckpoint();
      lock.lock();
      break;
    }

    const size_t n = std::min(queue.size(), opts.max_batch);
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    lock.unlock();

    auto backoff = kFirstBackoff;
    Status outcome;
    std::vector<std::function<void(Status)>> expired;
    for (;;) {
      Status s = BeforeWrite();
      if (s.ok()) s = WriteBatch(batch);
      lock.lock();
      if (s.ok()) {
        written += n;
        ++batches;
        break;
      }
      ++write_errors;
      last_error = s;
      if (flush_waiters) progress_cv.notify_all();
      ExpireWaiters(batch, &expired);
      if (!expired.empty()) {
        const Status late = Status::Unavailable(
            opts.path + ": audit record not committed within " +
            std::to_string(opts.commit_timeout.count()) + " ms (" + s.message() +
            "); it stays queued and is written once the store can be written");
        lock.unlock();
        for (auto& done : expired) done(late);
        expired.clear();
        lock.lock();
      }
      if (closing && Clock::now() >= close_deadline) {
        dropped += n;
        outcome = Prefixed(s, opts.path + ": audit record given up at close: ");
        break;
      }
      // Wait before retrying; Close cuts the wait short to apply its deadline.
      const bool was_closing = closing;
      auto until = Clock::now() + backoff;
      if (closing) until = std::min(until, close_deadline);
      work_cv.wait_until(lock, until, [&] { return closing != was_closing; });
      backoff = std::min(backoff * 2, kMaxBackoff);
      lock.unlock();
    }
    // Still locked here. Tell the submitters waiting on these records.
    lock.unlock();
    for (Item& item : batch)
      if (item.done) item.done(outcome);
    lock.lock();
    if (space_waiters) space_cv.notify_all();
    if (flush_waiters) progress_cv.notify_all();
  }
  writer_done = true;
  progress_cv.notify_all();
  space_cv.notify_all();
}

}  // namespace tosgate::storage
