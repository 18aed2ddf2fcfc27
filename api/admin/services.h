// What the admin API's handlers work with. Everything optional may be null:
// its endpoints then answer 503 `not-configured` (e.g. accounts without a
// registry). Owned by the embedding program; must outlive the AdminServer.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "api/admin/metrics.h"
#include "engine/accounts.h"
#include "engine/audit_sink.h"
#include "engine/engine.h"
#include "tosgate/clock.h"
#include "tosgate/status.h"
#include "policies/pack_resolver.h"

namespace tosgate::storage {
class AccountsRegistry;
class AuditReadStore;
class PolicyVersions;
class ReviewQueue;
}  // namespace tosgate::storage

namespace tosgate::api::admin {

struct IndicatorExportOptions;  // api/admin/taxii_indicators.h

struct AdminServices {
  engine::Engine* engine = nullptr;  // required
  const Clock* clock = nullptr;      // required: backoff, event times
  // Admin events (operation "admin.<action>", effect "admin") go here.
  engine::AuditSink* audit = nullptr;
  // The directory the gateway resolves keys with, for /evaluate.
  const engine::AccountDirectory* accounts = nullptr;
  storage::PolicyVersions* versions = nullptr;
  // Resolves `imports: [{pack: NAME}]` in uploaded bundles; null: none.
  const policies::PackResolver* packs = nullptr;
  storage::AccountsRegistry* registry = nullptr;
  storage::ReviewQueue* reviews = nullptr;
  std::string audit_db;  // the audit store's file, for /decisions; "" when none
  // Opens a reader of another audit store (a fleet's PostgreSQL) for the
  // decisions query and export; empty: they read `audit_db`. Looking one
  // decision up by id and verify stay with `audit_db` (`tosgate audit
  // verify --dsn` checks a PostgreSQL trail).
  std::function<Result<std::unique_ptr<storage::AuditReadStore>>()> open_audit_reader;
  AdminMetrics* metrics = nullptr;
  // The process's metrics registry, /metrics as a whole (AdminMetrics
  // registered in it among the rest); null: /metrics shows only `metrics`.
  const metrics::Registry* metrics_registry = nullptr;
  // Sharing campaign indicators: the HMAC key, producer, TLP of
  // /v1/admin/indicators/export; null: it answers 503 not-configured.
  const IndicatorExportOptions* indicators = nullptr;
  // /readyz: the program says whether it is ready (may be empty).
  std::function<bool(std::string*)> ready;
  // The recorded traffic POST /v1/admin/policies/backtest replays (a capture
  // file, docs/replay.md); "": that endpoint answers 503 not-configured.
  std::string backtest_capture;
};

}  // namespace tosgate::api::admin
