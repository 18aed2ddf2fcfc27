// AccountsCache: the engine's view of the accounts registry, for the
// request path. Lookups read an immutable in-memory snapshot (maps by
// account id and by key id) taken with one atomic load; they never touch
// SQLite, take no lock that a refresh or a writer holds, and never wait for
// one. Refresh() builds a new snapshot from SQLite and publishes it with an
// atomic swap; a lookup that started before keeps the snapshot it took.
//
// What a lookup sees:
// - FindByKey: the account of a valid key, with key_created_ms set to that
//   key's creation time (one Account object per key); revoked and unknown
//   keys are not found.
// - FindById: the account (key_created_ms 0). Suspended accounts are found,
//   with suspended = true: policies decide what suspension means.
//
// Freshness: Refresh runs after every write made through the registry
// object the cache was built on (its write listener), and, once
// StartRefreshing is called, every `interval` on a background thread when
// the file changed (another process wrote it). A failed refresh keeps the
// last good snapshot and is counted.
//
// Thread-safety: FindByKey / FindById / stats from any thread at any time.
// Refresh may be called from any thread; refreshes run one at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/accounts.h"
#include "storage/accounts/registry.h"

namespace tosgate::storage {

class AccountsCache final : public engine::AccountDirectory {
 public:
  // Loads the first snapshot (an error if the registry cannot be read) and
  // becomes the registry's write listener (one cache per registry).
  // `registry` must outlive the cache, and no write through it may be in
  // progress when the cache is destroyed.
  static Result<std::unique_ptr<AccountsCache>> Create(AccountsRegistry* registry);
  ~AccountsCache() override;  // stops the background thread

  std::shared_ptr<const Account> FindByKey(std::string_view key_id) const override;
  std::shared_ptr<const Account> FindById(std::string_view account_id) const override;

  // Reads the registry now and publishes what it read.
  Status Refresh();
  // Refresh only when another connection committed since the last one.
  Status RefreshIfChanged();
  // Calls RefreshIfChanged every `interval` on a background thread until
  // the cache is destroyed. Call at most once.
  void StartRefreshing(std::chrono::milliseconds interval);

  struct Stats {
    size_t accounts = 0;  // in the published snapshot
    size_t keys = 0;      // valid keys in it
    uint64_t refreshes = 0;  // snapshots published
    uint64_t failures = 0;   // refreshes that failed (the old snapshot stayed)
  };
  Stats stats() const;

 private:
  struct Impl;
  explicit AccountsCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::storage
