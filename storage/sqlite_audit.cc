#include "storage/sqlite_audit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "storage/audit_chain.h"
#include "storage/audit_relocate.h"
#include "storage/audit_schema.h"
#include "storage/audit_signing.h"
#include "storage/audit_wal_checkpointer.h"
#include "storage/sqlite_util.h"

namespace tosgate::storage {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kFirstBackoff{1};
constexpr std::chrono::milliseconds kMaxBackoff{500};
// The writer's page cache. SQLite's default (2 MB) is smaller than the
// (account, time_ms) index of a few hundred thousand records, and every
// record touches a random page of it: evicted pages were re-read (pread) on
// almost every insert.
constexpr const char kCachePragma[] = "PRAGMA cache_size=-65536";  // 64 MB

// `s` with its code kept and `prefix` put before its message.
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

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A queued record and whom to tell when it is committed (may be empty).
struct Item {
  engine::AuditRecord record;
  std::function<void(Status)> done;
  Clock::time_point deadline{};  // commit_timeout for `done`
};

}  // namespace

std::string TruncateClientIp(const std::string& ip) {
  unsigned char b[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    b[3] = 0;
    return inet_ntop(AF_INET, b, out, sizeof out) ? out : "";
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    // An IPv4-mapped address (::ffff:a.b.c.d) is an IPv4 client: /24.
    const bool mapped = std::all_of(b, b + 10, [](unsigned char c) { return c == 0; }) &&
                        b[10] == 0xff && b[11] == 0xff;
    std::fill(b + (mapped ? 15 : 6), b + 16, 0);
    return inet_ntop(AF_INET6, b, out, sizeof out) ? out : "";
  }
  return "";
}

struct SqliteAuditSink::Impl {
  explicit Impl(SqliteAuditOptions o) : opts(std::move(o)) {}

  Status OpenDb();
  void CloseDb();
  Status BeforeWrite();
  void ExpireWaiters(std::vector<Item>& batch, std::vector<std::function<void(Status)>>* out);
  void Run();
  Status WriteBatch(const std::vector<Item>& batch);
  Status InsertCheckpoint(uint64_t seq, const std::string& hash);
  void FinalCheckpoint();
  Status Enqueue(Item& item);
  uint64_t pending() const { return submitted - written - dropped; }

  const SqliteAuditOptions opts;

  // Used by Open, then only by the writer thread, then by Close after join.
  SqliteDb db;
  SqliteStmt begin, commit, rollback, insert, insert_checkpoint;
  std::optional<AuditKey> key;
  uint64_t last_checkpoint_seq = 0;
  uint64_t next_seq = 1;
  std::string prev_hash = AuditGenesisHash();
  std::string scratch;

  mutable std::mutex mu;
  std::condition_variable work_cv;      // writer: records queued, or closing
  std::condition_variable space_cv;     // Submit: room in the queue, or closing
  std::condition_variable progress_cv;  // Flush: a commit succeeded or failed
  // Guarded by mu.
  std::deque<Item> queue;
  uint64_t submitted = 0, written = 0, dropped = 0, checkpoints = 0;
  uint64_t rejected_full = 0, write_errors = 0, batches = 0;
  uint64_t commit_timeouts = 0, recreated = 0;
  Status last_error;
  bool writer_idle = false;
  int space_waiters = 0, flush_waiters = 0;
  bool closing = false, writer_done = false;
  Clock::time_point close_deadline;

  std::thread writer;

  std::unique_ptr<WalCheckpointer> checkpointer;  // null: SQLite checkpoints on commit
  bool db_open = false;  // writer thread: false after a failed reopen

  std::mutex close_mu;  // serializes Close; guards the two below
  bool closed = false;
  Status close_status;
};

Status SqliteAuditSink::Impl::OpenDb() {
  const std::string& path = opts.path;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  db.reset(raw);
  if (rc != SQLITE_OK) {
    return SqliteStatus(raw, rc, path,
                        "cannot open or create the audit store (the directory must exist and "
                        "be writable)");
  }
  // SQLite quietly opens a file it may not write read-only; every commit
  // would then fail. Say so now instead.
  if (sqlite3_db_readonly(raw, "main") == 1)
    return Status::IoError(path + ": the audit store is not writable (file permissions)");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(opts.busy_timeout.count()));

  // The first statement reads the file header: "not a database" shows here.
  auto mode = Prepare(raw, "PRAGMA journal_mode=WAL", path, "reading the file");
  if (!mode.ok()) return mode.status();
  rc = sqlite3_step(mode->get());
  if (rc != SQLITE_ROW) return SqliteStatus(raw, rc, path, "setting WAL mode");
  const std::string got = ColumnText(mode->get(), 0);
  mode->reset();
  if (got != "wal" && !(got == "memory" && path == ":memory:"))
    return Status::IoError(path + ": cannot use WAL journal mode (SQLite chose '" + got + "')");

  const bool full = opts.synchronous_full || opts.durability == Durability::kSync;
  if (Status s = Exec(raw, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", path);
      !s.ok())
    return s;
  if (Status s = Exec(raw, kCachePragma, path); !s.ok()) return s;
  if (Status s = EnsureAuditSchema(raw, path); !s.ok()) return s;

  // Continue the sequence and the chain where the file left off.
  auto last = Prepare(raw, "SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1", path);
  if (!last.ok()) return last.status();
  rc = sqlite3_step(last->get());
  if (rc == SQLITE_ROW) {
    next_seq = static_cast<uint64_t>(sqlite3_column_int64(last->get(), 0)) + 1;
    prev_hash = ColumnBlob(last->get(), 1);
    if (prev_hash.size() != kAuditHashSize) {
      return Status::InvalidArgument(path + ": the last decision (seq " +
                                     std::to_string(next_seq - 1) +
                                     ") has no valid hash; the chain cannot be continued");
    }
  } else if (rc != SQLITE_DONE) {
    return SqliteStatus(raw, rc, path, "reading the last decision");
  } else {
    // Every record pruned: continue from the anchor prune left.
    auto anchor = ReadAuditAnchor(raw, path);
    if (!anchor.ok()) return anchor.status();
    if (*anchor) {
      next_seq = (*anchor)->seq + 1;
      prev_hash = (*anchor)->hash;
    }
  }
  last->reset();

  if (!opts.signing_key_path.empty()) {
    auto k = LoadPrivateKey(opts.signing_key_path);
    if (!k.ok()) return Status::InvalidArgument("audit signing key: " + k.status().message());
    key.emplace(std::move(k).value());
    auto cp = Prepare(raw, "SELECT coalesce(max(seq), 0) FROM checkpoints", path);
    if (!cp.ok()) return cp.status();
    if (sqlite3_step(cp->get()) == SQLITE_ROW)
      last_checkpoint_seq = static_cast<uint64_t>(sqlite3_column_int64(cp->get(), 0));
  }

  auto prep = [&](SqliteStmt* out, const char* sql) {
    auto st = Prepare(raw, sql, path);
    if (!st.ok()) return st.status();
    *out = std::move(st).value();
    return Status::Ok();
  };
  for (auto [out, sql] : {std::pair{&begin, "BEGIN IMMEDIATE"}, std::pair{&commit, "COMMIT"},
                          std::pair{&rollback, "ROLLBACK"},
                          std::pair{&insert, static_cast<const char*>(kInsertDecisionSql)},
                          std::pair{&insert_checkpoint,
                                    "INSERT OR REPLACE INTO checkpoints (seq, hash, signed_at_ms, "
                                    "signature, key_id) VALUES (?1, ?2, ?3, ?4, ?5)"}}) {
    if (Status s = prep(out, sql); !s.ok()) return s;
  }
  return Status::Ok();
}

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

SqliteAuditSink::SqliteAuditSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteAuditSink::~SqliteAuditSink() { (void)Close(); }

Result<std::unique_ptr<SqliteAuditSink>> SqliteAuditSink::Open(SqliteAuditOptions opts) {
  if (opts.path.empty()) return Status::InvalidArgument("audit store: no path given");
  if (opts.queue_capacity == 0 || opts.max_batch == 0 || opts.checkpoint_every == 0) {
    return Status::InvalidArgument(opts.path +
                                   ": queue_capacity, max_batch and checkpoint_every must be at least 1");
  }
  auto impl = std::make_unique<Impl>(std::move(opts));
  if (Status s = impl->OpenDb(); !s.ok()) return s;
  Impl* p = impl.get();
  p->db_open = true;
  const bool full = p->opts.synchronous_full || p->opts.durability == Durability::kSync;
  p->checkpointer = WalCheckpointer::Start(p->db.get(), p->opts.path, full);
  try {
    p->writer = std::thread([p] { p->Run(); });
  } catch (const std::system_error& e) {
    return Status::Internal(p->opts.path + ": cannot start the audit writer thread: " + e.what());
  }
  return std::unique_ptr<SqliteAuditSink>(new SqliteAuditSink(std::move(impl)));
}

// Queues `item` (moving from it) or returns why not (leaving it as it was).
Status SqliteAuditSink::Impl::Enqueue(Item& item) {
  Impl& m = *this;
  if (m.opts.truncate_client_ip) item.record.client_ip = TruncateClientIp(item.record.client_ip);
  if (item.done) item.deadline = Clock::now() + m.opts.commit_timeout;
  std::unique_lock lock(m.mu);
  if (!m.closing && m.pending() >= m.opts.queue_capacity) {
    ++m.space_waiters;
    const bool room = m.space_cv.wait_for(lock, m.opts.queue_wait, [&m] {
      return m.closing || m.pending() < m.opts.queue_capacity;
    });
    --m.space_waiters;
    if (!room) {
      ++m.rejected_full;
      std::string msg = m.opts.path + ": audit queue full (" + std::to_string(m.pending()) +
                        " records not yet written)";
      if (!m.last_error.ok()) msg += "; last write error: " + m.last_error.message();
      return Status::ResourceExhausted(std::move(msg));
    }
  }
  if (m.closing) return Status::Unavailable(m.opts.path + ": audit store is closed");
  m.queue.push_back(std::move(item));
  ++m.submitted;
  const bool wake = m.writer_idle;
  lock.unlock();
  if (wake) m.work_cv.notify_one();
  return Status::Ok();
}

Status SqliteAuditSink::Submit(engine::AuditRecord record) {
  Item item{std::move(record), nullptr};
  if (impl_->opts.durability == Durability::kAsync) return impl_->Enqueue(item);
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
  if (Status s = impl_->Enqueue(item); !s.ok()) return s;
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&w] { return w.done; });
  return w.status;
}

void SqliteAuditSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  Item item{std::move(record), std::move(done)};
  if (Status s = impl_->Enqueue(item); !s.ok() && item.done) item.done(std::move(s));
}

Status SqliteAuditSink::Flush() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const uint64_t target = m.submitted;
  const uint64_t errors_before = m.write_errors;
  ++m.flush_waiters;
  m.progress_cv.wait(lock, [&] {
    return m.written + m.dropped >= target || m.write_errors != errors_before || m.writer_done;
  });
  --m.flush_waiters;
  if (m.written + m.dropped >= target && m.dropped == 0) return Status::Ok();
  if (m.dropped != 0) {
    return Status::IoError(m.opts.path + ": " + std::to_string(m.dropped) +
                           " audit records were given up at close: " + m.last_error.message());
  }
  return Prefixed(m.last_error, std::to_string(m.pending()) +
                                    " audit records not yet written, will retry: ");
}

Status SqliteAuditSink::Close() {
  Impl& m = *impl_;
  std::lock_guard close_lock(m.close_mu);
  if (m.closed) return m.close_status;
  {
    std::lock_guard lock(m.mu);
    m.closing = true;
    m.close_deadline = Clock::now() + m.opts.close_timeout;
  }
  m.work_cv.notify_all();
  m.space_cv.notify_all();
  if (m.writer.joinable()) m.writer.join();
  m.CloseDb();
  m.closed = true;
  std::lock_guard lock(m.mu);
  if (m.dropped != 0) {
    m.close_status = Status::IoError(m.opts.path + ": " + std::to_string(m.dropped) +
                                     " audit records could not be written before closing: " +
                                     m.last_error.message());
  }
  return m.close_status;
}

SqliteAuditSink::Stats SqliteAuditSink::stats() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  Stats s;
  s.submitted = m.submitted;
  s.written = m.written;
  s.rejected_full = m.rejected_full;
  s.write_errors = m.write_errors;
  s.batches = m.batches;
  s.dropped = m.dropped;
  s.checkpoints = m.checkpoints;
  s.commit_timeouts = m.commit_timeouts;
  s.recreated = m.recreated;
  s.queue_depth = static_cast<size_t>(m.pending());
  return s;
}

const std::string& SqliteAuditSink::path() const { return impl_->opts.path; }

}  // namespace tosgate::storage
