#include "cli/state_backend.h"

#include <tuple>

#include "storage/redis/state_store.h"

namespace tosgate::cli {

Result<std::unique_ptr<engine::StateStore>> OpenStateStore(const ServeConfig& cfg,
                                                           std::string* description) {
  auto local = [&] { return engine::NewMemoryStateStore({.max_entries = cfg.state_max_entries}); };
  if (cfg.state_backend != "redis") {
    *description = "memory";
    return local();
  }
  storage::RedisStateOptions o;
  o.url = cfg.state_url;
  o.prefix = cfg.state_prefix;
  o.connections = cfg.state_connections;
  o.command_timeout = std::chrono::milliseconds(cfg.state_timeout_ms);
  o.connect_timeout = std::chrono::milliseconds(std::max<int64_t>(cfg.state_timeout_ms, 200));
  auto redis = storage::RedisStateStore::Open(o);
  if (!redis.ok()) return Status::Unavailable("state: " + redis.status().message());
  // The log names the server, never the password.
  const size_t at = cfg.state_url.rfind('@');
  *description = "redis " + (at == std::string::npos ? cfg.state_url
                                                     : "redis://***@" + cfg.state_url.substr(at + 1));
  std::unique_ptr<engine::StateStore> store = std::move(*redis);
  if (cfg.state_fallback_share > 0) {
    *description += ", local fallback " + std::to_string(static_cast<int>(cfg.state_fallback_share * 100)) + "%";
    store = std::make_unique<storage::FallbackStateStore>(std::move(store), local(),
                                                          cfg.state_fallback_share);
  }
  return store;
}

Result<std::unique_ptr<storage::RedisBehaviorStore>> OpenClusterStore(const ServeConfig& cfg) {
  if (cfg.state_backend != "redis") return std::unique_ptr<storage::RedisBehaviorStore>();
  storage::RedisBehaviorOptions o;
  o.url = cfg.state_url;
  o.prefix = cfg.state_prefix;
  o.connect_timeout = std::chrono::milliseconds(std::max<int64_t>(cfg.state_timeout_ms, 200));
  o.sync_interval = std::chrono::milliseconds(cfg.state_cluster_sync_ms);
  auto store = storage::RedisBehaviorStore::Open(o);
  if (!store.ok()) return Status::Unavailable("state (cluster counts): " + store.status().message());
  return store;
}

std::string ClusterStoreMetrics(const storage::RedisBehaviorStore* store) {
  if (!store) return "";
  const storage::RedisBehaviorCounters c = store->counters();
  std::string out;
  for (auto [name, help, v] : {
           std::tuple{"tosgate_cluster_sync_rounds_total", "Cluster-count rounds sent to Redis.", c.rounds},
           std::tuple{"tosgate_cluster_links_sent_total", "Cluster links written to Redis.", c.links_sent},
           std::tuple{"tosgate_cluster_links_dropped_total",
                      "Cluster links not sent: queue full or Redis unreachable.", c.links_dropped},
           std::tuple{"tosgate_cluster_sync_errors_total", "Failed cluster-count rounds or replies.", c.errors},
       })
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(v) + "\n";
  return out;
}

}  // namespace tosgate::cli
