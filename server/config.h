// The `serve` configuration, typed: defaults that work with no file at all,
// and a strict YAML loader for when one is given (unknown keys are errors,
// and every error names the key with its line and column).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/admin/auth.h"
#include "api/request/forward_auth.h"
#include "engine/condition.h"
#include "server/indicators_config.h"
#include "server/logging.h"

namespace tosgate::server {

// audit.durability: sync answers wait for their record's commit.
enum class AuditDurability { kSync, kAsync };
// audit.backend: one SQLite file, or a fleet's shared PostgreSQL trail.
enum class AuditBackendKind { kSqlite, kPostgres };
// state.backend: limits kept in this process, or shared through Redis.
enum class StateBackendKind { kMemory, kRedis };

std::string_view DurabilityName(AuditDurability d);  // "sync" | "async"

struct ServeConfig {
  using Millis = std::chrono::milliseconds;
  using Seconds = std::chrono::seconds;

  std::string gateway_listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:9090";
  std::string policies_dir;  // empty: the default pack built into the binary
  bool policies_watch = false;
  // audit (docs/scaling.md for postgres, docs/audit.md for checkpoints).
  AuditBackendKind audit_backend = AuditBackendKind::kSqlite;
  AuditDurability audit_durability = AuditDurability::kSync;
  std::string audit_path = "var/tosgate.db";
  std::string audit_signing_key;          // PEM Ed25519 private key; empty: no checkpoints
  uint64_t audit_checkpoint_every = 1000;
  bool audit_truncate_client_ip = false;
  std::string audit_dsn;                  // postgres: libpq DSN; required with postgres
  std::string audit_instance;             // postgres: this gateway's id; empty: <hostname>:<gateway port>
  std::string audit_anchor;               // file the latest checkpoint is also written to; empty: none
  std::string accounts_file;              // optional accounts JSON Lines
  std::string accounts_db;                // optional accounts registry (SQLite)
  Seconds accounts_refresh{5};            // how often the registry is checked for changes
  // state
  StateBackendKind state_backend = StateBackendKind::kMemory;
  size_t state_max_entries = 1'000'000;
  std::string state_url = "redis://127.0.0.1:6379";
  std::string state_prefix = "tosgate:";
  Millis state_timeout{50};               // per Redis call; slower is a failure
  int state_connections = 4;
  double state_fallback_share = 0;        // > 0: while Redis is down, admit this share locally
  Millis state_cluster_sync{200};         // redis: competitor-training cluster counts synced this often
  // gateway
  int gateway_threads = 0;                // 0: one per core
  size_t max_body_bytes = 1 << 20;
  std::string path_prefix = "/v1/check";
  Millis header_timeout{10000};           // a request's whole header, then closed
  size_t max_connections = 10000;         // open client connections; 0: no limit
  std::string upstream_url;               // inline proxy mode when set
  // The control listener (checks and usage reports, off the client path).
  // Unset: 127.0.0.1:8081 in inline mode, none in forward-auth mode; "" (the
  // config's "off"): none in either (docs/cli.md).
  std::optional<std::string> control_listen;
  std::string control_token_sha256;       // hex SHA-256; required on /v1/usage when set
  // Peers whose forwarding and identity headers count.
  std::vector<engine::Cidr> trusted_proxies = api::LoopbackProxies();
  api::UnreadableBody unreadable_body = api::UnreadableBody::kRefuse;
  Millis upstream_connect_timeout{5000};
  Millis upstream_response_timeout{60000};
  // admin: tokens, TLS, the policy versions store (docs/admin-api.md).
  std::vector<api::admin::TokenSpec> admin_tokens;
  std::string admin_tls_cert;
  std::string admin_tls_key;
  std::string admin_db = "var/admin.db";  // policy versions; review queue without a registry
  size_t admin_max_body_bytes = 4 << 20;
  int admin_threads = 4;
  int admin_max_threads = 64;             // more workers start while all are busy
  Millis admin_request_timeout{10000};    // a request's header and body, then closed
  size_t admin_max_connections_per_address = 16;
  std::string admin_backtest_capture;      // recorded traffic for policy backtests; "": none
  // analyzer: the out-of-path traffic analyzer (docs/distillation.md).
  bool analyzer_enabled = true;
  Seconds analyzer_interval{60};          // how often it runs
  int analyzer_window = 32;               // an account's most recent requests tested
  int analyzer_min_samples = 8;           // fewer: not tested yet
  Seconds analyzer_idle{6 * 3600};        // an account silent this long is forgotten
  double analyzer_false_positive_rate = 0.003;
  size_t analyzer_log_capacity = 1 << 18; // requests logged between runs (48 bytes each)
  size_t analyzer_max_accounts = 200'000;
  // log (server/logging.h, docs/install.md "Logs"): the format of stderr's
  // lines, the lowest level written, the per-decision access log.
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;
  bool log_access = false;
  double log_access_sample = 1;           // share of allowed decisions logged; others always
  // indicators: publishing confirmed campaigns, polling partners' TAXII
  // collections (server/indicators_config.h, docs/indicators.md).
  IndicatorsServeConfig indicators;
};

// The control listener `serve` opens for `cfg`: control_listen when it was
// set ("" for "off"), else the default of the mode.
std::string EffectiveControlListen(const ServeConfig& cfg);

// One problem in a configuration file, where it is.
struct ConfigError {
  std::string file;
  std::string key;   // "audit.dsn", "admin.tokens[0].role"; empty for a YAML syntax error
  int line = 0;      // 1-based; 0 when the file could not be read at all
  int column = 0;
  std::string message;
  // "file:line:column: key: message" (docs/configuration.md).
  std::string ToString() const;
};

// Reads `path` into `cfg`, keeping defaults for keys it does not set.
// Returns every problem found; empty when the file was taken.
std::vector<ConfigError> LoadServeConfig(const std::string& path, ServeConfig* cfg);

}  // namespace tosgate::server
