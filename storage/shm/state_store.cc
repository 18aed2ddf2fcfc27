// The shared-memory StateStore (state_store.h). Everything in the region is
// plain data at fixed offsets: a header, then the stripes; the counters that
// are read without a stripe's lock are lock-free atomics, which work across
// processes as well as across threads.
#include "storage/shm/state_store.h"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "engine/meters.h"

namespace tosgate::storage {
namespace {

using engine::MeterResult;
using engine::MeterSpec;
using engine::meters::Entry;
using engine::meters::Fingerprint;

constexpr uint64_t kMagic = 0x31617473'676f7374ULL;  // "tosgsta1"
constexpr uint32_t kVersion = 1;

enum SlotKind : uint32_t { kFree = 0, kMeter = 1, kLease = 2 };

// A meter's slot holds its Entry; a lease's holds its id in e.a and its
// expiry in e.idle_after_ns (so that Idle() reads both kinds alike).
struct Slot {
  uint64_t hi, lo;
  uint32_t kind;
  uint32_t pad;
  Entry e;
};

struct alignas(64) StripeHead {
  pthread_mutex_t mu;
  uint32_t used;
};

struct alignas(64) Header {
  uint64_t magic;
  uint32_t version;
  uint32_t slots_per_stripe;
  uint64_t stripes;
  uint64_t stripe_bytes;
  std::atomic<uint64_t> evictions;
  std::atomic<uint64_t> refusals;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "counters must work across processes");

size_t StripeBytes(size_t slots) {
  const size_t raw = sizeof(StripeHead) + slots * sizeof(Slot);
  return (raw + 63) / 64 * 64;
}

// A stripe's lock. A robust mutex: when its holder died, the next locker is
// told (EOWNERDEAD) and takes it over; the slot being written may hold a
// half-updated count, which at worst admits or refuses one request wrongly,
// far better than every worker waiting forever.
class StripeLock {
 public:
  explicit StripeLock(StripeHead* s) : s_(s) {
    if (pthread_mutex_lock(&s_->mu) == EOWNERDEAD) pthread_mutex_consistent(&s_->mu);
  }
  ~StripeLock() { pthread_mutex_unlock(&s_->mu); }
  StripeLock(const StripeLock&) = delete;
  StripeLock& operator=(const StripeLock&) = delete;

 private:
  StripeHead* s_;
};

class ShmStateStore final : public engine::StateStore {
 public:
  explicit ShmStateStore(char* base) : h_(reinterpret_cast<Header*>(base)), base_(base) {}

  Result<MeterResult> Take(std::string_view key, const MeterSpec& spec, int64_t cost,
                           int64_t now, int64_t max_delay) override {
    if (Status s = engine::meters::CheckSpec(spec, cost); !s.ok()) return s;
    const Fingerprint fp = engine::meters::FingerprintOf(key);
    StripeHead* st = StripeFor(fp);
    StripeLock lock(st);
    Slot* slot = Find(st, fp, kMeter);
    if (!slot) {
      slot = Claim(st, now);
      if (!slot) return Full();
      *slot = Slot{fp.hi, fp.lo, kMeter, 0, Entry{}};
    }
    switch (spec.meter) {
      case engine::Meter::kWindow: return engine::meters::TakeWindow(slot->e, spec, cost, now);
      case engine::Meter::kGcra:
        return engine::meters::TakeGcra(slot->e, spec, cost, now, max_delay);
      case engine::Meter::kPeriod: return engine::meters::TakePeriod(slot->e, spec, cost, now);
    }
    return Status::InvalidArgument("unknown meter");
  }

  Status Adjust(std::string_view key, const MeterSpec& spec, int64_t taken_at, int64_t delta,
                int64_t now) override {
    if (Status s = engine::meters::CheckSpec(spec, 0); !s.ok()) return s;
    const Fingerprint fp = engine::meters::FingerprintOf(key);
    StripeHead* st = StripeFor(fp);
    StripeLock lock(st);
    if (Slot* slot = Find(st, fp, kMeter))
      engine::meters::AdjustEntry(slot->e, spec, taken_at, delta, now);
    return Status::Ok();  // evicted or expired: nothing to fix
  }

  Result<MeterResult> Acquire(std::string_view key, uint64_t lease_id, int64_t limit, int64_t now,
                              int64_t ttl) override {
    if (limit <= 0 || ttl <= 0) return Status::InvalidArgument("limit and lease time must be > 0");
    const Fingerprint fp = engine::meters::FingerprintOf(key);
    StripeHead* st = StripeFor(fp);
    StripeLock lock(st);
    // The key's live leases; its expired ones are dropped on the way, as the
    // memory store drops them (not evictions: the holder itself is live).
    int64_t held = 0, first_expiry = INT64_MAX;
    Slot* slots = SlotsOf(st);
    for (uint32_t i = 0; i < h_->slots_per_stripe; ++i) {
      Slot& s = slots[i];
      if (s.kind != kLease || s.hi != fp.hi || s.lo != fp.lo) continue;
      if (s.e.idle_after_ns <= now) {
        s.kind = kFree;
        --st->used;
        continue;
      }
      ++held;
      first_expiry = std::min(first_expiry, s.e.idle_after_ns);
    }
    MeterResult r;
    if (held < limit) {
      Slot* slot = Claim(st, now);
      if (!slot) return Full();
      *slot = Slot{fp.hi, fp.lo, kLease, 0, Entry{}};
      slot->e.a = static_cast<int64_t>(lease_id);
      slot->e.idle_after_ns = now + ttl;
      ++held;
      r.allowed = true;
    } else {
      r.retry_after_ns = first_expiry - now;  // at the latest; a release frees one sooner
    }
    r.used = held;
    r.remaining = limit - held;
    return r;
  }

  void Release(std::string_view key, uint64_t lease_id) override {
    const Fingerprint fp = engine::meters::FingerprintOf(key);
    StripeHead* st = StripeFor(fp);
    StripeLock lock(st);
    Slot* slots = SlotsOf(st);
    for (uint32_t i = 0; i < h_->slots_per_stripe; ++i) {
      Slot& s = slots[i];
      if (s.kind == kLease && s.hi == fp.hi && s.lo == fp.lo &&
          s.e.a == static_cast<int64_t>(lease_id)) {
        s.kind = kFree;
        --st->used;
        return;
      }
    }
  }

  size_t entries() const override {
    size_t n = 0;
    for (uint64_t i = 0; i < h_->stripes; ++i) {
      StripeHead* st = Stripe(i);
      StripeLock lock(st);
      n += st->used;
    }
    return n;
  }
  uint64_t evictions() const override { return h_->evictions.load(std::memory_order_relaxed); }
  uint64_t refusals() const override { return h_->refusals.load(std::memory_order_relaxed); }

 private:
  StripeHead* Stripe(uint64_t i) const {
    return reinterpret_cast<StripeHead*>(base_ + sizeof(Header) + i * h_->stripe_bytes);
  }
  StripeHead* StripeFor(const Fingerprint& fp) const { return Stripe(fp.hi % h_->stripes); }
  static Slot* SlotsOf(StripeHead* st) {
    return reinterpret_cast<Slot*>(reinterpret_cast<char*>(st) + sizeof(StripeHead));
  }

  Slot* Find(StripeHead* st, const Fingerprint& fp, SlotKind kind) const {
    Slot* slots = SlotsOf(st);
    for (uint32_t i = 0; i < h_->slots_per_stripe; ++i)
      if (slots[i].kind == kind && slots[i].hi == fp.hi && slots[i].lo == fp.lo) return &slots[i];
    return nullptr;
  }

  Slot* FreeSlot(StripeHead* st) const {
    Slot* slots = SlotsOf(st);
    for (uint32_t i = 0; i < h_->slots_per_stripe; ++i)
      if (slots[i].kind == kFree) {
        ++st->used;
        return &slots[i];
      }
    return nullptr;
  }

  // A free slot for a new entry: one never used or freed, else room made by
  // evicting every idle slot of the stripe (each counted). Null when every
  // slot is live.
  Slot* Claim(StripeHead* st, int64_t now) {
    if (st->used < h_->slots_per_stripe) return FreeSlot(st);
    Slot* slots = SlotsOf(st);
    uint64_t freed = 0;
    for (uint32_t i = 0; i < h_->slots_per_stripe; ++i)
      if (engine::meters::Idle(slots[i].e, now)) {
        slots[i].kind = kFree;
        ++freed;
      }
    if (freed == 0) return nullptr;
    st->used -= static_cast<uint32_t>(freed);
    h_->evictions.fetch_add(freed, std::memory_order_relaxed);
    return FreeSlot(st);
  }

  Status Full() {
    h_->refusals.fetch_add(1, std::memory_order_relaxed);
    const uint64_t bound = h_->stripes * h_->slots_per_stripe;
    return Status::ResourceExhausted("state store full: " + std::to_string(bound) +
                                     " live entries (shared memory), none idle to evict");
  }

  Header* h_;
  char* base_;
};

}  // namespace

size_t ShmStateBytes(size_t max_entries, ShmStateOptions opts) {
  const size_t slots = std::max<size_t>(1, opts.slots_per_stripe);
  const size_t stripes = std::max<size_t>(1, (max_entries + slots - 1) / slots);
  return sizeof(Header) + stripes * StripeBytes(slots);
}

Status InitShmState(void* base, size_t bytes, ShmStateOptions opts) {
  const size_t slots = std::max<size_t>(1, opts.slots_per_stripe);
  if (!base || bytes < ShmStateBytes(slots, opts))
    return Status::InvalidArgument("shared state region too small: " + std::to_string(bytes) +
                                   " bytes, a stripe needs " + std::to_string(ShmStateBytes(slots, opts)));
  if (reinterpret_cast<uintptr_t>(base) % 64 != 0)
    return Status::InvalidArgument("shared state region not 64-byte aligned");
  auto* h = new (base) Header{};
  h->slots_per_stripe = static_cast<uint32_t>(slots);
  h->stripe_bytes = StripeBytes(slots);
  h->stripes = (bytes - sizeof(Header)) / h->stripe_bytes;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  char* stripes = static_cast<char*>(base) + sizeof(Header);
  for (uint64_t i = 0; i < h->stripes; ++i) {
    char* at = stripes + i * h->stripe_bytes;
    std::memset(at, 0, h->stripe_bytes);  // every slot kFree
    auto* st = new (at) StripeHead{};
    pthread_mutex_init(&st->mu, &attr);
  }
  pthread_mutexattr_destroy(&attr);
  h->version = kVersion;
  // Last: a process that attaches sees the magic only over a whole table.
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kMagic;
  return Status::Ok();
}

Result<std::unique_ptr<engine::StateStore>> AttachShmState(void* base, size_t bytes) {
  if (!base || bytes < sizeof(Header)) return Status::InvalidArgument("shared state region too small");
  auto* h = static_cast<Header*>(base);
  if (h->magic != kMagic || h->version != kVersion)
    return Status::InvalidArgument("shared state region not initialized (or another version)");
  if (sizeof(Header) + h->stripes * h->stripe_bytes > bytes ||
      h->stripe_bytes != StripeBytes(h->slots_per_stripe))
    return Status::InvalidArgument("shared state region's layout does not fit its size");
  return std::unique_ptr<engine::StateStore>(new ShmStateStore(static_cast<char*>(base)));
}

Result<std::unique_ptr<ShmRegion>> ShmRegion::Create(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status::Unavailable(std::string("mmap: ") + std::strerror(errno));
  return std::unique_ptr<ShmRegion>(new ShmRegion(p, bytes));
}

ShmRegion::~ShmRegion() { munmap(base_, bytes_); }

}  // namespace tosgate::storage
