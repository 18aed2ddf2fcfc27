// BehaviorStore: what competitor_training rules remember between requests -
// one small record per (rule, account) and a cross-account index of cluster
// buckets (shared templates, address ranges, payment and device
// fingerprints).
//
// It lives outside the immutable policy snapshot and is owned by the Engine
// (or passed in through EngineOptions), so a reload keeps what was learnt
// about every account. Implementations are safe to call from many threads;
// each call on one key is atomic. Bounded: past its capacity a store evicts
// (and counts) idle records, never the history of an account still active,
// so a flood of fresh accounts cannot wipe what was learnt about a live one
// (see MemoryBehaviorOptions). The memory store is the default; a Redis one
// can implement the same calls (buckets as HyperLogLogs).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace tosgate::engine {

// The ring of recent prompt fingerprints an account keeps; `window.requests`
// may not exceed it.
inline constexpr int kFingerprintRing = 32;
// The long one-turn requests whose first and last words an account keeps.
inline constexpr int kEdgeRing = 8;

// One account's behaviour under one rule. Plain data, at most 1 KB (checked
// below); docs/distillation.md explains each field's signal.
struct AccountBehavior {
  std::array<uint64_t, kFingerprintRing> fingerprints{};  // recent SimHashes
  uint8_t ring_next = 0, ring_len = 0;
  uint8_t languages = 0;       // scripts seen in this window (bit mask)
  uint8_t prev_day_hours = 0;  // distinct UTC hours active on the last active day
  uint32_t requests = 0;       // seen, saturating
  uint32_t window_seen = 0;    // requests in the current topic window
  uint32_t hour_mask = 0;      // UTC hours active on `day`
  int32_t day = -1;            // UTC day number of hour_mask
  int64_t last_ns = 0;         // monotonic time of the last request
  // Per-request signal rates: exponentially weighted means over the window.
  float template_rate = 0, cot_rate = 0, logprob_rate = 0, output_rate = 0;
  float rate_fast = 0, rate_slow = 0;    // requests per second, short and long horizon
  float gap_mean = 0, gap_var = 0;       // inter-arrival seconds: weighted mean and variance
  uint32_t gaps = 0;                     // inter-arrival times seen
  float cluster = 0;                     // last cluster score
  uint64_t topics = 0, prev_topics = 0;  // topic buckets seen, this window and the last
  float harvest_rate = 0, shape_rate = 0;  // harvest-intent and request-shape values
  float cusum = 0;                         // sequential harvest evidence
  // Risk raised out of the request path by the traffic analyzer
  // (engine/distill/analyzer.h), in [0, 1], and when (wall ms); the rule
  // reads it as the `analyzer` signal.
  float analyzer_risk = 0;
  // The largest pooled-instruction score of the account's requests, decayed
  // per request like `cluster`; read into `sequential`.
  float pooled = 0;
  uint8_t edge_next = 0;  // next slot of `edges`
  int64_t analyzer_wall_ms = 0;
  // The first and last words (32 bits of their hashes, head then tail) of
  // the account's last kEdgeRing long one-turn requests: an end that comes
  // back with a different other end is the account's instruction skeleton
  // (`linkage.by: pooled_instructions`).
  std::array<uint32_t, 2 * kEdgeRing> edges{};
};
static_assert(sizeof(AccountBehavior) <= 1024, "per-account state is budgeted at 1 KB");
static_assert(std::is_trivially_copyable_v<AccountBehavior>);

// What one bucket of the cluster index says after a request was linked.
struct ClusterObservation {
  uint32_t accounts = 0;  // distinct accounts estimated (this one included)
  float suspicion = 0;    // weighted mean suspicion of the bucket's requests
};

// For /metrics.
struct BehaviorStats {
  size_t accounts = 0;
  size_t buckets = 0;
  uint64_t account_evictions = 0;
  uint64_t bucket_evictions = 0;
  // New accounts given no history (their request judged on its own)
  // because the store was full of live ones.
  uint64_t account_refusals = 0;
};

// A non-owning reference to a callable, for calls that must not allocate.
template <class Sig>
class FunctionRef;
template <class R, class... A>
class FunctionRef<R(A...)> {
 public:
  template <class F>
  FunctionRef(F&& f)  // NOLINT: implicit, like a lambda argument
      : obj_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, A... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...);
        }) {}
  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

class BehaviorStore {
 public:
  virtual ~BehaviorStore() = default;

  // A hint, at the start of a request: the caller will soon Update `key`
  // and link it into `buckets`, so a store may start loading them now (the
  // memory store issues prefetches; the default does nothing).
  virtual void Prefetch(uint64_t key, const uint64_t* buckets, size_t n) const {
    (void)key, (void)buckets, (void)n;
  }

  // Runs `fn` on the record of `key` (a 64-bit hash of rule id and account),
  // a zeroed record when there is none yet, atomically for that key. When a
  // bounded store is full of live records, `fn` runs on a zeroed record that
  // is not kept (counted in BehaviorStats::account_refusals). `fn`
  // may call Link and LinkMany (never Update): a store takes an account's
  // lock before a bucket's, never the other way round.
  virtual void Update(uint64_t key, int64_t now_ns, FunctionRef<void(AccountBehavior&)> fn) = 0;

  // Adds `account` (a 64-bit hash) to cluster bucket `bucket` and mixes
  // `suspicion` (0..1) into the bucket's mean; returns what the bucket then
  // holds.
  virtual ClusterObservation Link(uint64_t bucket, uint64_t account, float suspicion,
                                  int64_t now_ns) = 0;

  // Link for each of `n` buckets, out[i] for buckets[i]. The memory store
  // overrides it to start loading every bucket before it updates the first
  // (their cache misses then overlap); the default calls Link per bucket, so
  // a store that implements only Link behaves the same.
  virtual void LinkMany(const uint64_t* buckets, size_t n, uint64_t account, float suspicion,
                        int64_t now_ns, ClusterObservation* out) {
    for (size_t i = 0; i < n; ++i) out[i] = Link(buckets[i], account, suspicion, now_ns);
  }

  virtual BehaviorStats stats() const = 0;
};

struct MemoryBehaviorOptions {
  // About 470 bytes an account and 100 a bucket at these bounds (a key and
  // a record a slot, tables 3/4 full), up to 720 an account while the tables
  // grow (half full after growing); bench/distill_bench prints the figures.
  size_t max_accounts = 250'000;
  size_t max_buckets = 500'000;
  size_t shards = 64;
  // An account seen within live_ns is never evicted to make room: past
  // max_accounts a new account gets no history (counted) rather than wipe a
  // live one's. Idle accounts go first if their evidence (the highest of
  // their template, chain-of-thought, logprob and output rates and their
  // cluster score) is below keep_evidence, least recently seen first. The
  // default covers the slow volume horizon (a day). 0: every record may be
  // evicted (those without evidence first).
  int64_t live_ns = int64_t{86'400} * 1'000'000'000;
  float keep_evidence = 0.5f;
};
std::unique_ptr<BehaviorStore> NewMemoryBehaviorStore(MemoryBehaviorOptions opts = {});

}  // namespace tosgate::engine
