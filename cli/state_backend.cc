#include "cli/state_backend.h"

#include "storage/redis_state_store.h"

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

}  // namespace tosgate::cli
