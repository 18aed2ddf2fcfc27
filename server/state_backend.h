// The StateStore `serve` runs on, chosen by `state.backend` in the config:
// memory (the default) or redis, optionally with a local fallback share;
// and, with redis, the store competitor-training detection keeps its
// cluster counts in. Whichever it is registers its own counters.
#pragma once

#include <memory>
#include <string>

#include "engine/state_store.h"
#include "metrics/registry.h"
#include "server/config.h"
#include "storage/redis/behavior_store.h"
#include "storage/redis/state_store.h"
#include "tosgate/clock.h"
#include "tosgate/status.h"

namespace tosgate::server {

class StateBackend {
 public:
  // A wrong URL, a Redis that cannot be reached or refuses the password is
  // an error here, at start-up. `clock` (tests: a FakeClock) paces Redis
  // reconnection attempts; null: the system clock.
  static Result<std::unique_ptr<StateBackend>> Open(const ServeConfig& cfg, const Clock* clock = nullptr);

  // From parts (tests): `redis` and `fallback` point into `store` when set
  // (the redis store itself, or the fallback wrapping it); `clusters` may be null.
  StateBackend(std::unique_ptr<engine::StateStore> store, storage::RedisStateStore* redis,
               storage::FallbackStateStore* fallback,
               std::unique_ptr<storage::RedisBehaviorStore> clusters, std::string description);

  engine::StateStore* store() const { return store_.get(); }
  // Where competitor-training detection keeps its cluster counts: null with
  // the memory backend (the engine keeps its own), a RedisBehaviorStore on
  // the same server with the redis backend, so a fleet sees one cluster.
  storage::RedisBehaviorStore* clusters() const { return clusters_.get(); }
  // What was opened, for the log; never the password.
  const std::string& description() const { return description_; }

  // tosgate_state_* always; the Redis, fallback and cluster counters when
  // they exist. The backend must outlive the registry's use.
  void RegisterMetrics(metrics::Registry* registry) const;

 private:
  std::unique_ptr<engine::StateStore> store_;
  storage::RedisStateStore* redis_;
  storage::FallbackStateStore* fallback_;
  std::unique_ptr<storage::RedisBehaviorStore> clusters_;
  std::string description_;
};

}  // namespace tosgate::server
