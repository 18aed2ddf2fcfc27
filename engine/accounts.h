// AccountDirectory: where the engine looks up who a key or account id is.
// Implementations are safe for concurrent readers.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "tosgate/request.h"

namespace tosgate::engine {

class AccountDirectory {
 public:
  virtual ~AccountDirectory() = default;
  // Accounts are shared and immutable; an update replaces the pointer, so a
  // request keeps a consistent view without copying.
  virtual std::shared_ptr<const Account> FindByKey(std::string_view key_id) const = 0;
  virtual std::shared_ptr<const Account> FindById(std::string_view account_id) const = 0;
};

// An in-memory directory, loaded at start (e.g. from an accounts JSONL file)
// and replaced as a whole. Readers never wait for each other.
class MemoryAccountDirectory final : public AccountDirectory {
 public:
  MemoryAccountDirectory();
  ~MemoryAccountDirectory() override;
  void Replace(std::vector<Account> accounts);
  void Upsert(Account account);
  std::shared_ptr<const Account> FindByKey(std::string_view key_id) const override;
  std::shared_ptr<const Account> FindById(std::string_view account_id) const override;
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The key id of an API key secret: lower-case hex SHA-256. The secret itself
// is never stored or logged. Recent ones are served from a per-thread cache
// keyed by a SipHash tag of the secret (accounts.cc says why that keeps no
// more than the key id itself).
std::string KeyId(std::string_view secret);

}  // namespace tosgate::engine
