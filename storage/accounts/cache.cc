#include "storage/accounts/cache.h"

#include <atomic>
#include <condition_variable>
#include <string>
#include <thread>
#include <unordered_map>

#include "engine/thread_annotations.h"

namespace tosgate::storage {
namespace {

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using AccountMap =
    std::unordered_map<std::string, std::shared_ptr<const Account>, Hash, std::equal_to<>>;

// Built once by a refresh, never changed after it is published.
struct Snapshot {
  AccountMap by_id;
  AccountMap by_key;  // one Account per key: key_created_ms differs per key
  size_t keys = 0;
};

std::shared_ptr<const Account> Find(const AccountMap& m, std::string_view k) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : it->second;
}

}  // namespace

struct AccountsCache::Impl {
  AccountsRegistry* registry = nullptr;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot;

  engine::Mutex refresh_mu;  // one refresh at a time, so an older read never wins
  int64_t data_version GUARDED_BY(refresh_mu) = -1;
  bool dirty GUARDED_BY(refresh_mu) = true;  // the last refresh failed
  std::atomic<uint64_t> refreshes{0}, failures{0};

  engine::Mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping GUARDED_BY(stop_mu) = false;
  std::thread refresher;

  Status RefreshLocked() REQUIRES(refresh_mu) {
    // Read the version first: a commit during ReadAll then shows as a
    // change next time rather than being missed.
    auto version = registry->DataVersion();
    auto contents = version.ok() ? registry->ReadAll() : Result<AccountsContents>(version.status());
    if (!contents.ok()) {
      dirty = true;
      failures.fetch_add(1, std::memory_order_relaxed);
      return contents.status();
    }
    auto next = std::make_shared<Snapshot>();
    next->by_id.reserve(contents->accounts.size());
    for (Account& a : contents->accounts) {
      const std::string id = a.id;
      next->by_id.emplace(id, std::make_shared<const Account>(std::move(a)));
    }
    next->by_key.reserve(contents->keys.size());
    for (const ApiKeyRecord& k : contents->keys) {
      auto owner = next->by_id.find(k.account);
      if (owner == next->by_id.end()) continue;  // foreign keys make this impossible
      auto per_key = std::make_shared<Account>(*owner->second);
      per_key->key_created_ms = k.created_ms;
      next->by_key.emplace(k.key_id, std::move(per_key));
    }
    next->keys = next->by_key.size();
    snapshot.store(std::move(next), std::memory_order_release);
    data_version = *version;
    dirty = false;
    refreshes.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }

  Status Refresh() {
    engine::MutexLock lock(refresh_mu);
    return RefreshLocked();
  }

  Status RefreshIfChanged() {
    engine::MutexLock lock(refresh_mu);
    if (!dirty) {
      auto version = registry->DataVersion();
      if (!version.ok()) {
        failures.fetch_add(1, std::memory_order_relaxed);
        return version.status();
      }
      if (*version == data_version) return Status::Ok();
    }
    return RefreshLocked();
  }
};

AccountsCache::AccountsCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AccountsCache::~AccountsCache() {
  impl_->registry->SetWriteListener(nullptr);
  {
    engine::MutexLock lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->refresher.joinable()) impl_->refresher.join();
}

Result<std::unique_ptr<AccountsCache>> AccountsCache::Create(AccountsRegistry* registry) {
  auto impl = std::make_unique<Impl>();
  impl->registry = registry;
  if (Status s = impl->Refresh(); !s.ok()) return s;
  Impl* raw = impl.get();
  // A failed refresh here leaves `dirty` set; the next periodic one retries.
  registry->SetWriteListener([raw] { (void)raw->Refresh(); });
  return std::unique_ptr<AccountsCache>(new AccountsCache(std::move(impl)));
}

std::shared_ptr<const Account> AccountsCache::FindByKey(std::string_view key_id) const {
  return Find(impl_->snapshot.load(std::memory_order_acquire)->by_key, key_id);
}

std::shared_ptr<const Account> AccountsCache::FindById(std::string_view account_id) const {
  return Find(impl_->snapshot.load(std::memory_order_acquire)->by_id, account_id);
}

Status AccountsCache::Refresh() { return impl_->Refresh(); }
Status AccountsCache::RefreshIfChanged() { return impl_->RefreshIfChanged(); }

void AccountsCache::StartRefreshing(std::chrono::milliseconds interval) {
  Impl* impl = impl_.get();
  impl->refresher = std::thread([impl, interval] {
    engine::MutexLock lock(impl->stop_mu);
    while (!impl->stop_cv.wait_for(lock.native(), interval,
                                   [impl]() REQUIRES(impl->stop_mu) { return impl->stopping; })) {
      lock.Unlock();
      (void)impl->RefreshIfChanged();  // counted in failures; the old snapshot stays
      lock.Lock();
    }
  });
}

AccountsCache::Stats AccountsCache::stats() const {
  auto snap = impl_->snapshot.load(std::memory_order_acquire);
  return {snap->by_id.size(), snap->keys, impl_->refreshes.load(std::memory_order_relaxed),
          impl_->failures.load(std::memory_order_relaxed)};
}

}  // namespace tosgate::storage
