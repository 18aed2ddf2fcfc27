#include "api/admin/metrics.h"

#include <algorithm>

namespace tosgate::api::admin {

void AdminMetrics::ObserveDecision(const engine::AuditRecord& r) {
  check_latency_.Observe(r.latency_us * 1000);
  if (r.rule_ids.empty()) return;  // no deciding rule: no lock
  const std::string effect(engine::EffectWord(r));
  engine::MutexLock lock(mu_);
  for (const std::string& id : r.rule_ids) ++by_rule_[{effect, id}];
}

void AdminMetrics::RecordReload(bool ok, const std::string& source, const std::string& error) {
  reloads_.fetch_add(1);
  engine::MutexLock lock(mu_);
  if (ok) {
    last_reload_error_.clear();
  } else {
    reload_failures_.fetch_add(1);
    last_reload_error_ = source + ": " + error;
  }
}

std::string AdminMetrics::last_reload_error() const {
  engine::MutexLock lock(mu_);
  return last_reload_error_;
}

void AdminMetrics::Register(metrics::Registry* registry, const engine::Engine* engine) const {
  const engine::EngineCounters* c = &engine->counters();
  registry->Family("tosgate_decisions_total", metrics::Type::kCounter, "Decisions by effect.",
                   [c](metrics::SampleWriter& w) {
                     w.Add({{"effect", "allow"}}, c->allow.load());
                     w.Add({{"effect", "throttle"}}, c->throttle.load());
                     w.Add({{"effect", "deny"}}, c->deny.load());
                   });
  registry->Family("tosgate_rule_decisions_total", metrics::Type::kCounter,
                   "Decisions by effect and deciding rule.", [this](metrics::SampleWriter& w) {
                     engine::MutexLock lock(mu_);
                     for (const auto& [k, v] : by_rule_) w.Add({{"effect", k.first}, {"rule", k.second}}, v);
                   });
  // Money in whole nano-dollars (the registry's samples are integers):
  // divide by 1e9 for dollars, e.g. rate(...[1h]) / 1e9.
  registry->Family("tosgate_spend_reserved_nanousd_total", metrics::Type::kCounter,
                   "Cost budgets: money reserved at admission, by account tier (nano-dollars).",
                   [engine](metrics::SampleWriter& w) {
                     for (const auto& row : engine->spend().Rows())
                       w.Add({{"tier", row.tier}}, static_cast<uint64_t>(std::max<int64_t>(0, row.reserved)));
                   });
  registry->Family("tosgate_spend_settled_nanousd_total", metrics::Type::kCounter,
                   "Cost budgets: money settled from reported usage (or kept as reserved), by account "
                   "tier (nano-dollars).",
                   [engine](metrics::SampleWriter& w) {
                     for (const auto& row : engine->spend().Rows())
                       w.Add({{"tier", row.tier}}, static_cast<uint64_t>(std::max<int64_t>(0, row.settled)));
                   });
  registry->Histogram("tosgate_check_latency_seconds", "Time the engine took to decide one request.",
                      &check_latency_);
  registry->Histogram("tosgate_audit_commit_seconds",
                      "From handing a record to the audit store to its commit (durable mode).",
                      &audit_commit_);
  registry->Counter("tosgate_fail_open_total", "Internal errors turned into an allow (failure_mode open).",
                    [c] { return c->fail_open.load(); });
  registry->Counter("tosgate_internal_errors_total", "Internal errors while deciding.",
                    [c] { return c->internal_errors.load(); });
  registry->Counter("tosgate_audit_failures_total", "Decisions whose audit record the store refused.",
                    [c] { return c->audit_failures.load(); });
  registry->Counter("tosgate_shadow_matches_total", "Matches of rules in shadow mode.",
                    [c] { return c->shadow_matches.load(); });
  registry->Counter("tosgate_delayed_total", "Requests admitted with a delay.",
                    [c] { return c->delayed.load(); });
  registry->Counter("tosgate_policy_reloads_total", "Policy reloads tried (files, SIGHUP, admin API).",
                    [this] { return reloads_.load(); });
  registry->Counter("tosgate_policy_reload_failures_total",
                    "Policy reloads refused because the new set had errors; the active set stayed.",
                    [this] { return reload_failures_.load(); });
  registry->Gauge("tosgate_policy_reload_failing",
                  "1 while the last reload failed and no later one succeeded.",
                  [this]() -> uint64_t { return last_reload_error().empty() ? 0 : 1; });
  registry->Family("tosgate_policy_revision_info", metrics::Type::kGauge, "The active policy revision.",
                   [engine](metrics::SampleWriter& w) {
                     if (auto snap = engine->snapshot()) w.Add({{"revision", snap->revision}}, 1);
                   });
}

std::string AdminMetrics::Render(const engine::Engine& engine) const {
  metrics::Registry registry;
  Register(&registry, &engine);
  return registry.Render();
}

}  // namespace tosgate::api::admin
