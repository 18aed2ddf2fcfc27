#include "server/process_metrics.h"

#include "engine/rules/guard.h"

namespace tosgate::server {
namespace {

// The sum of one GuardStats counter over the guard rules of the snapshot
// served now (a reload starts them at zero).
uint64_t SumGuard(const engine::Engine* engine, std::atomic<uint64_t> engine::GuardStats::*field) {
  uint64_t sum = 0;
  if (auto snap = engine->snapshot())
    for (const auto& rule : snap->rules)
      if (const auto* g = dynamic_cast<const engine::GuardRule*>(rule.get()))
        sum += (g->stats().*field).load(std::memory_order_relaxed);
  return sum;
}

}  // namespace

void RegisterEngineMetrics(const engine::Engine* engine, metrics::Registry* registry) {
  auto behavior = [engine](uint64_t engine::BehaviorStats::*field) {
    return [engine, field]() -> uint64_t { return engine->behavior().stats().*field; };
  };
  registry->Gauge("tosgate_distill_accounts", "Accounts tracked by competitor-training detection.",
                  [engine]() -> uint64_t { return engine->behavior().stats().accounts; });
  registry->Gauge("tosgate_distill_buckets", "Cluster buckets tracked by competitor-training detection.",
                  [engine]() -> uint64_t { return engine->behavior().stats().buckets; });
  registry->Counter("tosgate_distill_account_evictions_total", "Account histories evicted.",
                    behavior(&engine::BehaviorStats::account_evictions));
  registry->Counter("tosgate_distill_bucket_evictions_total", "Cluster buckets evicted.",
                    behavior(&engine::BehaviorStats::bucket_evictions));
  registry->Counter("tosgate_distill_account_refusals_total", "New accounts given no history: store full of live ones.",
                    behavior(&engine::BehaviorStats::account_refusals));
  auto guard = [engine](std::atomic<uint64_t> engine::GuardStats::*field) {
    return [engine, field] { return SumGuard(engine, field); };
  };
  registry->Counter("tosgate_guard_calls_total", "Guard classifier calls (rules of the current policy).",
                    guard(&engine::GuardStats::calls));
  registry->Counter("tosgate_guard_cache_hits_total", "Guard verdicts taken from the cache.",
                    guard(&engine::GuardStats::cache_hits));
  registry->Counter("tosgate_guard_timeouts_total", "Guard calls that timed out.", guard(&engine::GuardStats::timeouts));
  registry->Counter("tosgate_guard_errors_total", "Guard calls that failed.", guard(&engine::GuardStats::errors));
  registry->Counter("tosgate_guard_overloads_total", "Guard calls refused: max_concurrency in flight.",
                    guard(&engine::GuardStats::overloads));
  registry->Counter("tosgate_guard_fail_open_total", "Guard failures let through by failure_mode: open.",
                    guard(&engine::GuardStats::fail_open));
  registry->Gauge("tosgate_account_marks", "Accounts flagged by async guard verdicts.",
                  [engine]() -> uint64_t { return engine->marks().accounts(); });
  registry->Counter("tosgate_usage_reports_refused_total",
                    "Usage reports refused (out of range, or for a decision the inline proxy relays).",
                    [engine] { return engine->counters().usage_reports_refused.load(std::memory_order_relaxed); });
}

void RegisterGatewayMetrics(const api::GatewayServer* gateway, metrics::Registry* registry) {
  auto stat = [gateway](uint64_t api::GatewayServerStats::*field) {
    return [gateway, field] { return gateway->stats().*field; };
  };
  using S = api::GatewayServerStats;
  registry->Counter("tosgate_gateway_requests_total", "Gateway responses sent, all statuses.", stat(&S::requests));
  registry->Counter("tosgate_gateway_checks_total", "Forward-auth decisions made by the gateway.", stat(&S::checks));
  registry->Counter("tosgate_gateway_bad_requests_total",
                    "Requests refused before a decision (malformed, oversized, unreadable, ambiguous) and "
                    "usage reports refused.",
                    stat(&S::bad_requests));
  registry->Counter("tosgate_gateway_internal_errors_total",
                    "Gateway 500 answers: an exception reached the request boundary.", stat(&S::internal_errors));
  registry->Counter("tosgate_gateway_connections_total", "Gateway connections accepted.", stat(&S::connections));
  registry->Gauge("tosgate_gateway_open_connections", "Gateway connections open.", stat(&S::open_connections));
  registry->Counter("tosgate_gateway_refused_connections_total", "Connections refused over gateway.max_connections.",
                    stat(&S::refused_connections));
  registry->Counter("tosgate_gateway_read_timeouts_total",
                    "Connections closed: a header or body did not arrive in time.", stat(&S::read_timeouts));
  registry->Counter("tosgate_gateway_delayed_total", "Gateway answers held by delay mode before they were sent.",
                    stat(&S::delayed));
  registry->Counter("tosgate_gateway_proxied_total", "Inline proxy: requests relayed upstream.", stat(&S::proxied));
  registry->Counter("tosgate_upstream_errors_total", "Inline proxy: 502/504 given or a stream cut by the upstream.",
                    stat(&S::upstream_errors));
  registry->Counter("tosgate_gateway_client_aborts_total",
                    "Inline proxy: clients gone mid-relay (the upstream request cancelled).", stat(&S::client_aborts));
  registry->Gauge("tosgate_gateway_open_streams", "Inline proxy: relays in progress.", stat(&S::open_streams));
}

void RegisterAnalyzerMetrics(const engine::FeatureLog* log, const engine::AnalyzerJob* analyzer,
                             metrics::Registry* registry) {
  registry->Counter("tosgate_analyzer_samples_dropped_total",
                    "Request feature vectors overwritten before the analyzer read them.",
                    [log] { return log->stats().dropped; });
  registry->Counter("tosgate_analyzer_runs_total", "Traffic analyzer runs.", [analyzer] { return analyzer->stats().runs; });
  registry->Counter("tosgate_analyzer_tested_total", "Account windows the analyzer tested.",
                    [analyzer] { return analyzer->stats().tested; });
  registry->Counter("tosgate_analyzer_flagged_total", "Account windows the analyzer gave risk.",
                    [analyzer] { return analyzer->stats().flagged; });
}

}  // namespace tosgate::server
