// The `serve` configuration: defaults that work with no file at all, and a
// strict YAML loader for when one is given (unknown keys are errors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tosgate::cli {

struct AdminTokenConfig {
  std::string name;
  std::string sha256;  // hex SHA-256 of the token
  std::string role;    // admin | policy-author | auditor | viewer
};

struct ServeConfig {
  std::string gateway_listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:9090";
  std::string policies_dir;  // empty: the default pack built into the binary
  bool policies_watch = false;
  std::string audit_path = "var/tosgate.db";
  std::string audit_durability = "sync";  // sync | async
  std::string audit_signing_key;          // PEM Ed25519 private key; empty: no checkpoints
  uint64_t audit_checkpoint_every = 1000;
  bool audit_truncate_client_ip = false;
  std::string audit_backend = "sqlite";   // sqlite | postgres (a fleet's shared trail)
  std::string audit_dsn;                  // postgres: libpq DSN; required with postgres
  std::string audit_instance;             // postgres: this gateway's id; empty: <hostname>:<gateway port>
  std::string audit_anchor;               // file the latest checkpoint is also written to; empty: none
  std::string accounts_file;              // optional accounts JSON Lines
  std::string accounts_db;                // optional accounts registry (SQLite)
  int accounts_refresh_seconds = 5;       // how often the registry is checked for changes
  size_t state_max_entries = 1'000'000;
  std::string state_backend = "memory";   // memory | redis
  std::string state_url = "redis://127.0.0.1:6379";
  std::string state_prefix = "tosgate:";
  int64_t state_timeout_ms = 50;          // per Redis call; slower is a failure
  int state_connections = 4;
  double state_fallback_share = 0;        // > 0: while Redis is down, admit this share locally
  int64_t state_cluster_sync_ms = 200;    // redis: competitor-training cluster counts synced this often
  int gateway_threads = 0;                // 0: one per core
  size_t max_body_bytes = 1 << 20;
  std::string path_prefix = "/v1/check";
  int64_t header_timeout_ms = 10000;      // a request's whole header, then closed
  size_t max_connections = 10000;         // open client connections; 0: no limit
  std::string upstream_url;               // inline proxy mode when set
  // The control listener (checks and usage reports, off the client path).
  // Unset: 127.0.0.1:8081 in inline mode, none in forward-auth mode; "off":
  // none in either (docs/cli.md).
  std::string control_listen;
  bool control_listen_set = false;
  std::string control_token_sha256;       // hex SHA-256; required on /v1/usage when set
  // Peers whose forwarding and identity headers count (CIDRs, validated).
  std::vector<std::string> trusted_proxies = {"127.0.0.0/8", "::1/128"};
  std::string unreadable_body = "refuse";  // refuse | pass
  int64_t upstream_connect_timeout_ms = 5000;
  int64_t upstream_response_timeout_ms = 60000;
  // admin: tokens, TLS, the policy versions store (docs/admin-api.md).
  std::vector<AdminTokenConfig> admin_tokens;
  std::string admin_tls_cert;
  std::string admin_tls_key;
  std::string admin_db = "var/admin.db";  // policy versions; review queue without a registry
  size_t admin_max_body_bytes = 4 << 20;
  int admin_threads = 4;
  int admin_max_threads = 64;                    // more workers start while all are busy
  int64_t admin_request_timeout_ms = 10000;      // a request's header and body, then closed
  size_t admin_max_connections_per_address = 16;
  // analyzer: the out-of-path traffic analyzer (docs/distillation.md).
  bool analyzer_enabled = true;
  int64_t analyzer_interval_seconds = 60;   // how often it runs
  int analyzer_window = 32;                 // an account's most recent requests tested
  int analyzer_min_samples = 8;             // fewer: not tested yet
  int64_t analyzer_idle_seconds = 6 * 3600; // an account silent this long is forgotten
  double analyzer_false_positive_rate = 0.003;
  size_t analyzer_log_capacity = 1 << 18;   // requests logged between runs (48 bytes each)
  size_t analyzer_max_accounts = 200'000;
};

// The control listener `serve` opens for `cfg`: control_listen when it was
// set ("" for "off"), else the default of the mode.
std::string EffectiveControlListen(const ServeConfig& cfg);

// Reads `path` into `cfg`, keeping defaults for keys it does not set.
// Returns every problem as "file:line:column: key: message".
std::vector<std::string> LoadServeConfig(const std::string& path, ServeConfig* cfg);

}  // namespace tosgate::cli
