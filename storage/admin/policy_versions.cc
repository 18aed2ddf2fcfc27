#include "storage/admin/policy_versions.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "engine/sha256.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

constexpr const char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS policy_versions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  author     TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  sha256     TEXT    NOT NULL,
  message    TEXT    NOT NULL DEFAULT '',
  revision   TEXT    NOT NULL DEFAULT '',
  files      TEXT    NOT NULL              -- JSON object: name -> content
);
CREATE TABLE IF NOT EXISTS policy_activations (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL REFERENCES policy_versions(id),
  author  TEXT    NOT NULL,
  time_ms INTEGER NOT NULL,
  kind    TEXT    NOT NULL                 -- activate | rollback
);
)sql";

PolicyVersion RowToVersion(sqlite3_stmt* st, bool with_files) {
  PolicyVersion v;
  v.id = sqlite3_column_int64(st, 0);
  v.author = ColumnText(st, 1);
  v.created_ms = sqlite3_column_int64(st, 2);
  v.sha256 = ColumnText(st, 3);
  v.message = ColumnText(st, 4);
  v.revision = ColumnText(st, 5);
  if (with_files) {
    nlohmann::json j = nlohmann::json::parse(ColumnText(st, 6), nullptr, false);
    if (j.is_object())
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it->is_string()) v.files.emplace_back(it.key(), it->get<std::string>());
  }
  return v;
}

}  // namespace

std::string ContentHash(const PolicyFiles& files) {
  PolicyFiles sorted = files;
  std::sort(sorted.begin(), sorted.end());
  std::string all;
  for (const auto& [name, content] : sorted) {
    all += name;
    all += '\0';
    all += content;
    all += '\0';
  }
  return engine::Sha256Hex(all);
}

struct PolicyVersions::Impl {
  std::mutex mu;
  SqliteDb db;
  std::string path;
  const Clock* clock = nullptr;

  Result<std::optional<int64_t>> One(const char* sql, int64_t bind = 0, bool bound = false) {
    auto st = Prepare(db.get(), sql, path);
    if (!st.ok()) return st.status();
    if (bound) sqlite3_bind_int64(st->get(), 1, bind);
    int rc = sqlite3_step(st->get());
    if (rc == SQLITE_ROW) return std::optional<int64_t>(sqlite3_column_int64(st->get(), 0));
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    return SqliteStatus(db.get(), rc, path, "reading policy versions");
  }
};

PolicyVersions::PolicyVersions(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyVersions::~PolicyVersions() = default;

Result<std::unique_ptr<PolicyVersions>> PolicyVersions::Open(const std::string& path,
                                                             const Clock* clock) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->clock = clock;
  auto db = OpenSqlite(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                       "opening the policy versions store");
  if (!db.ok()) return db.status();
  impl->db = std::move(*db);
  sqlite3* raw = impl->db.get();
  if (path != ":memory:")
    if (Status s = Exec(raw, "PRAGMA journal_mode=WAL;", path); !s.ok()) return s;
  if (Status s = Exec(raw, kSchema, path); !s.ok()) return s;
  return std::unique_ptr<PolicyVersions>(new PolicyVersions(std::move(impl)));
}

Result<PolicyVersion> PolicyVersions::Add(std::string_view author, std::string_view message,
                                          std::string_view revision, PolicyFiles files) {
  std::sort(files.begin(), files.end());
  PolicyVersion v;
  v.author = author;
  v.message = message;
  v.revision = revision;
  v.created_ms = impl_->clock->wall_ms();
  v.sha256 = ContentHash(files);
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, content] : files) j[name] = content;
  const std::string files_json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = Prepare(impl_->db.get(),
                    "INSERT INTO policy_versions (author, created_ms, sha256, message, revision, "
                    "files) VALUES (?, ?, ?, ?, ?, ?)",
                    impl_->path);
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, v.author);
  sqlite3_bind_int64(st->get(), 2, v.created_ms);
  BindText(st->get(), 3, v.sha256);
  BindText(st->get(), 4, v.message);
  BindText(st->get(), 5, v.revision);
  BindText(st->get(), 6, files_json);
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "adding a policy version");
  v.id = sqlite3_last_insert_rowid(impl_->db.get());
  v.files = std::move(files);
  return v;
}

Result<PolicyVersion> PolicyVersions::Get(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = Prepare(impl_->db.get(),
                    "SELECT id, author, created_ms, sha256, message, revision, files "
                    "FROM policy_versions WHERE id = ?",
                    impl_->path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, id);
  int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) return Status::NotFound("no policy version " + std::to_string(id));
  if (rc != SQLITE_ROW) return SqliteStatus(impl_->db.get(), rc, impl_->path, "reading a policy version");
  return RowToVersion(st->get(), true);
}

Result<std::vector<PolicyVersion>> PolicyVersions::List(size_t limit, int64_t before) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = Prepare(impl_->db.get(),
                    "SELECT id, author, created_ms, sha256, message, revision, '' "
                    "FROM policy_versions WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2",
                    impl_->path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, before);
  sqlite3_bind_int64(st->get(), 2, static_cast<int64_t>(limit));
  std::vector<PolicyVersion> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) out.push_back(RowToVersion(st->get(), false));
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "listing policy versions");
  return out;
}

Status PolicyVersions::Activate(int64_t id, std::string_view author, std::string_view kind) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto exists = impl_->One("SELECT id FROM policy_versions WHERE id = ?", id, true);
  if (!exists.ok()) return exists.status();
  if (!exists->has_value()) return Status::NotFound("no policy version " + std::to_string(id));
  auto st = Prepare(impl_->db.get(),
                    "INSERT INTO policy_activations (version, author, time_ms, kind) VALUES (?, ?, ?, ?)",
                    impl_->path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, id);
  BindText(st->get(), 2, author);
  sqlite3_bind_int64(st->get(), 3, impl_->clock->wall_ms());
  BindText(st->get(), 4, kind);
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "activating a policy version");
  return Status::Ok();
}

Result<std::optional<int64_t>> PolicyVersions::Active() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->One("SELECT version FROM policy_activations ORDER BY seq DESC LIMIT 1");
}

Result<std::optional<int64_t>> PolicyVersions::Previous() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->One(
      "SELECT version FROM policy_activations WHERE version != (SELECT version FROM "
      "policy_activations ORDER BY seq DESC LIMIT 1) ORDER BY seq DESC LIMIT 1");
}

Result<std::vector<PolicyActivation>> PolicyVersions::History(size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto st = Prepare(impl_->db.get(),
                    "SELECT seq, version, author, time_ms, kind FROM policy_activations "
                    "ORDER BY seq DESC LIMIT ?",
                    impl_->path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, static_cast<int64_t>(limit));
  std::vector<PolicyActivation> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW)
    out.push_back({sqlite3_column_int64(st->get(), 0), sqlite3_column_int64(st->get(), 1),
                   ColumnText(st->get(), 2), sqlite3_column_int64(st->get(), 3),
                   ColumnText(st->get(), 4)});
  if (rc != SQLITE_DONE) return SqliteStatus(impl_->db.get(), rc, impl_->path, "reading activations");
  return out;
}

}  // namespace tosgate::storage
