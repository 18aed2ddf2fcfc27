#include "storage/admin/review_queue.h"

#include <mutex>

#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

constexpr const char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS review_queue (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  account     TEXT    NOT NULL,
  rule_id     TEXT    NOT NULL,
  detail      TEXT    NOT NULL DEFAULT '',
  created     INTEGER NOT NULL,            -- ms since the epoch
  resolved    INTEGER NOT NULL DEFAULT 0,  -- ms since the epoch; 0 while open
  resolved_by TEXT    NOT NULL DEFAULT '',
  note        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS review_queue_open ON review_queue (account, rule_id, resolved);
)sql";

constexpr const char kColumns[] =
    "SELECT id, account, rule_id, detail, created, resolved, resolved_by, note FROM review_queue ";

ReviewItem Row(sqlite3_stmt* st) {
  return {sqlite3_column_int64(st, 0), ColumnText(st, 1), ColumnText(st, 2), ColumnText(st, 3),
          sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5), ColumnText(st, 6),
          ColumnText(st, 7)};
}

}  // namespace

struct ReviewQueue::Impl {
  std::mutex mu;
  SqliteDb db;
  std::string path;
  const Clock* clock = nullptr;

  Result<ReviewItem> GetLocked(int64_t id) {
    auto st = Prepare(db.get(), std::string(kColumns) + "WHERE id = ?", path);
    if (!st.ok()) return st.status();
    sqlite3_bind_int64(st->get(), 1, id);
    int rc = sqlite3_step(st->get());
    if (rc == SQLITE_DONE) return Status::NotFound("no review entry " + std::to_string(id));
    if (rc != SQLITE_ROW) return SqliteStatus(db.get(), rc, path, "reading the review queue");
    return Row(st->get());
  }
};

ReviewQueue::ReviewQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReviewQueue::~ReviewQueue() = default;

Result<std::unique_ptr<ReviewQueue>> ReviewQueue::Open(const std::string& path, const Clock* clock) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->clock = clock;
  auto db = OpenSqlite(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                       "opening the review queue");
  if (!db.ok()) return db.status();
  impl->db = std::move(*db);
  sqlite3* raw = impl->db.get();
  if (Status s = Exec(raw, kSchema, path); !s.ok()) return s;
  return std::unique_ptr<ReviewQueue>(new ReviewQueue(std::move(impl)));
}

Result<bool> ReviewQueue::Enqueue(std::string_view account, std::string_view rule_id,
                                  std::string_view detail) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = Prepare(impl_->db.get(),
                    "INSERT INTO review_queue (account, rule_id, detail, created) "
                    "SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM review_queue "
                    "WHERE account = ?1 AND rule_id = ?2 AND resolved = 0)",
                    impl_->path);
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, account);
  BindText(st->get(), 2, rule_id);
  BindText(st->get(), 3, detail);
  sqlite3_bind_int64(st->get(), 4, impl_->clock->wall_ms());
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "adding a review entry");
  return sqlite3_changes(impl_->db.get()) > 0;
}

Result<std::vector<ReviewItem>> ReviewQueue::List(bool open_only, size_t limit, int64_t after) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = Prepare(impl_->db.get(),
                    std::string(kColumns) +
                        "WHERE id > ?1 AND (?2 = 0 OR resolved = 0) ORDER BY id LIMIT ?3",
                    impl_->path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, after);
  sqlite3_bind_int(st->get(), 2, open_only ? 1 : 0);
  sqlite3_bind_int64(st->get(), 3, static_cast<int64_t>(limit));
  std::vector<ReviewItem> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) out.push_back(Row(st->get()));
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "listing the review queue");
  return out;
}

Result<ReviewItem> ReviewQueue::Get(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->GetLocked(id);
}

Result<ReviewItem> ReviewQueue::Resolve(int64_t id, std::string_view by, std::string_view note) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto item = impl_->GetLocked(id);
  if (!item.ok()) return item.status();
  if (item->resolved_ms != 0)
    return Status::AlreadyExists("review entry " + std::to_string(id) + " is already resolved");
  auto st = Prepare(impl_->db.get(),
                    "UPDATE review_queue SET resolved = ?, resolved_by = ?, note = ? WHERE id = ?",
                    impl_->path);
  if (!st.ok()) return st.status();
  const int64_t now = std::max<int64_t>(impl_->clock->wall_ms(), 1);
  sqlite3_bind_int64(st->get(), 1, now);
  BindText(st->get(), 2, by);
  BindText(st->get(), 3, note);
  sqlite3_bind_int64(st->get(), 4, id);
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "resolving a review entry");
  item->resolved_ms = now;
  item->resolved_by = by;
  item->note = note;
  return item;
}

}  // namespace tosgate::storage
