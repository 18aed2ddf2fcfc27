#include "storage/audit/sqlite/sink.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "storage/audit/sqlite/anchor_check.h"
#include "storage/audit/row.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/sqlite/sink_impl.h"

namespace tosgate::storage {
namespace {

// The writer's page cache. SQLite's default (2 MB) is smaller than the
// (account, time_ms) index of a few hundred thousand records, and every
// record touches a random page of it: evicted pages were re-read (pread) on
// almost every insert.
constexpr const char kCachePragma[] = "PRAGMA cache_size=-65536";  // 64 MB

AuditBatchQueue::Options QueueOptions(const SqliteAuditOptions& o) {
  AuditBatchQueue::Options q = AuditBatchQueue::OptionsOf(o, std::chrono::milliseconds(1),
                                                          std::chrono::milliseconds(500));
  q.linger = o.linger;
  return q;
}

}  // namespace

SqliteAuditSink::Impl::Impl(SqliteAuditOptions o)
    : opts(std::move(o)),
      queue(QueueOptions(opts),
            {.who = opts.path + ": audit ",
             .prefix = opts.path + ": ",
             .records = "audit records",
             .closed = opts.path + ": audit store is closed",
             .back_when = "the store can be written",
             .keep_code = true}) {}

Status SqliteAuditSink::Impl::OpenDb() {
  const std::string& path = opts.path;
  if (Status s = OpenWritableWal(
          path,
          {.flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
           .busy_timeout = opts.busy_timeout,
           .store = "the audit store",
           .cannot_open = "cannot open or create the audit store (the directory must exist and "
                          "be writable)"},
          &db);
      !s.ok())
    return s;
  sqlite3* raw = db.get();

  const bool full = opts.synchronous_full || opts.durability == Durability::kSync;
  if (Status s = Exec(raw, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", path);
      !s.ok())
    return s;
  if (Status s = Exec(raw, kCachePragma, path); !s.ok()) return s;
  if (Status s = EnsureAuditSchema(raw, path); !s.ok()) return s;

  // Continue the sequence and the chain where the file left off.
  auto last = Prepare(raw, "SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1", path);
  if (!last.ok()) return last.status();
  int rc = sqlite3_step(last->get());
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
                          std::pair{&insert_trace, static_cast<const char*>(kInsertTraceSql)},
                          std::pair{&insert_cost, static_cast<const char*>(kInsertCostSql)},
                          std::pair{&insert_checkpoint,
                                    "INSERT OR REPLACE INTO checkpoints (seq, hash, signed_at_ms, "
                                    "signature, key_id) VALUES (?1, ?2, ?3, ?4, ?5)"}}) {
    if (Status s = prep(out, sql); !s.ok()) return s;
  }
  // Optional: an SQLite built with fewer than 768 parameters refuses it.
  const std::string group_sql = InsertDecisionsSql(static_cast<int>(kInsertGroupRows));
  if (!prep(&insert_group, group_sql.c_str()).ok()) insert_group.reset();
  for (size_t g = 0; g < std::size(kInsertSmallGroupRows); ++g) {
    const std::string sql = InsertDecisionsSql(static_cast<int>(kInsertSmallGroupRows[g]));
    if (!prep(&insert_small_group[g], sql.c_str()).ok()) insert_small_group[g].reset();
  }
  return Status::Ok();
}

// The sink's latest checkpoint must still be in the store, as it was: a
// gateway that continued a chain cut or rewritten behind its anchor would
// sign over the cut, and its next anchor would hide it.
Status SqliteAuditSink::Impl::CheckAnchor() {
  if (!opts.anchor) return Status::Ok();
  const std::string& path = opts.path;
  if (!key) {
    return Status::InvalidArgument(path + ": an audit anchor (" + opts.anchor->Describe() +
                                   ") needs a signing key: it publishes signed checkpoints");
  }
  auto latest = opts.anchor->Latest();
  if (!latest.ok()) return Prefixed(latest.status(), "audit anchor: ");
  if (!*latest) {
    // Nothing anchored yet: start from what the store already signed.
    auto cp = LatestCheckpoint(db.get(), path);
    if (!cp.ok()) return cp.status();
    newest_checkpoint = std::move(*cp);
    PublishAnchor();
    return Status::Ok();
  }
  auto problem = AnchorProblem(db.get(), path, **latest);
  if (!problem.ok()) return problem.status();
  if (!problem->empty()) {
    return Status::InvalidArgument(
        path + ": the audit store does not match its " + opts.anchor->Describe() + ": " +
        *problem + ". Run `tosgate audit verify --db " + path +
        " --anchor FILE`; if the store was replaced on purpose (a restore), move the anchor aside");
  }
  published_seq = (*latest)->seq;
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
  if (Status s = impl->CheckAnchor(); !s.ok()) return s;
  Impl* p = impl.get();
  p->db_open = true;
  const bool full = p->opts.synchronous_full || p->opts.durability == Durability::kSync;
  p->checkpointer = WalCheckpointer::Start(p->db.get(), p->opts.path, full);
  try {
    p->queue.Start([p](const std::vector<Impl::Item>& batch) {
      Status s = p->BeforeWrite();
      return s.ok() ? p->WriteBatch(batch) : s;
    }, [p] { p->Drained(); });
  } catch (const std::system_error& e) {
    return Status::Internal(p->opts.path + ": cannot start the audit writer thread: " + e.what());
  }
  return std::unique_ptr<SqliteAuditSink>(new SqliteAuditSink(std::move(impl)));
}

// The record becomes its columns here, before the queue bounds and the
// writer hashes them.
Status SqliteAuditSink::Submit(engine::AuditRecord record) {
  AuditRow row = ToAuditRow(std::move(record));
  if (impl_->opts.truncate_client_ip) row.client_ip = TruncateClientIp(row.client_ip);
  return impl_->queue.Submit(std::move(row), impl_->opts.durability == Durability::kSync);
}

void SqliteAuditSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  AuditRow row = ToAuditRow(std::move(record));
  if (impl_->opts.truncate_client_ip) row.client_ip = TruncateClientIp(row.client_ip);
  impl_->queue.SubmitThen(std::move(row), std::move(done));
}

Status SqliteAuditSink::Flush() { return impl_->queue.Flush(); }

Status SqliteAuditSink::Close() {
  return impl_->queue.Close([this] { impl_->CloseDb(); });
}

SqliteAuditSink::Stats SqliteAuditSink::stats() const {
  Stats s = impl_->queue.stats<Stats>();
  s.checkpoints = impl_->checkpoints.load();
  s.recreated = impl_->recreated.load();
  s.anchors = impl_->anchors.load();
  s.anchor_errors = impl_->anchor_errors.load();
  return s;
}

const std::string& SqliteAuditSink::path() const { return impl_->opts.path; }

}  // namespace tosgate::storage
