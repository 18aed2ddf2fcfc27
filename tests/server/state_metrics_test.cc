// The state backend's counters on /metrics (server/state_backend.h): Redis
// errors and reconnects, and admissions by the local fallback share, each
// after the event that bumps it, against a real redis-server.
#include <doctest/doctest.h>

#include "metrics/registry.h"
#include "server/state_backend.h"
#include "tests/server/metrics_text.h"
#include "tests/storage/redis_server.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST_CASE("state metrics: the memory backend exports its entries and no Redis counters") {
  server::ServeConfig cfg;
  auto backend = server::StateBackend::Open(cfg);
  REQUIRE(backend.ok());
  metrics::Registry registry;
  (*backend)->RegisterMetrics(&registry);
  const engine::MeterSpec spec{engine::Meter::kWindow, 10, 60 * kSec};
  REQUIRE((*backend)->store()->Take("k", spec, 1, 0, 0).ok());
  const std::string text = registry.Render();
  CHECK(MetricValue(text, "tosgate_state_entries") == 1);
  CHECK_FALSE(registry.Has("tosgate_state_redis_errors_total"));
  CHECK_FALSE(registry.Has("tosgate_state_fallback_admissions_total"));
}

TEST_CASE("state metrics: Redis errors, reconnects and fallback admissions") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  FakeClock clock;
  server::ServeConfig cfg;
  cfg.state_backend = server::StateBackendKind::kRedis;
  cfg.state_url = redis.url();
  cfg.state_prefix = "metrics-test:";
  cfg.state_connections = 1;
  cfg.state_timeout = std::chrono::seconds(5);  // a loaded CI box is no failure
  cfg.state_fallback_share = 0.5;
  auto opened = server::StateBackend::Open(cfg, &clock);
  REQUIRE_MESSAGE(opened.ok(), opened.status().message());
  server::StateBackend& backend = **opened;
  CHECK(backend.description().find(", local fallback 50%") != std::string::npos);
  metrics::Registry registry;
  backend.RegisterMetrics(&registry);
  REQUIRE(registry.status().ok());
  auto value = [&](const char* name) { return MetricValue(registry.Render(), name); };

  const engine::MeterSpec spec{engine::Meter::kWindow, 100, 60 * kSec};
  REQUIRE(backend.store()->Take("k", spec, 1, clock.monotonic_ns(), 0).ok());
  CHECK(value("tosgate_state_redis_errors_total") == 0);
  CHECK(value("tosgate_state_redis_reconnects_total") == 0);
  CHECK(value("tosgate_state_fallback_admissions_total") == 0);

  redis.Stop();
  auto down = backend.store()->Take("k", spec, 1, clock.monotonic_ns(), 0);
  REQUIRE(down.ok());  // answered by the local share
  CHECK(value("tosgate_state_fallback_admissions_total") == 1);
  CHECK(value("tosgate_state_redis_errors_total") == 1);
  REQUIRE(backend.store()->Take("k", spec, 1, clock.monotonic_ns(), 0).ok());
  CHECK(value("tosgate_state_fallback_admissions_total") == 2);
  CHECK(value("tosgate_state_redis_errors_total") == 2);

  redis.Start();  // same port
  clock.advance_ms(600);
  auto back = backend.store()->Take("k", spec, 1, clock.monotonic_ns(), 0);
  REQUIRE(back.ok());
  CHECK(value("tosgate_state_fallback_admissions_total") == 2);
  CHECK(value("tosgate_state_redis_reconnects_total") == 1);
  // The cluster-count store of the same server registers its own.
  CHECK(registry.Has("tosgate_cluster_links_sent_total"));
}

}  // namespace
}  // namespace tosgate::test
