#include "storage/redis/behavior_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "storage/redis/conn.h"

namespace tosgate::storage {
namespace {

using engine::ClusterObservation;

// KEYS[1] the bucket's HyperLogLog of accounts, KEYS[2] its suspicion
// (hash: s = sum, n = links, both scaled down past 256 links so that the
// mean leans towards recent requests, as the memory store's does).
// ARGV: ttl_ms, suspicion sum, links, then the accounts (8 raw bytes each).
// Answers {distinct accounts, mean suspicion as a string}.
constexpr const char* kClusterScript = R"lua(
local ttl, sum, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if #ARGV > 3 then redis.call('PFADD', KEYS[1], unpack(ARGV, 4)) end
redis.call('PEXPIRE', KEYS[1], ttl)
local s = tonumber(redis.call('HGET', KEYS[2], 's') or '0') + sum
local c = tonumber(redis.call('HGET', KEYS[2], 'n') or '0') + n
if c > 256 then s = s * 256 / c; c = 256 end
local mean = 0
if c > 0 then
  redis.call('HSET', KEYS[2], 's', tostring(s), 'n', tostring(c))
  redis.call('PEXPIRE', KEYS[2], ttl)
  mean = s / c
end
return {redis.call('PFCOUNT', KEYS[1]), tostring(mean)}
)lua";

constexpr size_t kShards = 16;
constexpr size_t kAccountsPerCall = 512;  // Lua's unpack has a stack limit
constexpr size_t kPipeline = 256;         // calls written before their replies are read

uint64_t Mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  return x ^ (x >> 27);
}

struct PendingLink {
  uint64_t bucket, account;
  float suspicion;
};

// The links of some buckets awaiting the next round, and the fleet's
// counts of those buckets the last rounds brought back: one lock for both,
// taken once per Link.
struct Shard {
  std::mutex mu;
  std::vector<PendingLink> pending;
  std::unordered_map<uint64_t, ClusterObservation> fleet;
};

}  // namespace

struct RedisBehaviorStore::Impl {
  RedisBehaviorOptions options;
  RedisAddress address;
  std::unique_ptr<engine::BehaviorStore> local;
  Shard shards[kShards];
  size_t pending_cap = 1, cache_cap = 1;
  std::atomic<uint64_t> rounds{0}, links_sent{0}, links_dropped{0}, errors{0}, cache_evictions{0};

  std::mutex sync_mu;  // one round at a time; guards conn and sha
  RedisContext conn;
  std::string sha;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop = false;
  std::thread thread;

  std::string Key(uint64_t bucket, char kind) const {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx}:%c", static_cast<unsigned long long>(bucket), kind);
    return options.prefix + "cl:{" + buf;
  }

  Status Connect() {
    if (conn) return Status::Ok();
    Result<RedisContext> c = RedisDial(address, options.connect_timeout, options.command_timeout);
    if (!c.ok()) return c.status();
    Result<std::string> digest = RedisLoadScript(c->get(), address, kClusterScript);
    if (!digest.ok()) return digest.status();
    sha = std::move(*digest);
    conn = std::move(*c);
    return Status::Ok();
  }

  void Remember(uint64_t bucket, ClusterObservation seen) {
    Shard& s = shards[Mix(bucket) % kShards];
    std::lock_guard lock(s.mu);
    auto it = s.fleet.find(bucket);
    if (it != s.fleet.end()) {
      it->second = seen;
      return;
    }
    if (s.fleet.size() >= cache_cap) {  // any entry will do: a later round refills it
      s.fleet.erase(s.fleet.begin());
      cache_evictions.fetch_add(1, std::memory_order_relaxed);
    }
    s.fleet.emplace(bucket, seen);
  }

  // {accounts, suspicion} from a script reply; false on anything else.
  static bool Parse(const redisReply* r, ClusterObservation* out) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return false;
    const redisReply* count = r->element[0];
    const redisReply* mean = r->element[1];
    if (count->type != REDIS_REPLY_INTEGER || count->integer < 0 || mean->type != REDIS_REPLY_STRING)
      return false;
    float m = 0;
    auto [p, ec] = std::from_chars(mean->str, mean->str + mean->len, m);
    if (ec != std::errc() || p != mean->str + mean->len || !(m >= 0 && m <= 1)) return false;
    out->accounts = static_cast<uint32_t>(std::min<long long>(count->integer, UINT32_MAX));
    out->suspicion = m;
    return true;
  }

  Status Round() {
    std::vector<PendingLink> links;
    for (Shard& s : shards) {
      std::lock_guard lock(s.mu);
      links.insert(links.end(), s.pending.begin(), s.pending.end());
      s.pending.clear();
    }
    if (links.empty()) return Status::Ok();
    std::lock_guard lock(sync_mu);
    if (Status s = Connect(); !s.ok()) {
      links_dropped.fetch_add(links.size(), std::memory_order_relaxed);
      errors.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
    // One call per bucket (per kAccountsPerCall of its distinct accounts).
    std::sort(links.begin(), links.end(), [](const PendingLink& a, const PendingLink& b) {
      return a.bucket != b.bucket ? a.bucket < b.bucket : a.account < b.account;
    });
    const std::string ttl = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(options.bucket_ttl).count());
    std::vector<std::vector<std::string>> calls;
    std::vector<uint64_t> call_bucket;
    for (size_t i = 0; i < links.size();) {
      const uint64_t bucket = links[i].bucket;
      double sum = 0;
      size_t n = 0;
      std::vector<std::string> accounts;
      for (; i < links.size() && links[i].bucket == bucket; ++i, ++n) {
        sum += links[i].suspicion;
        if (n > 0 && links[i - 1].account == links[i].account) continue;  // sorted: repeats adjoin
        accounts.emplace_back(reinterpret_cast<const char*>(&links[i].account), sizeof(uint64_t));
      }
      for (size_t a = 0; a < accounts.size(); a += kAccountsPerCall) {
        std::vector<std::string> argv{"EVALSHA", sha, "2", Key(bucket, 'h'), Key(bucket, 's'), ttl,
                                      a == 0 ? std::to_string(sum) : "0",
                                      a == 0 ? std::to_string(n) : "0"};
        const size_t end = std::min(accounts.size(), a + kAccountsPerCall);
        argv.insert(argv.end(), accounts.begin() + a, accounts.begin() + end);
        calls.push_back(std::move(argv));
        call_bucket.push_back(bucket);
      }
    }
    // In pipelines of kPipeline calls, so that no read waits for more than
    // that many scripts (command_timeout bounds each read).
    size_t bad = 0;
    for (size_t first = 0; first < calls.size(); first += kPipeline) {
      const size_t last = std::min(calls.size(), first + kPipeline);
      for (size_t c = first; c < last; ++c) RedisAppend(conn.get(), calls[c]);
      for (size_t c = first; c < last; ++c) {
        void* raw = nullptr;
        if (redisGetReply(conn.get(), &raw) != REDIS_OK || !raw) {  // the connection broke
          const Status broken = Status::Unavailable(
              RedisWhere(address) + ": " + (conn->errstr[0] ? conn->errstr : "connection lost"));
          conn.reset();
          links_dropped.fetch_add(links.size(), std::memory_order_relaxed);
          errors.fetch_add(1, std::memory_order_relaxed);
          return broken;
        }
        RedisReply reply(static_cast<redisReply*>(raw));
        // Redis restarted or flushed its scripts: load (the digest is the
        // same) and resend; the calls after it in the pipeline do likewise.
        if (IsNoScript(reply.get()) && RedisLoadScript(conn.get(), address, kClusterScript).ok()) {
          Result<RedisReply> again = RedisCommand(conn.get(), address, calls[c]);
          if (again.ok()) reply = std::move(*again);
        }
        ClusterObservation seen;
        if (Parse(reply.get(), &seen)) {
          Remember(call_bucket[c], seen);
        } else {
          ++bad;
        }
      }
    }
    if (conn->err) conn.reset();
    rounds.fetch_add(1, std::memory_order_relaxed);
    links_sent.fetch_add(links.size(), std::memory_order_relaxed);
    if (bad) {
      errors.fetch_add(bad, std::memory_order_relaxed);
      return Status::Unavailable(RedisWhere(address) + ": " + std::to_string(bad) +
                                 " unexpected replies to the cluster script");
    }
    return Status::Ok();
  }

  // Queues a link for the next round; answers the fleet's count of the
  // bucket when a round brought back more accounts than `here` (this
  // gateway's own view) has.
  ClusterObservation Queue(uint64_t bucket, uint64_t account, float suspicion, ClusterObservation here) {
    Shard& s = shards[Mix(bucket) % kShards];
    std::lock_guard lock(s.mu);
    if (s.pending.size() < pending_cap) {
      s.pending.push_back({bucket, account, suspicion});
    } else {
      links_dropped.fetch_add(1, std::memory_order_relaxed);
    }
    auto it = s.fleet.find(bucket);
    if (it != s.fleet.end() && it->second.accounts > here.accounts) return it->second;
    return here;
  }

  void Run() {
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, options.sync_interval, [&] { return stop; })) {
      lock.unlock();
      (void)Round();  // failures are counted; the next round retries
      lock.lock();
    }
  }
};

RedisBehaviorStore::RedisBehaviorStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisBehaviorStore::~RedisBehaviorStore() {
  if (impl_->thread.joinable()) {
    {
      std::lock_guard lock(impl_->stop_mu);
      impl_->stop = true;
    }
    impl_->stop_cv.notify_all();
    impl_->thread.join();
  }
}

Result<std::unique_ptr<RedisBehaviorStore>> RedisBehaviorStore::Open(RedisBehaviorOptions options) {
  Result<RedisAddress> address = ParseRedisUrl(options.url);
  if (!address.ok()) return address.status();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->address = std::move(*address);
  impl->local = engine::NewMemoryBehaviorStore(impl->options.local);
  impl->pending_cap = std::max<size_t>(1, impl->options.max_pending / kShards);
  impl->cache_cap = std::max<size_t>(1, impl->options.max_cached / kShards);
  if (Status s = impl->Connect(); !s.ok()) return s;
  Impl* raw = impl.get();
  if (raw->options.sync_interval.count() > 0) raw->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<RedisBehaviorStore>(new RedisBehaviorStore(std::move(impl)));
}

void RedisBehaviorStore::Prefetch(uint64_t key, const uint64_t* buckets, size_t n) const {
  impl_->local->Prefetch(key, buckets, n);
}

void RedisBehaviorStore::Update(uint64_t key, int64_t now_ns,
                                engine::FunctionRef<void(engine::AccountBehavior&)> fn) {
  impl_->local->Update(key, now_ns, fn);
}

ClusterObservation RedisBehaviorStore::Link(uint64_t bucket, uint64_t account, float suspicion,
                                            int64_t now_ns) {
  return impl_->Queue(bucket, account, suspicion, impl_->local->Link(bucket, account, suspicion, now_ns));
}

void RedisBehaviorStore::LinkMany(const uint64_t* buckets, size_t n, uint64_t account, float suspicion,
                                  int64_t now_ns, ClusterObservation* out) {
  impl_->local->LinkMany(buckets, n, account, suspicion, now_ns, out);
  for (size_t i = 0; i < n; ++i) out[i] = impl_->Queue(buckets[i], account, suspicion, out[i]);
}

engine::BehaviorStats RedisBehaviorStore::stats() const { return impl_->local->stats(); }

Status RedisBehaviorStore::SyncNow() { return impl_->Round(); }

RedisBehaviorCounters RedisBehaviorStore::counters() const {
  return {impl_->rounds.load(std::memory_order_relaxed),
          impl_->links_sent.load(std::memory_order_relaxed),
          impl_->links_dropped.load(std::memory_order_relaxed),
          impl_->errors.load(std::memory_order_relaxed),
          impl_->cache_evictions.load(std::memory_order_relaxed)};
}

}  // namespace tosgate::storage
