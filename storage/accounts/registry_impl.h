// The inside of AccountsRegistry, shared by its two source files
// (accounts_registry.cc: open and CRUD; accounts_import.cc: Import).
// Private to storage/.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/accounts/registry.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {

struct AccountsRegistry::Impl {
  AccountsRegistryOptions options;
  SystemClock system_clock;
  const Clock* clock = nullptr;
  std::mutex mu;  // one statement sequence at a time on `db`
  SqliteDb db;
  std::function<void()> listener;

  int64_t NowMs() const { return clock->wall_ms(); }
  const std::string& path() const { return options.path; }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it fails),
  // holding `mu`, then tells the listener. IMMEDIATE takes the write lock at
  // once, so a read-then-write never fails half way on another writer.
  Status Write(const std::function<Status()>& body);

  Result<SqliteStmt> Prepare(std::string_view sql, std::string_view what = "preparing a statement");
  Status Error(int rc, std::string_view what) { return SqliteStatus(db.get(), rc, path(), what); }

  // Account rows, with `mu` held.
  Result<bool> FindAccount(std::string_view id, Account* out);
  Status LoadKeyIds(Account* a);
  Status InsertAccount(const Account& a, int64_t now_ms);
  Status UpdateAccountRow(const Account& a, int64_t now_ms);
  // The key's row; false when there is none.
  Result<bool> FindKey(std::string_view key_id, ApiKeyRecord* out);
  Status InsertKey(std::string_view key_id, std::string_view account, std::string_view label,
                   int64_t created_ms);
};

// Problems with an account's contents that the file parser cannot see when
// it comes from code (AddAccount): "" when fine.
std::string CheckAccount(const Account& a);

}  // namespace tosgate::storage
