#include "storage/audit/query.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "storage/audit/sqlite/schema.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

constexpr int64_t kHourMs = 3600000;

// (org, time_ms): the schema already indexes (account, time_ms) and
// (time_ms). An index also holds the rowid (seq), so each serves the
// (time_ms, seq) order of a page without sorting.
constexpr const char kQueryIndexesSql[] =
    "CREATE INDEX IF NOT EXISTS decisions_org_time ON decisions (org, time_ms)";

// The WHERE clause for `f` (and a cursor), with named parameters only.
std::string WhereClause(const AuditFilter& f, bool with_cursor) {
  std::string w = " WHERE 1";
  if (!f.account.empty()) w += " AND account = :account";
  if (!f.org.empty()) w += " AND org = :org";
  if (!f.effect.empty()) w += " AND effect = :effect";
  if (!f.reason.empty()) w += " AND reason = :reason";
  if (f.since_ms) w += " AND time_ms >= :since";
  if (f.until_ms) w += " AND time_ms < :until";
  // traceparent is "00-<trace id>-<parent id>-<flags>" (engine/trace_context.h).
  if (!f.trace_id.empty())
    w += " AND seq IN (SELECT seq FROM traces WHERE substr(traceparent, 4, 32) = :trace)";
  // Whole elements of the JSON array, so rule "a" does not match "a.b" or
  // "xa"; a row whose rule_ids is not valid JSON matches no rule.
  if (!f.rule.empty()) {
    w += " AND CASE WHEN json_valid(rule_ids) THEN EXISTS (SELECT 1 FROM "
         "json_each(decisions.rule_ids) AS r WHERE r.type = 'text' AND r.value = :rule) "
         "ELSE 0 END";
  }
  // The range term lets the index seek; the OR only re-checks rows that
  // share the cursor's millisecond.
  if (with_cursor) w += " AND time_ms >= :ct AND (time_ms > :ct OR seq > :cs)";
  return w;
}

void BindNamed(sqlite3_stmt* st, const char* name, std::string_view value) {
  if (int i = sqlite3_bind_parameter_index(st, name); i > 0) BindText(st, i, value);
}
void BindNamed(sqlite3_stmt* st, const char* name, int64_t value) {
  if (int i = sqlite3_bind_parameter_index(st, name); i > 0) sqlite3_bind_int64(st, i, value);
}

void BindFilter(sqlite3_stmt* st, const AuditFilter& f, const std::optional<AuditCursor>& c) {
  BindNamed(st, ":account", f.account);
  BindNamed(st, ":org", f.org);
  BindNamed(st, ":effect", f.effect);
  BindNamed(st, ":reason", f.reason);
  BindNamed(st, ":rule", f.rule);
  BindNamed(st, ":trace", f.trace_id);
  if (f.since_ms) BindNamed(st, ":since", *f.since_ms);
  if (f.until_ms) BindNamed(st, ":until", *f.until_ms);
  if (c) {
    BindNamed(st, ":ct", c->time_ms);
    BindNamed(st, ":cs", static_cast<int64_t>(c->seq));
  }
}

bool HasIndex(sqlite3* db, const char* name) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1", -1,
                         &raw, nullptr) != SQLITE_OK)
    return false;
  SqliteStmt st(raw);
  sqlite3_bind_text(raw, 1, name, -1, SQLITE_STATIC);
  return sqlite3_step(raw) == SQLITE_ROW;
}

Result<SqliteDb> OpenDb(const std::string& path, int flags) {
  return OpenSqlite(path, flags | SQLITE_OPEN_NOMUTEX, "cannot open the audit store");
}

// Checks the file is an audit store of our version; reading the header is
// also where a file that is not a database fails.
Status CheckStore(sqlite3* db, const std::string& path) {
  auto st = Prepare(db, "PRAGMA user_version", path, "reading the schema version");
  if (!st.ok()) return st.status();
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, "reading the schema version");
  const int64_t version = sqlite3_column_int64(st->get(), 0);
  if (version != kAuditSchemaVersion) {
    if (version == 0)
      return Status::InvalidArgument(path + ": not a tosgate audit store (no schema version)");
    return Status::InvalidArgument(path + ": audit store schema version " +
                                   std::to_string(version) + " is not one this tosgate knows (" +
                                   std::to_string(kAuditSchemaVersion) + ")");
  }
  return Status::Ok();
}

// An SQLite store is one gateway's: it has no instances to filter by.
Status NoInstance(const AuditFilter& f, const std::optional<AuditCursor>& c = std::nullopt) {
  if (!f.instance.empty())
    return Status::InvalidArgument("an SQLite audit store has no instances to filter by");
  if (c && !c->instance.empty())
    return Status::InvalidArgument("that cursor is from a fleet (PostgreSQL) audit store");
  return Status::Ok();
}

}  // namespace

Status EnsureQueryIndexes(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  return Exec(db, kQueryIndexesSql, file ? file : ":memory:");
}

struct AuditQuery::Impl {
  std::string path;
  SqliteDb db;

  Result<SqliteStmt> Select(const std::string& sql) {
    auto st = Prepare(db.get(), sql, path, "querying decisions");
    if (!st.ok() && st.status().code() == Status::Code::kInternal)
      return Status::InvalidArgument(path +
                                     ": not a tosgate audit store: " + st.status().message());
    return st;
  }
  std::string RowsSql(const AuditFilter& f, bool cursor) const {
    return "SELECT " + DecisionColumns(db.get()) + " FROM decisions" + WhereClause(f, cursor) +
           " ORDER BY time_ms, seq";
  }
};

AuditQuery::AuditQuery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditQuery::~AuditQuery() = default;

Result<std::unique_ptr<AuditQuery>> AuditQuery::Open(const std::string& path, Options opts) {
  // SQLite would report a missing file only as "unable to open"; say it plainly.
  struct stat st_buf;
  if (::stat(path.c_str(), &st_buf) != 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(path + ": no such audit store");
    return Status::IoError(path + ": " + std::strerror(err));
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (opts.ensure_indexes) {
    auto rw = OpenDb(path, SQLITE_OPEN_READWRITE);
    if (rw.ok() && CheckStore(rw->get(), path).ok() && !HasIndex(rw->get(), "decisions_org_time")) {
      if (opts.note) opts.note("building index decisions_org_time on " + path + " (once)");
      if (Status s = EnsureQueryIndexes(rw->get()); !s.ok() && opts.note)
        opts.note("cannot build the index, querying without it: " + s.message());
    }
  }
  auto db = OpenDb(path, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  impl->db = std::move(db.value());
  if (Status s = CheckStore(impl->db.get(), path); !s.ok()) return s;
  return std::unique_ptr<AuditQuery>(new AuditQuery(std::move(impl)));
}

Result<AuditPage> AuditQuery::Page(const AuditFilter& f, size_t limit,
                                   std::optional<AuditCursor> after) {
  if (limit == 0) return Status::InvalidArgument("a page holds at least one row");
  if (Status s = NoInstance(f, after); !s.ok()) return s;
  // One row more than asked says whether another page follows.
  auto st = impl_->Select(impl_->RowsSql(f, after.has_value()) + " LIMIT :limit");
  if (!st.ok()) return st.status();
  sqlite3_stmt* s = st->get();
  BindFilter(s, f, after);
  BindNamed(s, ":limit", static_cast<int64_t>(limit) + 1);
  AuditPage page;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (page.rows.size() == limit) {
      const auto& last = page.rows.back();
      page.next = AuditCursor{last.record.time_ms, last.seq};
      break;
    }
    page.rows.push_back(ReadDecisionRow(s));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return SqliteStatus(impl_->db.get(), rc, impl_->path, "querying decisions");
  return page;
}

Status AuditQuery::ForEach(const AuditFilter& f,
                           const std::function<bool(const StoredDecision&)>& row) {
  if (Status s = NoInstance(f); !s.ok()) return s;
  auto st = impl_->Select(impl_->RowsSql(f, false));
  if (!st.ok()) return st.status();
  sqlite3_stmt* s = st->get();
  BindFilter(s, f, std::nullopt);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (!row(ReadDecisionRow(s))) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "reading decisions");
  return Status::Ok();
}

Result<uint64_t> AuditQuery::Count(const AuditFilter& f) {
  if (Status s = NoInstance(f); !s.ok()) return s;
  auto st = impl_->Select("SELECT count(*) FROM decisions" + WhereClause(f, false));
  if (!st.ok()) return st.status();
  BindFilter(st->get(), f, std::nullopt);
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(impl_->db.get(), rc, impl_->path, "counting");
  return static_cast<uint64_t>(sqlite3_column_int64(st->get(), 0));
}

Result<std::vector<HourlyCount>> AuditQuery::Stats(const AuditFilter& f) {
  if (Status s = NoInstance(f); !s.ok()) return s;
  // Floor division, so times before 1970 land in the right hour too.
  auto st = impl_->Select(
      "SELECT time_ms - (((time_ms % :hour) + :hour) % :hour) AS hour, effect, count(*) "
      "FROM decisions" +
      WhereClause(f, false) + " GROUP BY hour, effect ORDER BY hour, effect");
  if (!st.ok()) return st.status();
  sqlite3_stmt* s = st->get();
  BindFilter(s, f, std::nullopt);
  BindNamed(s, ":hour", kHourMs);
  std::vector<HourlyCount> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(s, 0), ColumnText(s, 1),
                   static_cast<uint64_t>(sqlite3_column_int64(s, 2))});
  }
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "stats");
  return out;
}

Result<std::string> AuditQuery::Plan(const AuditFilter& f) {
  auto st = impl_->Select("EXPLAIN QUERY PLAN " + impl_->RowsSql(f, false));
  if (!st.ok()) return st.status();
  BindFilter(st->get(), f, std::nullopt);
  std::string plan;
  while (sqlite3_step(st->get()) == SQLITE_ROW) plan += ColumnText(st->get(), 3) + "\n";
  return plan;
}

}  // namespace tosgate::storage
