#include "storage/sqlite_audit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "storage/audit_schema.h"
#include "storage/sqlite_audit_impl.h"

namespace tosgate::storage {
namespace {

// The writer's page cache. SQLite's default (2 MB) is smaller than the
// (account, time_ms) index of a few hundred thousand records, and every
// record touches a random page of it: evicted pages were re-read (pread) on
// almost every insert.
constexpr const char kCachePragma[] = "PRAGMA cache_size=-65536";  // 64 MB

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
