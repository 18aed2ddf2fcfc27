// AccountMarks: account flags raised after a decision, out of the request
// path - today by `kind: guard` rules in `async: true` mode, whose verdict
// arrives after the request was admitted. The engine adds an account's live
// marks to its `flags` when it resolves the account, so every rule of every
// later request sees them as `account.flags` (an attribute rule can deny
// them, a rate limit can scope by them, competitor_training can exempt
// them) exactly as flags set in the accounts registry.
//
// Owned by the Engine, outside the policy snapshot: a reload keeps them.
// They live in memory only and expire (each mark has its own expiry, wall
// time); a flag that must outlive the process belongs in the registry
// (`tosgate accounts set --flags`, the admin API).
//
// Safe to call from many threads. Bounded: past max_accounts the account
// marked longest ago is dropped (counted).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tosgate::engine {

class AccountMarks {
 public:
  explicit AccountMarks(size_t max_accounts = 100'000);
  ~AccountMarks();
  AccountMarks(const AccountMarks&) = delete;
  AccountMarks& operator=(const AccountMarks&) = delete;

  // Marks `account_id` with `flag` until `expires_wall_ms` (a later mark of
  // the same flag extends it).
  void Add(std::string_view account_id, std::string_view flag, int64_t expires_wall_ms);
  // Appends the account's flags still live at `now_wall_ms` to `flags`
  // (skipping ones already there); returns whether it appended any.
  bool AppendLive(std::string_view account_id, int64_t now_wall_ms,
                  std::vector<std::string>* flags) const;
  // Removes every mark of the account (a reviewer cleared it).
  void Clear(std::string_view account_id);

  // Whether any account holds a mark; one relaxed load, so that resolving
  // an account costs nothing while no mark was ever raised.
  bool empty() const { return accounts_.load(std::memory_order_relaxed) == 0; }
  size_t accounts() const { return accounts_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Shard;
  size_t max_per_shard_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<size_t> accounts_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace tosgate::engine
