#include "api/admin/metrics.h"

#include <nlohmann/json.hpp>

namespace tosgate::api::admin {

void AdminMetrics::ObserveDecision(const engine::AuditRecord& r) {
  check_latency_.Observe(r.latency_us * 1000);
  if (r.rule_ids.size() <= 2) return;  // "[]": no deciding rule
  // The record holds the ids as a JSON array of strings. Rule ids are code
  // names (letters, digits, '.', '_', '-': policies/rule_compiler), never
  // escaped, so each id is the text between a pair of quotes; no JSON parse
  // on the request path.
  std::string_view ids = r.rule_ids;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t open = ids.find('"'); open != std::string_view::npos; open = ids.find('"', open)) {
    const size_t close = ids.find('"', open + 1);
    if (close == std::string_view::npos) break;
    ++by_rule_[{r.effect, std::string(ids.substr(open + 1, close - open - 1))}];
    open = close + 1;
  }
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
                     std::lock_guard<std::mutex> lock(mu_);
                     for (const auto& [k, v] : by_rule_) w.Add({{"effect", k.first}, {"rule", k.second}}, v);
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

ObservingAuditSink::ObservingAuditSink(engine::AuditSink* inner, AdminMetrics* metrics,
                                       const Clock* clock, ReviewFn on_review)
    : inner_(inner), metrics_(metrics), clock_(clock), on_review_(std::move(on_review)) {
  if (on_review_) thread_ = std::thread([this] { ReviewLoop(); });
}

ObservingAuditSink::~ObservingAuditSink() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ObservingAuditSink::Observe(const engine::AuditRecord& r) {
  if (metrics_) metrics_->ObserveDecision(r);
  // Compared by the action's name, as the engine writes it: "review".
  if (!on_review_ || r.matches.find("\"action\":\"review\"") == std::string::npos) return;
  nlohmann::json matches = nlohmann::json::parse(r.matches, nullptr, false);
  if (!matches.is_array()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& m : matches) {
    if (!m.is_object() || m.value("action", "") != "review") continue;
    if (pending_.size() >= 10'000) {
      reviews_dropped_.fetch_add(1);
      continue;
    }
    pending_.push_back({r.account, m.value("rule", ""), m.value("detail", "")});
  }
  cv_.notify_one();
}

Status ObservingAuditSink::Submit(engine::AuditRecord record) {
  Observe(record);
  if (!inner_) return Status::Ok();
  const int64_t start = clock_->monotonic_ns();
  Status s = inner_->Submit(std::move(record));
  if (s.ok() && metrics_) metrics_->ObserveAuditCommit(clock_->monotonic_ns() - start);
  return s;
}

void ObservingAuditSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  Observe(record);
  if (!inner_) return done(Status::Ok());
  const int64_t start = clock_->monotonic_ns();
  inner_->SubmitThen(std::move(record), [this, start, done = std::move(done)](Status s) {
    if (s.ok() && metrics_) metrics_->ObserveAuditCommit(clock_->monotonic_ns() - start);
    done(std::move(s));
  });
}

void ObservingAuditSink::ReviewLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty() && stop_) return;
    Review r = std::move(pending_.front());
    pending_.pop_front();
    ++in_flight_;
    lock.unlock();
    on_review_(r.account, r.rule, r.detail);
    lock.lock();
    --in_flight_;
    cv_.notify_all();
  }
}

void ObservingAuditSink::DrainReviews() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return pending_.empty() && in_flight_ == 0; });
}

}  // namespace tosgate::api::admin
