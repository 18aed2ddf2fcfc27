// AccountsRegistry: the accounts and API keys a gateway knows, in one SQLite
// file (WAL). Keys are stored only as key ids (engine::KeyId: hex SHA-256 of
// the secret); the secret never reaches the file.
//
// The request path never reads this directly: storage/accounts/cache.h
// keeps an in-memory snapshot for that. The registry is for the CLI, the
// admin API and the cache's refresh. docs/accounts.md describes the schema,
// the commands and the import rules.
//
// Thread-safety: all methods may be called from any thread; they share one
// connection behind a mutex, so calls run one at a time. Several processes
// may open the same file: SQLite serializes their writes (a writer waits up
// to busy_timeout, then gets Unavailable) and readers never wait for writers.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/clock.h"
#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// PRAGMA user_version of a registry this code writes. A file with a newer
// version is refused rather than misread.
inline constexpr int kAccountsSchemaVersion = 1;

struct AccountsRegistryOptions {
  std::string path;
  // Create the file (and the tables) when it does not exist. Off for
  // readers such as `serve`, where a mistyped path should be an error, not
  // an empty registry.
  bool create = true;
  // How long a write waits for another process's write to finish.
  std::chrono::milliseconds busy_timeout{5000};
  // Wall time for created_ms / revoked_ms; the system clock when null.
  const Clock* clock = nullptr;
};

struct ApiKeyRecord {
  std::string key_id;  // hex SHA-256 of the secret
  std::string account;
  std::string label;
  int64_t created_ms = 0;
  int64_t revoked_ms = 0;  // 0 while the key is valid
};

// One page of ListAccounts, ordered by id.
struct AccountsPage {
  std::vector<Account> accounts;  // key_ids: the account's valid keys
  std::string next_after;         // `after` for the next page; empty on the last
};

// Everything the cache needs, read in one transaction.
struct AccountsContents {
  std::vector<Account> accounts;   // key_ids: valid keys
  std::vector<ApiKeyRecord> keys;  // valid keys only
};

struct ImportReport {
  size_t added = 0;       // new accounts
  size_t updated = 0;     // accounts that existed and were replaced by their line
  size_t keys_added = 0;  // keys new to the registry
  // Every problem, "<file>:<line>: <what>". When there is any, nothing was
  // written.
  std::vector<std::string> errors;
};

class AccountsRegistry {
 public:
  // Opens (or creates, see options) the registry. InvalidArgument for a file
  // that is not a registry or has a newer schema; IoError when it cannot be
  // opened or written.
  static Result<std::unique_ptr<AccountsRegistry>> Open(const AccountsRegistryOptions& options);
  ~AccountsRegistry();
  AccountsRegistry(const AccountsRegistry&) = delete;
  AccountsRegistry& operator=(const AccountsRegistry&) = delete;

  // Adds a new account (AlreadyExists if the id is taken) with its
  // key_ids as keys labelled `key_label`. created_ms 0 becomes now.
  Status AddAccount(const Account& account, std::string_view key_label = "");
  // Reads the account, lets `edit` change it, and writes it back, in one
  // transaction. NotFound if it does not exist; when `edit` returns an error
  // nothing is written. The id and key_ids are not changed this way (keys
  // change with AddKey / RevokeKey).
  Status UpdateAccount(std::string_view id, const std::function<Status(Account*)>& edit);
  // NotFound if there is no such account. key_ids: its valid keys.
  Result<Account> GetAccount(std::string_view id);
  // Up to `limit` accounts with ids after `after` (keyset pagination: ""
  // starts at the beginning).
  Result<AccountsPage> ListAccounts(std::string_view after, size_t limit);
  // The account's keys, revoked ones included, oldest first.
  Result<std::vector<ApiKeyRecord>> ListKeys(std::string_view account_id);

  // Adds a key id to an account. NotFound for an unknown account;
  // AlreadyExists if the key id is already registered (to any account, or
  // revoked: a revoked key never comes back).
  Status AddKey(std::string_view account_id, std::string_view key_id, std::string_view label);
  // Revokes a key; revoking it again changes nothing. Returns the key's
  // record with revoked_ms set. NotFound for an unknown key id.
  Result<ApiKeyRecord> RevokeKey(std::string_view key_id);

  // Imports an accounts JSON Lines file (storage/accounts/file.h) all or
  // nothing, in one transaction. Every bad line is reported in
  // report->errors with its line number; then nothing is written and the
  // result is InvalidArgument. See docs/accounts.md, "Import".
  Status Import(const std::string& jsonl_path, ImportReport* report);

  // All accounts and valid keys, as one consistent read.
  Result<AccountsContents> ReadAll();
  // A number that changes when another connection (process) commits to the
  // file: a cheap "did anything change" before ReadAll.
  Result<int64_t> DataVersion();

  // Called after every successful write through this object (on the
  // writer's thread, with no lock held). Set it before sharing the registry.
  void SetWriteListener(std::function<void()> listener);

  const std::string& path() const;

 private:
  struct Impl;
  explicit AccountsRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A new API key secret: "sk-tg-" and 32 random bytes, base64url. Shown to
// its owner once; the registry keeps only its key id.
Result<std::string> NewKeySecret();

}  // namespace tosgate::storage
