#include "server/state_backend.h"

#include <algorithm>

namespace tosgate::server {
namespace {

Result<std::unique_ptr<storage::RedisBehaviorStore>> OpenClusterStore(const ServeConfig& cfg) {
  storage::RedisBehaviorOptions o;
  o.url = cfg.state_url;
  o.prefix = cfg.state_prefix;
  o.connect_timeout = std::max<std::chrono::milliseconds>(cfg.state_timeout, std::chrono::milliseconds(200));
  o.sync_interval = cfg.state_cluster_sync;
  auto store = storage::RedisBehaviorStore::Open(o);
  if (!store.ok()) return Status::Unavailable("state (cluster counts): " + store.status().message());
  return store;
}

}  // namespace

StateBackend::StateBackend(std::unique_ptr<engine::StateStore> store, storage::RedisStateStore* redis,
                           storage::FallbackStateStore* fallback,
                           std::unique_ptr<storage::RedisBehaviorStore> clusters, std::string description)
    : store_(std::move(store)), redis_(redis), fallback_(fallback), clusters_(std::move(clusters)),
      description_(std::move(description)) {}

Result<std::unique_ptr<StateBackend>> StateBackend::Open(const ServeConfig& cfg, const Clock* clock) {
  auto local = [&] { return engine::NewMemoryStateStore({.max_entries = cfg.state_max_entries}); };
  if (cfg.state_backend == StateBackendKind::kMemory)
    return std::make_unique<StateBackend>(local(), nullptr, nullptr, nullptr, "memory");
  storage::RedisStateOptions o;
  o.url = cfg.state_url;
  o.prefix = cfg.state_prefix;
  o.connections = cfg.state_connections;
  if (clock) o.clock = clock;
  o.command_timeout = cfg.state_timeout;
  o.connect_timeout = std::max<std::chrono::milliseconds>(cfg.state_timeout, std::chrono::milliseconds(200));
  auto opened = storage::RedisStateStore::Open(o);
  if (!opened.ok()) return Status::Unavailable("state: " + opened.status().message());
  storage::RedisStateStore* redis = opened->get();
  // The log names the server, never the password.
  const size_t at = cfg.state_url.rfind('@');
  std::string description =
      "redis " + (at == std::string::npos ? cfg.state_url : "redis://***@" + cfg.state_url.substr(at + 1));
  std::unique_ptr<engine::StateStore> store = std::move(*opened);
  storage::FallbackStateStore* fallback = nullptr;
  if (cfg.state_fallback_share > 0) {
    description += ", local fallback " + std::to_string(static_cast<int>(cfg.state_fallback_share * 100)) + "%";
    auto wrapped = std::make_unique<storage::FallbackStateStore>(std::move(store), local(), cfg.state_fallback_share);
    fallback = wrapped.get();
    store = std::move(wrapped);
  }
  auto clusters = OpenClusterStore(cfg);
  if (!clusters.ok()) return clusters.status();
  return std::make_unique<StateBackend>(std::move(store), redis, fallback, std::move(*clusters),
                                        std::move(description));
}

void StateBackend::RegisterMetrics(metrics::Registry* registry) const {
  const engine::StateStore* state = store_.get();
  registry->Gauge("tosgate_state_entries", "Keys tracked by the state store.",
                  [state]() -> uint64_t { return state->entries(); });
  registry->Counter("tosgate_state_evictions_total", "Idle state entries evicted.",
                    [state] { return state->evictions(); });
  registry->Counter("tosgate_state_refusals_total", "New state keys refused: store full of live entries.",
                    [state] { return state->refusals(); });
  if (const storage::RedisStateStore* redis = redis_) {
    registry->Counter("tosgate_state_redis_errors_total",
                      "Redis state calls answered Unavailable (unreachable, timed out, refused).",
                      [redis] { return redis->counters().errors; });
    registry->Counter("tosgate_state_redis_reconnects_total", "Redis state connections dialled after start-up.",
                      [redis] { return redis->counters().reconnects; });
  }
  if (const storage::FallbackStateStore* fallback = fallback_)
    registry->Counter("tosgate_state_fallback_admissions_total",
                      "State calls answered by the local fallback share while Redis was unavailable.",
                      [fallback] { return fallback->fallbacks(); });
  if (const storage::RedisBehaviorStore* clusters = clusters_.get()) {
    auto counter = [clusters](uint64_t storage::RedisBehaviorCounters::*field) {
      return [clusters, field] { return clusters->counters().*field; };
    };
    registry->Counter("tosgate_cluster_sync_rounds_total", "Cluster-count rounds sent to Redis.",
                      counter(&storage::RedisBehaviorCounters::rounds));
    registry->Counter("tosgate_cluster_links_sent_total", "Cluster links written to Redis.",
                      counter(&storage::RedisBehaviorCounters::links_sent));
    registry->Counter("tosgate_cluster_links_dropped_total",
                      "Cluster links not sent: queue full or Redis unreachable.",
                      counter(&storage::RedisBehaviorCounters::links_dropped));
    registry->Counter("tosgate_cluster_sync_errors_total", "Failed cluster-count rounds or replies.",
                      counter(&storage::RedisBehaviorCounters::errors));
  }
}

}  // namespace tosgate::server
