// A StateStore on Redis, so that several gateways share one set of limits.
//
// Every Take, Adjust, Acquire and Release is one server-side Lua script call
// (EVALSHA; the script is loaded once per connection and reloaded on
// NOSCRIPT), so each check is one round trip and atomic on the server: three
// gateways admitting against one key never admit more than its limit.
//
// Keys are `<prefix><key>` and always carry an expiry (a window's two
// periods, a GCRA bucket's drain time, a quota's period end, a lease's TTL),
// so Redis memory stays bounded by the keys active in the last periods.
//
// Failure: a connection error, a timeout or an unexpected reply is returned
// as Status Unavailable and counted; the policy's failure_mode then decides
// (closed: 503; open: allowed and counted). A broken connection is dropped
// and re-dialled on a later call, at most once per `retry_interval`, so a
// Redis that is down costs callers no connect timeout each. See
// docs/scaling.md.
//
// Thread-safety: all methods may be called from many threads. Calls go
// round-robin over `connections` connections; calls that meet on one
// connection are pipelined: written together, one round trip for all.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/state_store.h"
#include "tosgate/clock.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct RedisStateOptions {
  std::string url = "redis://127.0.0.1:6379";  // redis://[:password@]host:port[/db]
  std::string prefix = "tosgate:";
  int connections = 4;  // each pipelines the calls that meet on it
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{50};
  std::chrono::milliseconds retry_interval{500};
  // Time comes from Redis's clock (TIME), so that gateways on different
  // hosts share one time line; false: from the caller (tests with a FakeClock).
  bool server_time = true;
  const Clock* clock = nullptr;  // paces re-dials; null: the system clock
};

// Parses a redis:// URL into host, port, password and database number.
struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};
Result<RedisAddress> ParseRedisUrl(std::string_view url);

struct RedisStateCounters {
  uint64_t calls = 0;
  uint64_t errors = 0;       // calls answered Unavailable
  uint64_t reconnects = 0;   // connections dialled after start-up
  uint64_t batches = 0;      // round trips: calls / batches is the pipelining depth
};

class RedisStateStore : public engine::StateStore {
 public:
  // Connects once to check the URL, the password and the script: a wrong
  // URL or an authentication failure is an error here, at start-up.
  static Result<std::unique_ptr<RedisStateStore>> Open(RedisStateOptions options);
  ~RedisStateStore() override;

  Result<engine::MeterResult> Take(std::string_view key, const engine::MeterSpec& spec,
                                   int64_t cost, int64_t now_ns, int64_t max_delay_ns) override;
  Status Adjust(std::string_view key, const engine::MeterSpec& spec, int64_t taken_at_ns,
                int64_t delta, int64_t now_ns) override;
  Result<engine::MeterResult> Acquire(std::string_view key, uint64_t lease_id, int64_t limit,
                                      int64_t now_ns, int64_t ttl_ns) override;
  void Release(std::string_view key, uint64_t lease_id) override;

  size_t entries() const override { return 0; }    // kept by Redis, bounded by expiry
  uint64_t evictions() const override { return 0; }  // Redis's own maxmemory policy
  RedisStateCounters counters() const;

  struct Impl;

 private:
  explicit RedisStateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A StateStore that asks `primary` and, when it is Unavailable, admits
// against `local` with every limit scaled by `share` (at least 1): each
// gateway then lets through at most its share of a limit while the shared
// store is down, instead of failing closed or fully open. Counted.
struct FallbackCounters {
  uint64_t fallbacks = 0;  // calls answered by the local store
};
class FallbackStateStore : public engine::StateStore {
 public:
  FallbackStateStore(std::unique_ptr<engine::StateStore> primary,
                     std::unique_ptr<engine::StateStore> local, double share);
  ~FallbackStateStore() override;

  Result<engine::MeterResult> Take(std::string_view key, const engine::MeterSpec& spec,
                                   int64_t cost, int64_t now_ns, int64_t max_delay_ns) override;
  Status Adjust(std::string_view key, const engine::MeterSpec& spec, int64_t taken_at_ns,
                int64_t delta, int64_t now_ns) override;
  Result<engine::MeterResult> Acquire(std::string_view key, uint64_t lease_id, int64_t limit,
                                      int64_t now_ns, int64_t ttl_ns) override;
  void Release(std::string_view key, uint64_t lease_id) override;
  size_t entries() const override;
  uint64_t evictions() const override;
  uint64_t fallbacks() const;

 private:
  int64_t Scaled(int64_t limit) const;
  std::unique_ptr<engine::StateStore> primary_, local_;
  double share_;
  struct Count;
  std::unique_ptr<Count> count_;
};

}  // namespace tosgate::storage
