#include "storage/accounts/registry.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "storage/accounts/account_json.h"
#include "storage/accounts/registry_impl.h"

namespace tosgate::storage {
namespace {

// Text columns are NOT NULL DEFAULT '': an empty field is stored as ''.
constexpr const char kCreateSql[] = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE accounts (
  id                  TEXT PRIMARY KEY,
  org                 TEXT    NOT NULL DEFAULT '',
  tier                TEXT    NOT NULL DEFAULT '',
  country             TEXT    NOT NULL DEFAULT '',
  flags               TEXT    NOT NULL DEFAULT '[]',  -- JSON array of strings
  suspended           INTEGER NOT NULL DEFAULT 0,     -- 0 | 1
  created_ms          INTEGER NOT NULL DEFAULT 0,     -- ms since the Unix epoch; 0 unknown
  payment_fingerprint TEXT    NOT NULL DEFAULT '',
  limit_overrides     TEXT    NOT NULL DEFAULT '{}',  -- {rule_id: {requests|tokens|concurrent, per, burst}}
  updated_ms          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE api_keys (
  key_id     TEXT PRIMARY KEY,                 -- hex SHA-256 of the secret; never the secret
  account    TEXT    NOT NULL REFERENCES accounts (id),
  label      TEXT    NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER                           -- NULL while the key is valid
) WITHOUT ROWID;
CREATE INDEX api_keys_account ON api_keys (account);
)sql";

constexpr const char kAccountColumns[] =
    "id, org, tier, country, flags, suspended, created_ms, payment_fingerprint, limit_overrides";
constexpr const char kKeyColumns[] = "key_id, account, label, created_ms, revoked_ms";

Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view path) {
  auto st = storage::Prepare(db, sql, path, sql);
  if (!st.ok()) return st.status();
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, sql);
  return static_cast<int64_t>(sqlite3_column_int64(st->get(), 0));
}

Status CreateOrCheck(sqlite3* db, const std::string& path, int64_t now_ms) {
  auto version = QueryInt(db, "PRAGMA user_version", path);
  if (!version.ok()) return version.status();
  if (*version > kAccountsSchemaVersion) {
    return Status::InvalidArgument(
        path + ": accounts registry schema version " + std::to_string(*version) +
        " is newer than this tosgate understands (" + std::to_string(kAccountsSchemaVersion) +
        "); use the tosgate that wrote it, or a newer one");
  }
  if (*version == kAccountsSchemaVersion) {
    auto tables = QueryInt(
        db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
            "('accounts', 'api_keys')", path);
    if (!tables.ok()) return tables.status();
    if (*tables != 2)
      return Status::InvalidArgument(path + ": not a tosgate accounts registry (no accounts table)");
    return Status::Ok();
  }
  if (*version != 0) {
    return Status::InvalidArgument(path + ": accounts registry schema version " +
                                   std::to_string(*version) + " is not one this tosgate knows");
  }
  auto objects = QueryInt(db, "SELECT count(*) FROM sqlite_master", path);
  if (!objects.ok()) return objects.status();
  if (*objects != 0) {
    return Status::InvalidArgument(path +
                                   ": not a tosgate accounts registry (an SQLite database with "
                                   "other tables and no schema version)");
  }
  if (Status s = Exec(db, kCreateSql, path); !s.ok()) return s;
  const std::string meta =
      "INSERT INTO meta (key, value) VALUES ('kind', 'tosgate-accounts'), ('created_ms', '" +
      std::to_string(now_ms) + "'); PRAGMA user_version = " +
      std::to_string(kAccountsSchemaVersion) + ";";
  return Exec(db, meta.c_str(), path);
}

std::string FlagsJson(const std::vector<std::string>& flags) {
  return nlohmann::json(flags).dump();
}

// Reads a row selected with kAccountColumns; "" or what is wrong with it.
std::string ReadAccountRow(sqlite3_stmt* st, Account* a) {
  a->id = ColumnText(st, 0);
  a->org = ColumnText(st, 1);
  a->tier = ColumnText(st, 2);
  a->country = ColumnText(st, 3);
  const std::string flags = ColumnText(st, 4);
  a->suspended = sqlite3_column_int(st, 5) != 0;
  a->created_ms = sqlite3_column_int64(st, 6);
  a->payment_fingerprint = ColumnText(st, 7);
  const std::string overrides = ColumnText(st, 8);
  nlohmann::json j = nlohmann::json::parse(flags, nullptr, false);
  if (!j.is_array()) return "account \"" + a->id + "\": flags are not a JSON array";
  for (const auto& f : j) {
    if (!f.is_string()) return "account \"" + a->id + "\": flags must be strings";
    a->flags.push_back(f.get<std::string>());
  }
  if (std::string why = ParseLimitOverrides(overrides, &a->limit_overrides); !why.empty())
    return "account \"" + a->id + "\": " + why;
  return {};
}

ApiKeyRecord ReadKeyRow(sqlite3_stmt* st) {
  ApiKeyRecord k;
  k.key_id = ColumnText(st, 0);
  k.account = ColumnText(st, 1);
  k.label = ColumnText(st, 2);
  k.created_ms = sqlite3_column_int64(st, 3);
  k.revoked_ms = sqlite3_column_int64(st, 4);  // NULL reads as 0
  return k;
}

// Binds ?1..?8 of an INSERT / UPDATE of the account columns after id.
int BindAccount(sqlite3_stmt* st, const Account& a, const std::string& flags,
                const std::string& overrides) {
  int rc = SQLITE_OK;
  auto ok = [&rc](int r) {
    if (rc == SQLITE_OK) rc = r;
  };
  ok(BindText(st, 1, a.id));
  ok(BindText(st, 2, a.org));
  ok(BindText(st, 3, a.tier));
  ok(BindText(st, 4, a.country));
  ok(BindText(st, 5, flags));
  ok(sqlite3_bind_int(st, 6, a.suspended ? 1 : 0));
  ok(sqlite3_bind_int64(st, 7, a.created_ms));
  ok(BindText(st, 8, a.payment_fingerprint));
  ok(BindText(st, 9, overrides));
  return rc;
}

}  // namespace

std::string CheckAccount(const Account& a) {
  if (a.id.empty()) return "the account id must not be empty";
  for (const std::string& k : a.key_ids)
    if (!IsKeyId(k)) return "key ids must be 64 lower-case hex digits (SHA-256 of the key)";
  for (const LimitOverride& o : a.limit_overrides) {
    const std::string where = "limit override \"" + o.rule_id + "\"";
    if (o.rule_id.empty()) return "a limit override needs a rule id";
    if (o.amount <= 0) return where + " needs an amount > 0";
    if (o.burst < 0) return where + ": burst must be >= 0";
    if (o.per_ns != 0 && o.per_ns < 1'000'000'000) return where + ": per must be at least 1s";
  }
  return {};
}

Result<SqliteStmt> AccountsRegistry::Impl::Prepare(std::string_view sql, std::string_view what) {
  return storage::Prepare(db.get(), sql, path(), what);
}

Status AccountsRegistry::Impl::Write(const std::function<Status()>& body) {
  {
    std::lock_guard lock(mu);
    if (Status s = Exec(db.get(), "BEGIN IMMEDIATE", path()); !s.ok()) return s;
    Status s = body();
    if (s.ok()) s = Exec(db.get(), "COMMIT", path());
    if (!s.ok()) {
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  if (listener) listener();
  return Status::Ok();
}

Result<bool> AccountsRegistry::Impl::FindAccount(std::string_view id, Account* out) {
  auto st = Prepare(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = ?1");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, id);
  int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return Error(rc, "reading an account");
  if (std::string why = ReadAccountRow(st->get(), out); !why.empty())
    return Status::Internal(path() + ": " + why);
  if (Status s = LoadKeyIds(out); !s.ok()) return s;
  return true;
}

Status AccountsRegistry::Impl::LoadKeyIds(Account* a) {
  auto st = Prepare(
      "SELECT key_id FROM api_keys WHERE account = ?1 AND revoked_ms IS NULL "
      "ORDER BY created_ms, key_id");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, a->id);
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) a->key_ids.push_back(ColumnText(st->get(), 0));
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "reading keys");
}

Status AccountsRegistry::Impl::InsertAccount(const Account& a, int64_t now_ms) {
  auto st = Prepare(
      "INSERT INTO accounts (id, org, tier, country, flags, suspended, created_ms, "
      "payment_fingerprint, limit_overrides, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
      "?9, ?10)");
  if (!st.ok()) return st.status();
  const std::string flags = FlagsJson(a.flags), overrides = LimitOverridesJson(a.limit_overrides);
  int rc = BindAccount(st->get(), a, flags, overrides);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st->get(), 10, now_ms);
  if (rc == SQLITE_OK) rc = sqlite3_step(st->get());
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return Status::AlreadyExists("account \"" + a.id + "\" already exists");
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "adding an account");
}

Status AccountsRegistry::Impl::UpdateAccountRow(const Account& a, int64_t now_ms) {
  auto st = Prepare(
      "UPDATE accounts SET org = ?2, tier = ?3, country = ?4, flags = ?5, suspended = ?6, "
      "created_ms = ?7, payment_fingerprint = ?8, limit_overrides = ?9, updated_ms = ?10 "
      "WHERE id = ?1");
  if (!st.ok()) return st.status();
  const std::string flags = FlagsJson(a.flags), overrides = LimitOverridesJson(a.limit_overrides);
  int rc = BindAccount(st->get(), a, flags, overrides);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st->get(), 10, now_ms);
  if (rc == SQLITE_OK) rc = sqlite3_step(st->get());
  if (rc != SQLITE_DONE) return Error(rc, "updating an account");
  if (sqlite3_changes(db.get()) != 1)
    return Status::NotFound("no account \"" + a.id + "\"");
  return Status::Ok();
}

Result<bool> AccountsRegistry::Impl::FindKey(std::string_view key_id, ApiKeyRecord* out) {
  auto st = Prepare(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE key_id = ?1");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, key_id);
  int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return Error(rc, "reading a key");
  *out = ReadKeyRow(st->get());
  return true;
}

Status AccountsRegistry::Impl::InsertKey(std::string_view key_id, std::string_view account,
                                         std::string_view label, int64_t created_ms) {
  ApiKeyRecord existing;
  auto found = FindKey(key_id, &existing);
  if (!found.ok()) return found.status();
  if (*found) {
    const std::string id = "key id " + std::string(key_id.substr(0, 12)) + "...";
    if (existing.revoked_ms != 0)
      return Status::AlreadyExists(id + " was revoked; a revoked key cannot be added again");
    return Status::AlreadyExists(id + " already belongs to account \"" + existing.account + "\"");
  }
  auto st = Prepare(
      "INSERT INTO api_keys (key_id, account, label, created_ms) VALUES (?1, ?2, ?3, ?4)");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, key_id);
  BindText(st->get(), 2, account);
  BindText(st->get(), 3, label);
  sqlite3_bind_int64(st->get(), 4, created_ms);
  int rc = sqlite3_step(st->get());
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "adding a key");
}

AccountsRegistry::AccountsRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountsRegistry::~AccountsRegistry() = default;

Result<std::unique_ptr<AccountsRegistry>> AccountsRegistry::Open(
    const AccountsRegistryOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = options.clock ? options.clock : &impl->system_clock;
  const std::string& path = options.path;
  if (!options.create && path != ":memory:") {
    struct stat sb;
    if (stat(path.c_str(), &sb) != 0)
      return Status::NotFound(path + ": no such accounts registry (create one with `tosgate "
                                     "accounts --db " + path + " add ...` or `import`)");
  }
  if (Status s = OpenWritableWal(path,
                                 {.flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                           (options.create ? SQLITE_OPEN_CREATE : 0),
                                  .busy_timeout = options.busy_timeout,
                                  .store = "the accounts registry",
                                  .cannot_open = "cannot open the accounts registry"},
                                 &impl->db);
      !s.ok())
    return s;
  sqlite3* raw = impl->db.get();
  if (Status s = Exec(raw, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", path); !s.ok())
    return s;

  // IMMEDIATE: two processes creating a new file at once must not both create.
  if (Status s = Exec(raw, "BEGIN IMMEDIATE", path); !s.ok()) return s;
  if (Status s = CreateOrCheck(raw, path, impl->NowMs()); !s.ok()) {
    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  if (Status s = Exec(raw, "COMMIT", path); !s.ok()) return s;
  return std::unique_ptr<AccountsRegistry>(new AccountsRegistry(std::move(impl)));
}

const std::string& AccountsRegistry::path() const { return impl_->path(); }

void AccountsRegistry::SetWriteListener(std::function<void()> listener) {
  std::lock_guard lock(impl_->mu);
  impl_->listener = std::move(listener);
}

Status AccountsRegistry::AddAccount(const Account& account, std::string_view key_label) {
  if (std::string why = CheckAccount(account); !why.empty()) return Status::InvalidArgument(why);
  return impl_->Write([&]() -> Status {
    const int64_t now = impl_->NowMs();
    Account a = account;
    if (a.created_ms <= 0) a.created_ms = now;
    if (Status s = impl_->InsertAccount(a, now); !s.ok()) return s;
    for (const std::string& k : a.key_ids)
      if (Status s = impl_->InsertKey(k, a.id, key_label, now); !s.ok()) return s;
    return Status::Ok();
  });
}

Status AccountsRegistry::UpdateAccount(std::string_view id,
                                       const std::function<Status(Account*)>& edit) {
  return impl_->Write([&]() -> Status {
    Account a;
    auto found = impl_->FindAccount(id, &a);
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound("no account \"" + std::string(id) + "\"");
    const std::vector<std::string> keys = a.key_ids;
    if (Status s = edit(&a); !s.ok()) return s;
    if (a.id != id) return Status::InvalidArgument("an account's id cannot be changed");
    a.key_ids = keys;
    if (std::string why = CheckAccount(a); !why.empty()) return Status::InvalidArgument(why);
    return impl_->UpdateAccountRow(a, impl_->NowMs());
  });
}

Result<Account> AccountsRegistry::GetAccount(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  Account a;
  auto found = impl_->FindAccount(id, &a);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound("no account \"" + std::string(id) + "\"");
  return a;
}

Result<AccountsPage> AccountsRegistry::ListAccounts(std::string_view after, size_t limit) {
  std::lock_guard lock(impl_->mu);
  if (limit == 0) return AccountsPage{};
  limit = std::min<size_t>(limit, size_t{1} << 30);
  auto st = impl_->Prepare(std::string("SELECT ") + kAccountColumns +
                           " FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, after);
  // One more than asked says whether there is a next page.
  sqlite3_bind_int64(st->get(), 2, static_cast<sqlite3_int64>(limit) + 1);
  AccountsPage page;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    if (page.accounts.size() == limit) {
      page.next_after = page.accounts.back().id;
      break;
    }
    Account a;
    if (std::string why = ReadAccountRow(st->get(), &a); !why.empty())
      return Status::Internal(impl_->path() + ": " + why);
    page.accounts.push_back(std::move(a));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return impl_->Error(rc, "listing accounts");
  for (Account& a : page.accounts)
    if (Status s = impl_->LoadKeyIds(&a); !s.ok()) return s;
  return page;
}

Result<std::vector<ApiKeyRecord>> AccountsRegistry::ListKeys(std::string_view account_id) {
  std::lock_guard lock(impl_->mu);
  auto st = impl_->Prepare(std::string("SELECT ") + kKeyColumns +
                           " FROM api_keys WHERE account = ?1 ORDER BY created_ms, key_id");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, account_id);
  std::vector<ApiKeyRecord> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) out.push_back(ReadKeyRow(st->get()));
  if (rc != SQLITE_DONE) return impl_->Error(rc, "listing keys");
  return out;
}

Status AccountsRegistry::AddKey(std::string_view account_id, std::string_view key_id,
                                std::string_view label) {
  if (!IsKeyId(key_id))
    return Status::InvalidArgument("key ids must be 64 lower-case hex digits (SHA-256 of the key)");
  return impl_->Write([&]() -> Status {
    Account a;
    auto found = impl_->FindAccount(account_id, &a);
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound("no account \"" + std::string(account_id) + "\"");
    return impl_->InsertKey(key_id, account_id, label, impl_->NowMs());
  });
}

Result<ApiKeyRecord> AccountsRegistry::RevokeKey(std::string_view key_id) {
  ApiKeyRecord key;
  Status s = impl_->Write([&]() -> Status {
    auto found = impl_->FindKey(key_id, &key);
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound("no key with id " + std::string(key_id));
    if (key.revoked_ms != 0) return Status::Ok();
    key.revoked_ms = impl_->NowMs();
    auto st = impl_->Prepare("UPDATE api_keys SET revoked_ms = ?2 WHERE key_id = ?1");
    if (!st.ok()) return st.status();
    BindText(st->get(), 1, key_id);
    sqlite3_bind_int64(st->get(), 2, key.revoked_ms);
    int rc = sqlite3_step(st->get());
    return rc == SQLITE_DONE ? Status::Ok() : impl_->Error(rc, "revoking a key");
  });
  if (!s.ok()) return s;
  return key;
}

Result<AccountsContents> AccountsRegistry::ReadAll() {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db.get();
  // One read transaction: accounts and keys from the same commit.
  if (Status s = Exec(db, "BEGIN", impl_->path()); !s.ok()) return s;
  auto read = [&]() -> Result<AccountsContents> {
    AccountsContents out;
    auto st = impl_->Prepare(std::string("SELECT ") + kAccountColumns + " FROM accounts");
    if (!st.ok()) return st.status();
    int rc;
    while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
      Account a;
      if (std::string why = ReadAccountRow(st->get(), &a); !why.empty())
        return Status::Internal(impl_->path() + ": " + why);
      out.accounts.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return impl_->Error(rc, "reading accounts");
    auto keys = impl_->Prepare(std::string("SELECT ") + kKeyColumns +
                               " FROM api_keys WHERE revoked_ms IS NULL ORDER BY created_ms");
    if (!keys.ok()) return keys.status();
    while ((rc = sqlite3_step(keys->get())) == SQLITE_ROW) out.keys.push_back(ReadKeyRow(keys->get()));
    if (rc != SQLITE_DONE) return impl_->Error(rc, "reading keys");
    std::unordered_map<std::string_view, Account*> by_id;
    for (Account& a : out.accounts) by_id.emplace(a.id, &a);
    for (const ApiKeyRecord& k : out.keys)
      if (auto it = by_id.find(k.account); it != by_id.end()) it->second->key_ids.push_back(k.key_id);
    return out;
  };
  auto out = read();
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  return out;
}

Result<int64_t> AccountsRegistry::DataVersion() {
  std::lock_guard lock(impl_->mu);
  return QueryInt(impl_->db.get(), "PRAGMA data_version", impl_->path());
}

Result<std::string> NewKeySecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return Status::Internal("the system random generator failed (OpenSSL RAND_bytes)");
  static const char k64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "sk-tg-";
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) out += k64[(acc >> (bits -= 6)) & 63];
  }
  if (bits > 0) out += k64[(acc << (6 - bits)) & 63];
  return out;
}

}  // namespace tosgate::storage
