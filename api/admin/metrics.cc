#include "api/admin/metrics.h"

#include <cstdio>

namespace tosgate::api::admin {
namespace {

std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  return buf;
}

void Counter(std::string* out, const char* name, const char* help, uint64_t v) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
          " " + std::to_string(v) + "\n";
}

}  // namespace

void LatencyHistogram::Observe(int64_t ns) {
  if (ns < 0) ns = 0;
  const double s = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < kBoundsSeconds.size() && s > kBoundsSeconds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

void LatencyHistogram::Render(const std::string& name, const std::string& help,
                              std::string* out) const {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    *out += name + "_bucket{le=\"" + Seconds(kBoundsSeconds[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[kBoundsSeconds.size()].load(std::memory_order_relaxed);
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  *out += name + "_sum " +
          Seconds(static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9) + "\n";
  // The count is the buckets' total, so the exposition stays consistent
  // even while observations land between the loads above.
  *out += name + "_count " + std::to_string(cumulative) + "\n";
}

void AdminMetrics::ObserveDecision(const engine::AuditRecord& r) {
  check_latency_.Observe(r.latency_us * 1000);
  if (r.rule_ids.empty()) return;  // no deciding rule: no lock
  const std::string effect(engine::EffectWord(r));
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& id : r.rule_ids) ++by_rule_[{effect, id}];
}

void AdminMetrics::RecordReload(bool ok, const std::string& source, const std::string& error) {
  reloads_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  if (ok) {
    last_reload_error_.clear();
  } else {
    reload_failures_.fetch_add(1);
    last_reload_error_ = source + ": " + error;
  }
}

std::string AdminMetrics::last_reload_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_reload_error_;
}

std::string AdminMetrics::Render(const engine::Engine& engine) const {
  const engine::EngineCounters& c = engine.counters();
  std::string out;
  out += "# HELP tosgate_decisions_total Decisions by effect.\n# TYPE tosgate_decisions_total counter\n";
  out += "tosgate_decisions_total{effect=\"allow\"} " + std::to_string(c.allow.load()) + "\n";
  out += "tosgate_decisions_total{effect=\"throttle\"} " + std::to_string(c.throttle.load()) + "\n";
  out += "tosgate_decisions_total{effect=\"deny\"} " + std::to_string(c.deny.load()) + "\n";
  out += "# HELP tosgate_rule_decisions_total Decisions by effect and deciding rule.\n"
         "# TYPE tosgate_rule_decisions_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : by_rule_)
      out += "tosgate_rule_decisions_total{effect=\"" + Label(k.first) + "\",rule=\"" +
             Label(k.second) + "\"} " + std::to_string(v) + "\n";
  }
  check_latency_.Render("tosgate_check_latency_seconds",
                        "Time the engine took to decide one request.", &out);
  audit_commit_.Render("tosgate_audit_commit_seconds",
                       "From handing a record to the audit store to its commit (durable mode).",
                       &out);
  Counter(&out, "tosgate_fail_open_total", "Internal errors turned into an allow (failure_mode open).",
          c.fail_open.load());
  Counter(&out, "tosgate_internal_errors_total", "Internal errors while deciding.",
          c.internal_errors.load());
  Counter(&out, "tosgate_audit_failures_total", "Decisions whose audit record the store refused.",
          c.audit_failures.load());
  Counter(&out, "tosgate_shadow_matches_total", "Matches of rules in shadow mode.",
          c.shadow_matches.load());
  Counter(&out, "tosgate_delayed_total", "Requests admitted with a delay.", c.delayed.load());
  Counter(&out, "tosgate_policy_reloads_total", "Policy reloads tried (files, SIGHUP, admin API).",
          reloads_.load());
  Counter(&out, "tosgate_policy_reload_failures_total",
          "Policy reloads refused because the new set had errors; the active set stayed.",
          reload_failures_.load());
  out += "# HELP tosgate_policy_reload_failing 1 while the last reload failed and no later one succeeded.\n"
         "# TYPE tosgate_policy_reload_failing gauge\ntosgate_policy_reload_failing " +
         std::string(last_reload_error().empty() ? "0" : "1") + "\n";
  auto snap = engine.snapshot();
  out += "# HELP tosgate_policy_revision_info The active policy revision.\n"
         "# TYPE tosgate_policy_revision_info gauge\n";
  if (snap) out += "tosgate_policy_revision_info{revision=\"" + Label(snap->revision) + "\"} 1\n";
  return out;
}

}  // namespace tosgate::api::admin
