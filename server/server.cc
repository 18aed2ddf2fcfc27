#include "server/server.h"

#include <algorithm>
#include <cstdlib>

#include "api/admin/admin_server.h"
#include "api/admin/metrics.h"
#include "api/admin/review_observer.h"
#include "api/admin/taxii_indicators.h"
#include "api/gateway/gateway_server.h"
#include "api/guard/http_guard_client.h"
#include "engine/distill/analyzer_job.h"
#include "engine/engine.h"
#include "metrics/registry.h"
#include "server/access_log.h"
#include "server/audit_backend.h"
#include "storage/sqlite/parent_dir.h"
#include "server/policy_reload.h"
#include "server/policy_source.h"
#include "server/policy_watch.h"
#include "server/process_metrics.h"
#include "server/taxii_poller.h"
#include "server/state_backend.h"
#include "storage/accounts/cache.h"
#include "storage/accounts/file.h"
#include "storage/accounts/registry.h"
#include "storage/admin/policy_versions.h"
#include "storage/audit/postgres/query.h"
#include "storage/admin/review_queue.h"

namespace tosgate::server {

// Everything the process holds, declared in the order it is built: members
// are destroyed in reverse, so the admin server (the only reader of the
// registry) and the gateway stop before what they use goes away.
struct Server::Parts {
  Parts(const ServeConfig& c, std::ostream& l) : cfg(c), log(l) {}

  Status OpenPolicies();
  Status OpenAccounts();
  Status OpenAudit();
  Status BuildEngine();
  Status StartGateway();
  Status StartAdmin();
  Status StartReload();
  Status StartIndicators();
  void RegisterMetrics();
  // The sink the engine records every decision into, and the one the
  // gateway waits on with sync durability: the same object, named once.
  // With log.access, the access log sees it first (server/access_log.h).
  engine::AuditSink* DecisionSink() {
    return access_log ? static_cast<engine::AuditSink*>(access_log.get()) : observer.get();
  }

  ServeConfig cfg;
  std::ostream& log;
  SystemClock clock;
  std::unique_ptr<storage::PolicyVersions> versions;
  policies::LoadResult loaded;
  engine::MemoryAccountDirectory accounts;
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::AccountsCache> registry_cache;  // requests never wait for SQLite
  std::unique_ptr<AuditBackend> audit;
  std::unique_ptr<storage::ReviewQueue> reviews;
  api::admin::AdminMetrics admin_metrics;
  std::unique_ptr<api::admin::ObservingAuditSink> observer;
  std::unique_ptr<AccessLogSink> access_log;
  std::unique_ptr<StateBackend> state;
  std::unique_ptr<engine::FeatureLog> feature_log;
  std::unique_ptr<engine::GuardClient> guard;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<engine::AnalyzerJob> analyzer;
  std::unique_ptr<api::GatewayServer> gateway;
  metrics::Registry metrics;
  // indicators.export (what /v1/admin/indicators/export and /taxii2/ serve)
  // and the partners' TAXII collections polled into feeds.
  std::unique_ptr<api::admin::IndicatorExportOptions> indicator_export;
  std::vector<std::unique_ptr<TaxiiPoller>> pollers;
  std::unique_ptr<api::AdminServer> admin;
  std::unique_ptr<PolicyReloader> reloader;
  PolicyWatcher watcher;
  bool watch_pending = false;
  // Folders of the local files the policy set imports from outside its
  // directory (`imports: [{path: ...}]`): --watch watches them too. Updated
  // by each load, on the thread that ticks.
  std::shared_ptr<std::vector<std::string>> imported_dirs = std::make_shared<std::vector<std::string>>();

  engine::AccountDirectory* directory() {
    return registry_cache ? static_cast<engine::AccountDirectory*>(registry_cache.get()) : &accounts;
  }
};

// Policy versions uploaded through the admin API. Without a policy
// directory the version last activated there is served (the default pack
// before any).
Status Server::Parts::OpenPolicies() {
  if (Status s = storage::EnsureParentDir(cfg.admin_db); !s.ok()) return Status::IoError("admin db: " + s.message());
  auto v = storage::PolicyVersions::Open(cfg.admin_db, &clock);
  if (!v.ok()) return Status::IoError("admin db: " + v.status().message());
  versions = std::move(v).value();
  auto active = versions->Active();
  if (cfg.policies_dir.empty() && active.ok() && active->has_value()) {
    auto version = versions->Get(**active);
    if (version.ok()) loaded = policies::LoadPolicyFiles(version->files, PolicyLoadOptions());
    if (!version.ok() || !loaded.snapshot) {
      log << "tosgate: active policy version " << **active << " does not load\n";
      ReportPolicyErrors(loaded, log);
      return Status::InvalidArgument("");
    }
    log << "tosgate: serving policy version " << **active << " from " << cfg.admin_db << "\n";
  } else {
    loaded = LoadPolicySource(cfg.policies_dir);
    *imported_dirs = ImportedDirs(cfg.policies_dir, loaded);
  }
  if (ReportPolicyErrors(loaded, log)) return Status::InvalidArgument("");
  return Status::Ok();
}

Status Server::Parts::OpenAccounts() {
  if (!cfg.accounts_file.empty()) {
    auto list = storage::LoadAccountsJsonl(cfg.accounts_file);
    if (!list.ok()) return Status::InvalidArgument(list.status().message());
    accounts.Replace(std::move(list).value());
  }
  if (cfg.accounts_db.empty()) return Status::Ok();
  auto reg = storage::AccountsRegistry::Open({.path = cfg.accounts_db, .create = false});
  if (!reg.ok()) return Status::InvalidArgument("accounts registry: " + reg.status().message());
  registry = std::move(reg).value();
  auto cache = storage::AccountsCache::Create(registry.get());
  if (!cache.ok()) return Status::InvalidArgument("accounts registry: " + cache.status().message());
  registry_cache = std::move(cache).value();
  registry_cache->StartRefreshing(cfg.accounts_refresh);
  const auto st = registry_cache->stats();
  log << "tosgate: accounts registry " << cfg.accounts_db << ": " << st.accounts << " accounts, " << st.keys
      << " keys (checked for changes every " << cfg.accounts_refresh.count() << "s)\n";
  return Status::Ok();
}

// The audit store (server/audit_backend.h), the review queue, and the
// observer every decision passes on its way to the store: /metrics counts
// it, and a "review" match queues the account.
Status Server::Parts::OpenAudit() {
  auto opened = OpenAuditBackend(cfg);
  if (!opened.ok()) return Status::Unavailable("audit store: " + opened.status().message());
  audit = std::move(opened).value();
  // Reviews go to the accounts registry's file when there is one.
  auto q = storage::ReviewQueue::Open(cfg.accounts_db.empty() ? cfg.admin_db : cfg.accounts_db, &clock);
  if (!q.ok()) return Status::Unavailable("review queue: " + q.status().message());
  reviews = std::move(q).value();
  storage::ReviewQueue* review_queue = reviews.get();
  std::ostream* out = &log;
  observer = std::make_unique<api::admin::ObservingAuditSink>(
      audit.get(), &admin_metrics, &clock,
      [review_queue, out](const std::string& account, const std::string& rule, const std::string& detail) {
        auto added = review_queue->Enqueue(account, rule, detail);
        if (!added.ok()) *out << "tosgate: review queue: " << added.status().message() << "\n";
      });
  if (cfg.log_access) access_log = std::make_unique<AccessLogSink>(observer.get(), cfg.log_access_sample);
  return Status::Ok();
}

// The state backend, the engine over it, and the out-of-path analyzer that
// reads what competitor_training rules log and raises account risk on its
// own thread (docs/distillation.md).
Status Server::Parts::BuildEngine() {
  auto opened = StateBackend::Open(cfg);
  if (!opened.ok()) return opened.status();
  state = std::move(opened).value();
  log << "tosgate: state: " << state->description() << "\n";
  feature_log = std::make_unique<engine::FeatureLog>(cfg.analyzer_enabled ? cfg.analyzer_log_capacity : 16);
  // The classifier client of guard rules. Creating it opens nothing: its
  // connections and async threads start with the first call.
  api::HttpGuardOptions guard_opts;
  if (const char* key = std::getenv("TOSGATE_GUARD_API_KEY")) guard_opts.api_key = key;
  guard = api::NewHttpGuardClient(std::move(guard_opts));
  engine = std::make_unique<engine::Engine>(engine::EngineOptions{
      .clock = &clock, .state = state->store(), .audit = DecisionSink(), .accounts = directory(),
      .behavior = state->clusters(), .feature_log = cfg.analyzer_enabled ? feature_log.get() : nullptr,
      .guard = guard.get()});
  engine->Publish(loaded.snapshot);
  engine::AnalyzerOptions o;
  o.window_samples = cfg.analyzer_window;
  o.min_samples = cfg.analyzer_min_samples;
  o.idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.analyzer_idle).count();
  o.false_positive_rate = cfg.analyzer_false_positive_rate;
  o.max_accounts = cfg.analyzer_max_accounts;
  analyzer = std::make_unique<engine::AnalyzerJob>(feature_log.get(), &engine->behavior(), &clock, o);
  if (cfg.analyzer_enabled) analyzer->Start(cfg.analyzer_interval);
  return Status::Ok();
}

Status Server::Parts::StartGateway() {
  api::GatewayServerOptions o;
  o.listen = cfg.gateway_listen;
  o.threads = cfg.gateway_threads;
  o.forward_auth.path_prefix = cfg.path_prefix;
  o.forward_auth.max_body_bytes = cfg.max_body_bytes;
  o.forward_auth.unreadable_body = cfg.unreadable_body;
  o.forward_auth.trusted_proxies = cfg.trusted_proxies;
  o.upstream_url = cfg.upstream_url;
  o.control_listen = EffectiveControlListen(cfg);
  o.control_token_sha256 = cfg.control_token_sha256;
  o.header_timeout = cfg.header_timeout;
  o.max_connections = cfg.max_connections;
  // Synchronous durability: answers wait for their record's commit, on the
  // sink's completion callback rather than a blocked thread.
  if (cfg.audit_durability == AuditDurability::kSync) o.durable_audit = DecisionSink();
  o.upstream_connect_timeout = cfg.upstream_connect_timeout;
  o.upstream_response_timeout = cfg.upstream_response_timeout;
  auto started = api::GatewayServer::Start(o, *engine);
  if (!started.ok())
    return Status::Unavailable("gateway " + cfg.gateway_listen +
                               (o.control_listen.empty() ? "" : " (control " + o.control_listen + ")") + ": " +
                               started.status().message());
  gateway = std::move(started).value();
  return Status::Ok();
}

Status Server::Parts::StartAdmin() {
  api::AdminServerOptions o;
  o.listen = cfg.admin_listen;
  o.threads = cfg.admin_threads;
  o.max_threads = std::max(cfg.admin_max_threads, cfg.admin_threads);
  o.request_timeout = cfg.admin_request_timeout;
  o.max_connections_per_address = cfg.admin_max_connections_per_address;
  o.max_body_bytes = cfg.admin_max_body_bytes;
  o.tls_cert = cfg.admin_tls_cert;
  o.tls_key = cfg.admin_tls_key;
  o.tokens = cfg.admin_tokens;
  api::admin::AdminServices s;
  s.engine = engine.get();
  s.clock = &clock;
  s.audit = audit.get();
  s.accounts = directory();
  s.versions = versions.get();
  s.packs = PolicyLoadOptions().packs;
  s.registry = registry.get();
  s.reviews = reviews.get();
  // The decisions endpoints read the SQLite file, or list and export the
  // fleet's PostgreSQL trail (lookup by id and verify: `tosgate audit ...
  // --dsn`, docs/scaling.md).
  const bool postgres = cfg.audit_backend == AuditBackendKind::kPostgres;
  s.audit_db = postgres ? "" : cfg.audit_path;
  if (postgres)
    s.open_audit_reader = [dsn = cfg.audit_dsn]() -> Result<std::unique_ptr<storage::AuditReadStore>> {
      auto q = storage::PostgresAuditQuery::Open(dsn);
      if (!q.ok()) return q.status();
      return std::unique_ptr<storage::AuditReadStore>(std::move(*q));
    };
  s.backtest_capture = cfg.admin_backtest_capture;
  s.metrics = &admin_metrics;
  s.metrics_registry = &metrics;
  s.indicators = indicator_export.get();
  const engine::Engine* e = engine.get();
  s.ready = [e](std::string* why) {
    if (e->snapshot()) return true;
    *why = "no policy loaded";
    return false;
  };
  auto started = api::AdminServer::Start(o, std::move(s));
  if (!started.ok()) return Status::Unavailable("admin " + cfg.admin_listen + ": " + started.status().message());
  admin = std::move(started).value();
  return Status::Ok();
}

// Every component's stats, registered once; a name registered twice is a
// bug caught here, at start-up.
void Server::Parts::RegisterMetrics() {
  admin_metrics.Register(&metrics, engine.get());
  RegisterAuditMetrics(audit.get(), &metrics);
  state->RegisterMetrics(&metrics);
  const api::admin::ObservingAuditSink* obs = observer.get();
  metrics.Counter("tosgate_review_dropped_total", "Review entries dropped: queue full.",
                  [obs] { return obs->reviews_dropped(); });
  RegisterEngineMetrics(engine.get(), &metrics);
  RegisterGatewayMetrics(gateway.get(), &metrics);
  RegisterAnalyzerMetrics(feature_log.get(), analyzer.get(), &metrics);
}

// Reload on SIGHUP, and with policies.watch whenever inotify says the files
// changed (server/policy_reload.h: errors never replace the active set, and
// a change is loaded once it has held still for a tick).
Status Server::Parts::StartReload() {
  const std::string dir = cfg.policies_dir;
  PolicyReloader::Fingerprint fingerprint;
  std::shared_ptr<std::vector<std::string>> imported = imported_dirs;
  if (cfg.policies_watch)
    fingerprint = [dir, imported] {
      std::string print = PolicyDirFingerprint(dir);
      for (const std::string& d : *imported) print += FolderFingerprint(d);
      return print;
    };
  reloader = std::make_unique<PolicyReloader>(
      [dir, imported] {
        policies::LoadResult r = LoadPolicySource(dir);
        *imported = ImportedDirs(dir, r);
        return r;
      },
      std::move(fingerprint), *engine, log);
  api::admin::AdminMetrics* m = &admin_metrics;
  reloader->set_observer([m](bool ok, std::string_view why, const std::string& error) {
    m->RecordReload(ok, std::string(why), error);
  });
  if (!cfg.policies_watch) return Status::Ok();
  if (Status s = watcher.Start(cfg.policies_dir); !s.ok()) return Status::Unavailable("--watch: " + s.message());
  for (const std::string& d : *imported_dirs) watcher.Also(d);
  return Status::Ok();
}

// Sharing campaign indicators (docs/indicators.md): the export's options
// from indicators.export, and one TAXII poller per indicators.sources entry,
// each on its own thread, filling the feed of its name.
Status Server::Parts::StartIndicators() {
  const IndicatorsServeConfig& ic = cfg.indicators;
  if (ic.publish.enabled) {
    auto o = std::make_unique<api::admin::IndicatorExportOptions>();
    if (!ic.publish.key_file.empty()) {
      Result<std::string> key = ReadSecretFile(ic.publish.key_file);
      if (!key.ok()) return Status::InvalidArgument("indicators.export.key_file: " + key.status().message());
      if (key->size() < 16) return Status::InvalidArgument("indicators.export.key_file: a partners' key needs at least 16 bytes");
      o->key = *key;
    }
    o->rule = ic.publish.rule;
    o->min_risk = ic.publish.min_risk;
    o->min_range_accounts = ic.publish.min_range_accounts;
    o->confidence = ic.publish.confidence;
    o->stix.producer = ic.publish.producer;
    o->stix.tlp = ic.publish.tlp;
    o->stix.valid_for_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ic.publish.valid_for).count();
    o->taxii_refresh_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ic.publish.refresh).count();
    indicator_export = std::move(o);
  }
  std::ostream* out = &log;
  for (const TaxiiSourceConfig& src : ic.sources) {
    std::string token;
    if (!src.token_file.empty()) {
      Result<std::string> t = ReadSecretFile(src.token_file);
      if (!t.ok()) return Status::InvalidArgument("indicators.sources " + src.name + ": token_file: " + t.status().message());
      token = *t;
    }
    pollers.push_back(std::make_unique<TaxiiPoller>(src, std::move(token), &clock,
                                                    [out](const std::string& line) { *out << line << "\n"; }));
    pollers.back()->Start();
  }
  return Status::Ok();
}

Result<std::unique_ptr<Server>> Server::Start(const ServeConfig& cfg, std::ostream& log) {
  auto p = std::make_unique<Parts>(cfg, log);
  Status s = p->OpenPolicies();
  if (s.ok()) s = p->OpenAccounts();
  if (s.ok()) s = p->OpenAudit();
  if (s.ok()) s = p->BuildEngine();
  if (s.ok()) s = p->StartGateway();
  if (s.ok()) {
    // Before the admin server starts: it is the registry's reader.
    p->RegisterMetrics();
    s = p->metrics.status();
  }
  if (s.ok()) s = p->StartIndicators();
  if (s.ok()) s = p->StartAdmin();
  if (s.ok()) s = p->StartReload();
  if (!s.ok()) {
    // The policy diagnostics were written already; other failures are one line.
    if (!s.message().empty()) log << "tosgate: " << s.message() << "\n";
    return s;  // the parts stop and close as they are destroyed
  }
  return std::unique_ptr<Server>(new Server(std::move(p)));
}

Server::Server(std::unique_ptr<Parts> parts) : p_(std::move(parts)) {}
Server::~Server() = default;

int Server::gateway_port() const { return p_->gateway->port(); }
int Server::control_port() const { return p_->gateway->control_port(); }
int Server::admin_port() const { return p_->admin->port(); }
const engine::Engine& Server::engine() const { return *p_->engine; }
const metrics::Registry& Server::metrics() const { return p_->metrics; }

void Server::Reload(std::string_view why) { p_->reloader->Reload(why); }

void Server::Tick() {
  if (!p_->cfg.policies_watch) return;
  if (p_->watcher.Changed()) p_->watch_pending = true;
  if (p_->watch_pending) {
    p_->reloader->WatchTick();
    p_->watch_pending = p_->reloader->pending();
    for (const std::string& d : *p_->imported_dirs) p_->watcher.Also(d);
  }
}

Status Server::Stop() {
  p_->gateway->Stop();
  p_->admin->Stop();
  p_->analyzer->Stop();
  for (auto& poller : p_->pollers) poller->Stop();
  Status closed = p_->audit->Close();
  const AuditBackendStats stats = p_->audit->stats();
  const engine::StateStore* state = p_->state->store();
  p_->log << "tosgate: stopped; " << stats.written << " decisions recorded";
  if (!closed.ok()) p_->log << "; audit: " << closed.message();
  p_->log << "; state: " << state->entries() << " tracked keys, " << state->evictions() << " evicted; "
          << p_->engine->admissions().size() << " open reservations, " << p_->engine->admissions().dropped()
          << " dropped\n";
  return closed;
}

}  // namespace tosgate::server
