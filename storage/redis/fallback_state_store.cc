#include <algorithm>
#include <atomic>
#include <cmath>

#include "storage/redis/state_store.h"

namespace tosgate::storage {

using engine::MeterResult;
using engine::MeterSpec;

struct FallbackStateStore::Count {
  std::atomic<uint64_t> fallbacks{0};
};

FallbackStateStore::FallbackStateStore(std::unique_ptr<engine::StateStore> primary,
                                       std::unique_ptr<engine::StateStore> local, double share)
    : primary_(std::move(primary)), local_(std::move(local)), share_(share),
      count_(std::make_unique<Count>()) {}

FallbackStateStore::~FallbackStateStore() = default;

int64_t FallbackStateStore::Scaled(int64_t limit) const {
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(limit) * share_)));
}

Result<MeterResult> FallbackStateStore::Take(std::string_view key, const MeterSpec& spec,
                                             int64_t cost, int64_t now_ns, int64_t max_delay_ns) {
  Result<MeterResult> r = primary_->Take(key, spec, cost, now_ns, max_delay_ns);
  if (r.ok() || r.status().code() != Status::Code::kUnavailable) return r;
  count_->fallbacks.fetch_add(1, std::memory_order_relaxed);
  MeterSpec local = spec;
  local.limit = Scaled(spec.limit);
  local.burst = spec.burst > 0 ? Scaled(spec.burst) : 0;
  return local_->Take(key, local, cost, now_ns, max_delay_ns);
}

Status FallbackStateStore::Adjust(std::string_view key, const MeterSpec& spec, int64_t taken_at_ns,
                                  int64_t delta, int64_t now_ns) {
  // Both: the units may have been taken from either. A key the local store
  // never saw is ignored by it.
  Status s = primary_->Adjust(key, spec, taken_at_ns, delta, now_ns);
  MeterSpec local = spec;
  local.limit = Scaled(spec.limit);
  local.burst = spec.burst > 0 ? Scaled(spec.burst) : 0;
  (void)local_->Adjust(key, local, taken_at_ns, delta, now_ns);
  return s.code() == Status::Code::kUnavailable ? Status::Ok() : s;
}

Result<MeterResult> FallbackStateStore::Acquire(std::string_view key, uint64_t lease_id, int64_t limit,
                                                int64_t now_ns, int64_t ttl_ns) {
  Result<MeterResult> r = primary_->Acquire(key, lease_id, limit, now_ns, ttl_ns);
  if (r.ok() || r.status().code() != Status::Code::kUnavailable) return r;
  count_->fallbacks.fetch_add(1, std::memory_order_relaxed);
  return local_->Acquire(key, lease_id, Scaled(limit), now_ns, ttl_ns);
}

void FallbackStateStore::Release(std::string_view key, uint64_t lease_id) {
  primary_->Release(key, lease_id);
  local_->Release(key, lease_id);
}

size_t FallbackStateStore::entries() const { return primary_->entries() + local_->entries(); }
uint64_t FallbackStateStore::evictions() const { return primary_->evictions() + local_->evictions(); }
uint64_t FallbackStateStore::fallbacks() const {
  return count_->fallbacks.load(std::memory_order_relaxed);
}

}  // namespace tosgate::storage
