// tosgate serve: the gateway process. Works with no configuration at all.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "api/admin/admin_server.h"
#include "api/admin/metrics.h"
#include "api/gateway/gateway_server.h"
#include "api/guard/http_guard_client.h"
#include "cli/audit_backend.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/policy_reload.h"
#include "cli/policy_source.h"
#include "cli/policy_watch.h"
#include "cli/state_backend.h"
#include "engine/condition.h"
#include "engine/distill/analyzer_job.h"
#include "engine/engine.h"
#include "engine/rules/guard.h"
#include "storage/accounts/cache.h"
#include "storage/accounts/file.h"
#include "storage/admin/policy_versions.h"
#include "storage/audit/postgres/query.h"
#include "storage/admin/review_queue.h"
#include "storage/sqlite/parent_dir.h"

namespace tosgate::cli {
namespace {

// "http://host:port" for a listen address and the port it was bound to.
std::string BaseUrl(const std::string& listen, int port) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty()) host = "0.0.0.0";
  return "http://" + host + ":" + std::to_string(port);
}

void PrintBanner(const ServeConfig& cfg, int gateway_port, const std::string& control_listen,
                 int control_port, int admin_port, const engine::PolicySnapshot& snap) {
  const std::string base = BaseUrl(cfg.gateway_listen, gateway_port);
  const std::string control = control_port > 0 ? BaseUrl(control_listen, control_port) : "";
  const bool inline_mode = !cfg.upstream_url.empty();
  std::string admin_host = cfg.admin_listen.substr(0, cfg.admin_listen.rfind(':'));
  std::cout << "tosgate: policies " << (cfg.policies_dir.empty() ? "(built-in default pack)" : cfg.policies_dir)
            << ", " << snap.rules.size() << " rules, revision " << snap.revision << "\n"
            << "tosgate: audit " << DescribeAuditBackend(cfg) << "\n";
  // Where checks and usage reports go (docs/inline-proxy.md, "Control
  // endpoints"): in inline mode never the client port.
  const std::string check_base = inline_mode ? control : base;
  const std::string usage_base = inline_mode || !control.empty() ? control : base;
  const std::string token = cfg.control_token_sha256.empty() ? "" : " (X-Tos-Control-Token required)";
  if (inline_mode) std::cout << "tosgate: inline proxy on " << base << " -> " << cfg.upstream_url << "\n";
  if (!check_base.empty()) std::cout << "tosgate: forward-auth on " << check_base << cfg.path_prefix << "\n";
  if (!usage_base.empty()) std::cout << "tosgate: usage reports on " << usage_base << "/v1/usage" << token << "\n";
  if (control.empty() && inline_mode)
    std::cout << "tosgate: no control listener (gateway.control_listen: off): checks and usage reports "
                 "are not served\n";
  std::cout << "tosgate: admin on " << (cfg.admin_tls_cert.empty() ? "http://" : "https://") << admin_host
            << ":" << admin_port << " (/healthz, /readyz, /metrics, /v1/admin/...; "
            << cfg.admin_tokens.size() << " tokens)\n";
  std::cout << "\nTry it:\n";
  if (inline_mode)
    std::cout << "  # through the inline proxy to the upstream: 200\n"
              << "  curl -s " << base << "/v1/chat/completions -H 'Authorization: Bearer sk-demo-1'"
              << " -H 'Content-Type: application/json' -d '{\"model\": \"m\", \"max_tokens\": 8, \"messages\": [{\"role\": \"user\", "
                 "\"content\": \"hello\"}]}'\n";
  if (!check_base.empty()) {
    const std::string check = check_base + cfg.path_prefix;
    std::cout << "  # checks as a proxy would send them; allowed: 200\n"
              << "  curl -i " << check
              << " -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions'"
                 " -H 'Authorization: Bearer sk-demo-1'\n"
              << "  # denied, training a competing model is a declared purpose: 403\n"
              << "  curl -i " << check
              << " -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions'"
                 " -H 'Authorization: Bearer sk-demo-1' -H 'X-Usage-Purpose: model-training'\n"
              << "  # throttled, the free tier allows 20 requests a minute: 20 x 200, then 429\n"
              << "  for i in $(seq 21); do curl -s -o /dev/null -w '%{http_code} ' " << check
              << " -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions'"
                 " -H 'Authorization: Bearer sk-demo-2'; done; echo\n";
  }
  std::cout << std::endl;
}

Status EnsureParentDir(const std::string& path) { return storage::EnsureParentDir(path); }

}  // namespace

int RunServe(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string config_path, policies_dir, accounts_file, accounts_db, upstream, control_listen;
  const bool have_config = TakeFlag(&args, "--config", &config_path, &bad);
  const bool have_policies = TakeFlag(&args, "--policies", &policies_dir, &bad);
  const bool have_accounts = TakeFlag(&args, "--accounts", &accounts_file, &bad);
  const bool have_accounts_db = TakeFlag(&args, "--accounts-db", &accounts_db, &bad);
  const bool have_upstream = TakeFlag(&args, "--upstream", &upstream, &bad);
  const bool have_control = TakeFlag(&args, "--control-listen", &control_listen, &bad);
  const bool watch = TakeSwitch(&args, "--watch");
  if (bad) return 2;
  if (!args.empty()) {
    std::cerr << "tosgate serve: unexpected argument '" << args[0] << "'\n";
    return 2;
  }

  ServeConfig cfg;
  if (have_config) {
    std::vector<std::string> errors = LoadServeConfig(config_path, &cfg);
    for (const std::string& e : errors) std::cerr << e << "\n";
    if (!errors.empty()) return 2;
  }
  if (have_policies) cfg.policies_dir = policies_dir;
  if (have_accounts) cfg.accounts_file = accounts_file;
  if (have_accounts_db) cfg.accounts_db = accounts_db;
  if (!cfg.accounts_file.empty() && !cfg.accounts_db.empty()) {
    std::cerr << "tosgate serve: give an accounts file or an accounts registry (db), not both\n";
    return 2;
  }
  if (watch) cfg.policies_watch = true;
  if (have_upstream) cfg.upstream_url = upstream;
  if (have_control) {
    cfg.control_listen_set = true;
    cfg.control_listen = control_listen == "off" ? "" : control_listen;
  }
  if (cfg.policies_watch && cfg.policies_dir.empty()) {
    std::cerr << "tosgate serve: --watch needs a policy directory (--policies DIR)\n";
    return 2;
  }

  // Signals are taken by sigwait below, so no other thread may receive them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SystemClock clock;
  // Policy versions uploaded through the admin API. Without --policies the
  // version last activated there is served (the default pack before any).
  if (Status s = EnsureParentDir(cfg.admin_db); !s.ok()) {
    std::cerr << "tosgate: admin db: " << s.message() << "\n";
    return 1;
  }
  auto versions = storage::PolicyVersions::Open(cfg.admin_db, &clock);
  if (!versions.ok()) {
    std::cerr << "tosgate: admin db: " << versions.status().message() << "\n";
    return 1;
  }
  policies::LoadResult loaded;
  auto active = (*versions)->Active();
  if (cfg.policies_dir.empty() && active.ok() && active->has_value()) {
    auto v = (*versions)->Get(**active);
    if (v.ok()) loaded = policies::LoadPolicyFiles(v->files);
    if (!v.ok() || !loaded.snapshot) {
      std::cerr << "tosgate: active policy version " << **active << " does not load\n";
      ReportPolicyErrors(loaded);
      return 2;
    }
    std::cerr << "tosgate: serving policy version " << **active << " from " << cfg.admin_db << "\n";
  } else {
    loaded = LoadPolicySource(cfg.policies_dir);
  }
  if (ReportPolicyErrors(loaded)) return 2;

  engine::MemoryAccountDirectory accounts;
  if (!cfg.accounts_file.empty()) {
    auto list = storage::LoadAccountsJsonl(cfg.accounts_file);
    if (!list.ok()) {
      std::cerr << "tosgate: " << list.status().message() << "\n";
      return 2;
    }
    accounts.Replace(std::move(list).value());
  }
  // The registry is read through a cache: requests never wait for SQLite.
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::AccountsCache> registry_cache;
  if (!cfg.accounts_db.empty()) {
    auto reg = storage::AccountsRegistry::Open({.path = cfg.accounts_db, .create = false});
    if (!reg.ok()) {
      std::cerr << "tosgate: accounts registry: " << reg.status().message() << "\n";
      return 2;
    }
    registry = std::move(reg).value();
    auto cache = storage::AccountsCache::Create(registry.get());
    if (!cache.ok()) {
      std::cerr << "tosgate: accounts registry: " << cache.status().message() << "\n";
      return 2;
    }
    registry_cache = std::move(cache).value();
    registry_cache->StartRefreshing(std::chrono::seconds(cfg.accounts_refresh_seconds));
    const auto st = registry_cache->stats();
    std::cerr << "tosgate: accounts registry " << cfg.accounts_db << ": " << st.accounts
              << " accounts, " << st.keys << " keys (checked for changes every "
              << cfg.accounts_refresh_seconds << "s)\n";
  }
  engine::AccountDirectory* directory =
      registry_cache ? static_cast<engine::AccountDirectory*>(registry_cache.get()) : &accounts;

  // SQLite file or a fleet's PostgreSQL (audit.backend; cli/audit_backend.h).
  auto audit = OpenAuditBackend(cfg);
  if (!audit.ok()) {
    std::cerr << "tosgate: audit store: " << audit.status().message() << "\n";
    return 1;
  }

  // Reviews go to the accounts registry's file when there is one.
  auto reviews = storage::ReviewQueue::Open(cfg.accounts_db.empty() ? cfg.admin_db : cfg.accounts_db, &clock);
  if (!reviews.ok()) {
    std::cerr << "tosgate: review queue: " << reviews.status().message() << "\n";
    return 1;
  }
  // Every decision passes the observer on its way to the audit store:
  // /metrics counts it, and a "review" match queues the account.
  api::admin::AdminMetrics metrics;
  storage::ReviewQueue* review_queue = reviews->get();
  api::admin::ObservingAuditSink observer(
      audit->get(), &metrics, &clock,
      [review_queue](const std::string& account, const std::string& rule, const std::string& detail) {
        auto added = review_queue->Enqueue(account, rule, detail);
        if (!added.ok()) std::cerr << "tosgate: review queue: " << added.status().message() << "\n";
      });
  std::string state_description;
  auto opened_state = OpenStateStore(cfg, &state_description);
  if (!opened_state.ok()) {
    std::cerr << "tosgate: " << opened_state.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<engine::StateStore> state = std::move(*opened_state);
  std::cerr << "tosgate: state: " << state_description << "\n";
  auto clusters = OpenClusterStore(cfg);
  if (!clusters.ok()) {
    std::cerr << "tosgate: " << clusters.status().message() << "\n";
    return 1;
  }
  storage::RedisBehaviorStore* cluster_store = clusters->get();
  // The out-of-path analyzer reads what competitor_training rules log and
  // raises account risk on its own thread (docs/distillation.md).
  engine::FeatureLog feature_log(cfg.analyzer_enabled ? cfg.analyzer_log_capacity : 16);
  // The classifier client of guard rules. Creating it opens nothing: its
  // connections and async threads start with the first call.
  api::HttpGuardOptions guard_opts;
  if (const char* key = std::getenv("TOSGATE_GUARD_API_KEY")) guard_opts.api_key = key;
  std::unique_ptr<engine::GuardClient> guard = api::NewHttpGuardClient(std::move(guard_opts));
  engine::Engine engine({.clock = &clock, .state = state.get(), .audit = &observer,
                         .accounts = directory, .behavior = cluster_store,
                         .feature_log = cfg.analyzer_enabled ? &feature_log : nullptr,
                         .guard = guard.get()});
  engine.Publish(loaded.snapshot);
  engine::AnalyzerOptions analyzer_opts;
  analyzer_opts.window_samples = cfg.analyzer_window;
  analyzer_opts.min_samples = cfg.analyzer_min_samples;
  analyzer_opts.idle_ms = cfg.analyzer_idle_seconds * 1000;
  analyzer_opts.false_positive_rate = cfg.analyzer_false_positive_rate;
  analyzer_opts.max_accounts = cfg.analyzer_max_accounts;
  engine::AnalyzerJob analyzer(&feature_log, &engine.behavior(), &clock, analyzer_opts);
  if (cfg.analyzer_enabled) analyzer.Start(std::chrono::seconds(cfg.analyzer_interval_seconds));

  api::GatewayServerOptions gw_opts;
  gw_opts.listen = cfg.gateway_listen;
  gw_opts.threads = cfg.gateway_threads;
  gw_opts.forward_auth.path_prefix = cfg.path_prefix;
  gw_opts.forward_auth.max_body_bytes = cfg.max_body_bytes;
  gw_opts.upstream_url = cfg.upstream_url;
  gw_opts.control_listen = EffectiveControlListen(cfg);
  gw_opts.control_token_sha256 = cfg.control_token_sha256;
  gw_opts.forward_auth.unreadable_body =
      cfg.unreadable_body == "pass" ? api::UnreadableBody::kPass : api::UnreadableBody::kRefuse;
  gw_opts.forward_auth.trusted_proxies.clear();
  for (const std::string& text : cfg.trusted_proxies) {
    engine::Cidr c;
    if (!engine::ParseCidr(text, &c)) {  // the config file was checked; a flag may not have been
      std::cerr << "tosgate serve: gateway.trusted_proxies: \"" << text << "\" is not a CIDR\n";
      return 2;
    }
    gw_opts.forward_auth.trusted_proxies.push_back(std::move(c));
  }
  gw_opts.header_timeout = std::chrono::milliseconds(cfg.header_timeout_ms);
  gw_opts.max_connections = cfg.max_connections;
  // Synchronous durability: answers wait for their record's commit, on the
  // sink's completion callback rather than a blocked thread.
  if (cfg.audit_durability == "sync") gw_opts.durable_audit = &observer;
  gw_opts.upstream_connect_timeout = std::chrono::milliseconds(cfg.upstream_connect_timeout_ms);
  gw_opts.upstream_response_timeout = std::chrono::milliseconds(cfg.upstream_response_timeout_ms);
  auto gateway = api::GatewayServer::Start(gw_opts, engine);
  if (!gateway.ok()) {
    std::cerr << "tosgate: gateway " << cfg.gateway_listen
              << (gw_opts.control_listen.empty() ? "" : " (control " + gw_opts.control_listen + ")") << ": "
              << gateway.status().message() << "\n";
    return 1;
  }
  api::AdminServerOptions admin_opts;
  admin_opts.listen = cfg.admin_listen;
  admin_opts.threads = cfg.admin_threads;
  admin_opts.max_threads = std::max(cfg.admin_max_threads, cfg.admin_threads);
  admin_opts.request_timeout = std::chrono::milliseconds(cfg.admin_request_timeout_ms);
  admin_opts.max_connections_per_address = cfg.admin_max_connections_per_address;
  admin_opts.max_body_bytes = cfg.admin_max_body_bytes;
  admin_opts.tls_cert = cfg.admin_tls_cert;
  admin_opts.tls_key = cfg.admin_tls_key;
  for (const AdminTokenConfig& t : cfg.admin_tokens) {
    auto role = api::admin::ParseRole(t.role);
    if (!role.ok()) {
      std::cerr << "tosgate: admin token " << t.name << ": " << role.status().message() << "\n";
      (*gateway)->Stop();
      return 2;
    }
    admin_opts.tokens.push_back({t.name, t.sha256, *role});
  }
  api::admin::AdminServices services;
  services.engine = &engine;
  services.clock = &clock;
  services.audit = audit->get();
  services.accounts = directory;
  services.versions = versions->get();
  services.registry = registry.get();
  services.reviews = reviews->get();
  // The decisions endpoints read the SQLite file, or list and export the
  // fleet's PostgreSQL trail (lookup by id and verify: `tosgate audit ...
  // --dsn`, docs/scaling.md).
  services.audit_db = cfg.audit_backend == "postgres" ? "" : cfg.audit_path;
  if (cfg.audit_backend == "postgres")
    services.open_audit_reader = [dsn = cfg.audit_dsn]() -> Result<std::unique_ptr<storage::AuditReadStore>> {
      auto q = storage::PostgresAuditQuery::Open(dsn);
      if (!q.ok()) return q.status();
      return std::unique_ptr<storage::AuditReadStore>(std::move(*q));
    };
  services.metrics = &metrics;
  AuditBackend* audit_sink = audit->get();
  engine::StateStore* state_store = state.get();
  api::GatewayServer* gateway_server = gateway->get();
  services.extra_metrics = [audit_sink, state_store, &observer, &engine, gateway_server, cluster_store,
                            &feature_log, &analyzer] {
    const auto st = audit_sink->stats();
    std::string out;
    auto line = [&out](const char* name, const char* type, const char* help, uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
             name + " " + std::to_string(v) + "\n";
    };
    line("tosgate_audit_queue_depth", "gauge", "Audit records accepted, not yet committed.", st.queue_depth);
    line("tosgate_audit_written_total", "counter", "Audit records committed.", st.written);
    line("tosgate_audit_rejected_full_total", "counter", "Audit records refused: queue full.", st.rejected_full);
    line("tosgate_audit_write_errors_total", "counter", "Failed audit commit attempts.", st.write_errors);
    line("tosgate_state_entries", "gauge", "Keys tracked by the state store.", state_store->entries());
    line("tosgate_state_evictions_total", "counter", "Idle state entries evicted.", state_store->evictions());
    line("tosgate_state_refusals_total", "counter", "New state keys refused: store full of live entries.",
         state_store->refusals());
    line("tosgate_review_dropped_total", "counter", "Review entries dropped: queue full.",
         observer.reviews_dropped());
    line("tosgate_audit_commit_timeouts_total", "counter",
         "Submitters answered Unavailable after commit_timeout.", st.commit_timeouts);
    line("tosgate_audit_recreated_total", "counter",
         "Times the audit file was found deleted or moved and written back.", st.recreated);
    line("tosgate_audit_reconnects_total", "counter",
         "PostgreSQL audit: connections made again after one failed.", st.reconnects);
    const engine::BehaviorStats b = engine.behavior().stats();
    line("tosgate_distill_accounts", "gauge", "Accounts tracked by competitor-training detection.", b.accounts);
    line("tosgate_distill_buckets", "gauge", "Cluster buckets tracked by competitor-training detection.", b.buckets);
    line("tosgate_distill_account_evictions_total", "counter", "Account histories evicted.", b.account_evictions);
    line("tosgate_distill_bucket_evictions_total", "counter", "Cluster buckets evicted.", b.bucket_evictions);
    line("tosgate_distill_account_refusals_total", "counter",
         "New accounts given no history: store full of live ones.", b.account_refusals);
    uint64_t guard_calls = 0, guard_hits = 0, guard_timeouts = 0, guard_errors = 0,
             guard_overloads = 0, guard_fail_open = 0;
    if (auto snap = engine.snapshot())
      for (const auto& rule : snap->rules)
        if (const auto* g = dynamic_cast<const engine::GuardRule*>(rule.get())) {
          const engine::GuardStats& gs = g->stats();
          guard_calls += gs.calls.load(std::memory_order_relaxed);
          guard_hits += gs.cache_hits.load(std::memory_order_relaxed);
          guard_timeouts += gs.timeouts.load(std::memory_order_relaxed);
          guard_errors += gs.errors.load(std::memory_order_relaxed);
          guard_overloads += gs.overloads.load(std::memory_order_relaxed);
          guard_fail_open += gs.fail_open.load(std::memory_order_relaxed);
        }
    line("tosgate_guard_calls_total", "counter", "Guard classifier calls (rules of the current policy).", guard_calls);
    line("tosgate_guard_cache_hits_total", "counter", "Guard verdicts taken from the cache.", guard_hits);
    line("tosgate_guard_timeouts_total", "counter", "Guard calls that timed out.", guard_timeouts);
    line("tosgate_guard_errors_total", "counter", "Guard calls that failed.", guard_errors);
    line("tosgate_guard_overloads_total", "counter", "Guard calls refused: max_concurrency in flight.",
         guard_overloads);
    line("tosgate_guard_fail_open_total", "counter", "Guard failures let through by failure_mode: open.",
         guard_fail_open);
    line("tosgate_account_marks", "gauge", "Accounts flagged by async guard verdicts.", engine.marks().accounts());
    line("tosgate_audit_anchors_total", "counter", "Checkpoints written to audit.anchor.", st.anchors);
    line("tosgate_audit_anchor_errors_total", "counter",
         "Failed writes of audit.anchor (retried after the next commit).", st.anchor_errors);
    line("tosgate_usage_reports_refused_total", "counter",
         "Usage reports refused (out of range, or for a decision the inline proxy relays).",
         engine.counters().usage_reports_refused.load(std::memory_order_relaxed));
    const api::GatewayServerStats g = gateway_server->stats();
    line("tosgate_gateway_open_connections", "gauge", "Gateway connections open.", g.open_connections);
    line("tosgate_gateway_refused_connections_total", "counter",
         "Connections refused over gateway.max_connections.", g.refused_connections);
    line("tosgate_gateway_read_timeouts_total", "counter",
         "Connections closed: a header or body did not arrive in time.", g.read_timeouts);
    line("tosgate_gateway_bad_requests_total", "counter",
         "Requests refused before a decision (malformed, oversized, unreadable, ambiguous) and "
         "usage reports refused.",
         g.bad_requests);
    line("tosgate_upstream_errors_total", "counter", "Inline proxy: 502/504 given or a stream cut by the upstream.",
         g.upstream_errors);
    out += ClusterStoreMetrics(cluster_store);
    const engine::FeatureLogStats fl = feature_log.stats();
    const engine::AnalyzerJobStats an = analyzer.stats();
    line("tosgate_analyzer_samples_dropped_total", "counter",
         "Request feature vectors overwritten before the analyzer read them.", fl.dropped);
    line("tosgate_analyzer_runs_total", "counter", "Traffic analyzer runs.", an.runs);
    line("tosgate_analyzer_tested_total", "counter", "Account windows the analyzer tested.", an.tested);
    line("tosgate_analyzer_flagged_total", "counter", "Account windows the analyzer gave risk.", an.flagged);
    return out;
  };
  services.ready = [&engine](std::string* why) {
    if (engine.snapshot()) return true;
    *why = "no policy loaded";
    return false;
  };
  auto admin = api::AdminServer::Start(admin_opts, std::move(services));
  if (!admin.ok()) {
    std::cerr << "tosgate: admin " << cfg.admin_listen << ": " << admin.status().message() << "\n";
    (*gateway)->Stop();
    return 1;
  }
  PrintBanner(cfg, (*gateway)->port(), gw_opts.control_listen, (*gateway)->control_port(),
              (*admin)->port(), *loaded.snapshot);

  // Reload on SIGHUP, and with --watch whenever inotify says the files
  // changed (cli/policy_reload.h: errors never replace the active set, and a
  // change is loaded once it has held still for a tick).
  PolicyReloader reloader([&cfg] { return LoadPolicySource(cfg.policies_dir); },
                          cfg.policies_watch ? PolicyReloader::Fingerprint([&cfg] {
                            return PolicyDirFingerprint(cfg.policies_dir);
                          })
                                             : nullptr,
                          engine, std::cerr);
  reloader.set_observer([&metrics](bool ok, std::string_view why, const std::string& error) {
    metrics.RecordReload(ok, std::string(why), error);
  });
  PolicyWatcher watcher;
  if (cfg.policies_watch) {
    if (Status s = watcher.Start(cfg.policies_dir); !s.ok()) {
      std::cerr << "tosgate: --watch: " << s.message() << "\n";
      (*gateway)->Stop();
      (*admin)->Stop();
      return 1;
    }
  }
  bool watch_pending = false;
  for (;;) {
    timespec tick{0, 250'000'000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGHUP) {
      reloader.Reload("SIGHUP");
    } else if (sig == SIGINT || sig == SIGTERM) {
      std::cerr << "tosgate: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", draining\n";
      break;
    } else if (cfg.policies_watch) {
      if (watcher.Changed()) watch_pending = true;
      if (watch_pending) {
        reloader.WatchTick();
        watch_pending = reloader.pending();
      }
    }
  }

  // Stop taking connections, let in-flight requests finish, then flush.
  (*gateway)->Stop();
  (*admin)->Stop();
  analyzer.Stop();
  Status closed = (*audit)->Close();
  auto stats = (*audit)->stats();
  std::cerr << "tosgate: stopped; " << stats.written << " decisions recorded";
  if (!closed.ok()) std::cerr << "; audit: " << closed.message();
  std::cerr << "; state: " << state->entries() << " tracked keys, " << state->evictions()
            << " evicted; " << engine.admissions().size() << " open reservations, "
            << engine.admissions().dropped() << " dropped\n";
  return closed.ok() ? 0 : 1;
}

}  // namespace tosgate::cli
