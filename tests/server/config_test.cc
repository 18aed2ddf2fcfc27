// serve's typed configuration (server/config.h): names become enums and
// durations, and every error names the key at its line and column.
#include <doctest/doctest.h>

#include <fstream>

#include "server/config.h"
#include "tests/storage/temp_dir.h"

namespace tosgate::server {
namespace {

std::string Write(const test::TempDir& dir, const std::string& yaml) {
  const std::string path = dir.path() + "/serve.yaml";
  std::ofstream(path) << yaml;
  return path;
}

TEST_CASE("config: the defaults need no file") {
  ServeConfig cfg;
  CHECK(cfg.audit_backend == AuditBackendKind::kSqlite);
  CHECK(cfg.audit_durability == AuditDurability::kSync);
  CHECK(cfg.state_backend == StateBackendKind::kMemory);
  CHECK(cfg.unreadable_body == api::UnreadableBody::kRefuse);
  REQUIRE(cfg.trusted_proxies.size() == 2);  // loopback, v4 and v6
  CHECK(EffectiveControlListen(cfg).empty());
  cfg.upstream_url = "http://127.0.0.1:9";
  CHECK(EffectiveControlListen(cfg) == "127.0.0.1:8081");
  cfg.control_listen = "";  // "off"
  CHECK(EffectiveControlListen(cfg).empty());
}

TEST_CASE("config: names are read into enums, durations and typed lists") {
  test::TempDir dir;
  ServeConfig cfg;
  auto errors = LoadServeConfig(Write(dir,
      "audit: {backend: postgres, dsn: 'host=db', durability: async}\n"
      "state: {backend: redis, timeout_ms: 75, cluster_sync_ms: 500}\n"
      "gateway: {unreadable_body: pass, header_timeout_ms: 1500, trusted_proxies: [10.0.0.0/8],\n"
      "          control_listen: 'off'}\n"
      "accounts: {refresh_seconds: 9}\n"
      "admin:\n  tokens:\n    - {name: ops, role: auditor, sha256: " + std::string(64, 'a') + "}\n"),
      &cfg);
  for (const ConfigError& e : errors) MESSAGE(e.ToString());
  REQUIRE(errors.empty());
  CHECK(cfg.audit_backend == AuditBackendKind::kPostgres);
  CHECK(cfg.audit_durability == AuditDurability::kAsync);
  CHECK(cfg.state_backend == StateBackendKind::kRedis);
  CHECK(cfg.state_timeout == std::chrono::milliseconds(75));
  CHECK(cfg.state_cluster_sync == std::chrono::milliseconds(500));
  CHECK(cfg.unreadable_body == api::UnreadableBody::kPass);
  CHECK(cfg.header_timeout == std::chrono::milliseconds(1500));
  REQUIRE(cfg.trusted_proxies.size() == 1);
  CHECK(cfg.trusted_proxies[0].text == "10.0.0.0/8");
  CHECK(cfg.control_listen == std::optional<std::string>(""));
  CHECK(cfg.accounts_refresh == std::chrono::seconds(9));
  REQUIRE(cfg.admin_tokens.size() == 1);
  CHECK(cfg.admin_tokens[0].role == api::admin::Role::kAuditor);
  CHECK(DurabilityName(cfg.audit_durability) == "async");
}

TEST_CASE("config: each error names the key with its line and column") {
  test::TempDir dir;
  ServeConfig cfg;
  const std::string path = Write(dir,
      "audit: {backend: mysql}\n"
      "state:\n  timeout_ms: 0\n  colour: red\n"
      "admin:\n  tokens:\n    - {name: ops, role: root, sha256: " + std::string(64, 'a') + "}\n");
  auto errors = LoadServeConfig(path, &cfg);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].key == "audit.backend");
  CHECK(errors[0].line == 1);
  CHECK(errors[0].column == 18);
  CHECK(errors[0].message == "must be one of sqlite, postgres");
  CHECK(errors[0].ToString() == path + ":1:18: audit.backend: must be one of sqlite, postgres");
  CHECK(errors[1].key == "state.timeout_ms");
  CHECK(errors[1].line == 3);
  CHECK(errors[1].column == 15);
  CHECK(errors[1].message == "must be at least 1");
  CHECK(errors[2].key == "state.colour");
  CHECK(errors[2].line == 4);
  CHECK(errors[2].column == 3);
  CHECK(errors[2].message == "unknown key");
  CHECK(errors[3].key == "admin.tokens[0].role");
  CHECK(errors[3].line == 7);
  CHECK(errors[3].message == "must be one of admin, policy-author, auditor, viewer");
  // What was wrong kept its default.
  CHECK(cfg.audit_backend == AuditBackendKind::kSqlite);
  CHECK(cfg.state_timeout == std::chrono::milliseconds(50));
}

TEST_CASE("config: malformed YAML and a missing file are errors without a key") {
  test::TempDir dir;
  ServeConfig cfg;
  const std::string path = Write(dir, "audit: {backend: [sqlite\n");
  auto errors = LoadServeConfig(path, &cfg);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].key.empty());
  CHECK(errors[0].line >= 1);
  CHECK(errors[0].ToString().rfind(path + ":" + std::to_string(errors[0].line) + ":", 0) == 0);
  auto missing = LoadServeConfig(dir.path() + "/none.yaml", &cfg);
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].line == 0);
  CHECK(missing[0].ToString() == dir.path() + "/none.yaml: cannot read the configuration file");
}

}  // namespace
}  // namespace tosgate::server
