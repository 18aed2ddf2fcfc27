#include "engine/accounts.h"
#include "engine/sha256.h"

#include <map>
#include <mutex>
#include <shared_mutex>

namespace tosgate::engine {

struct MemoryAccountDirectory::Impl {
  mutable std::shared_mutex mu;
  std::map<std::string, std::shared_ptr<const Account>, std::less<>> by_id;
  std::map<std::string, std::string, std::less<>> id_by_key;

  void Insert(Account a) {
    for (const std::string& k : a.key_ids) id_by_key[k] = a.id;
    std::string id = a.id;
    by_id[id] = std::make_shared<const Account>(std::move(a));
  }
};

MemoryAccountDirectory::MemoryAccountDirectory() : impl_(std::make_unique<Impl>()) {}
MemoryAccountDirectory::~MemoryAccountDirectory() = default;

void MemoryAccountDirectory::Replace(std::vector<Account> accounts) {
  std::unique_lock lock(impl_->mu);
  impl_->by_id.clear();
  impl_->id_by_key.clear();
  for (Account& a : accounts) impl_->Insert(std::move(a));
}

void MemoryAccountDirectory::Upsert(Account account) {
  std::unique_lock lock(impl_->mu);
  impl_->Insert(std::move(account));
}

std::shared_ptr<const Account> MemoryAccountDirectory::FindByKey(std::string_view key_id) const {
  std::shared_lock lock(impl_->mu);
  auto k = impl_->id_by_key.find(key_id);
  if (k == impl_->id_by_key.end()) return nullptr;
  auto a = impl_->by_id.find(k->second);
  if (a == impl_->by_id.end()) return nullptr;
  return a->second;
}

std::shared_ptr<const Account> MemoryAccountDirectory::FindById(std::string_view account_id) const {
  std::shared_lock lock(impl_->mu);
  auto a = impl_->by_id.find(account_id);
  if (a == impl_->by_id.end()) return nullptr;
  return a->second;
}

size_t MemoryAccountDirectory::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->by_id.size();
}

std::string KeyId(std::string_view secret) { return Sha256Hex(secret); }

}  // namespace tosgate::engine
