// server::Server, in process: built from a typed config on loopback ports,
// every metric docs/admin-api.md lists is registered (once: start-up checks
// the registry), and a configuration at fault is InvalidArgument (exit 2).
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "engine/engine.h"
#include "engine/sha256.h"
#include "metrics/registry.h"
#include "server/server.h"
#include "tests/api/raw_client.h"
#include "tests/server/metrics_text.h"
#include "tests/storage/temp_dir.h"

namespace tosgate::test {
namespace {

server::ServeConfig LoopbackConfig(const TempDir& dir) {
  server::ServeConfig cfg;
  cfg.gateway_listen = "127.0.0.1:0";
  cfg.admin_listen = "127.0.0.1:0";
  cfg.audit_path = dir.path() + "/audit/tosgate.db";
  cfg.admin_db = dir.path() + "/admin.db";
  cfg.gateway_threads = 1;
  cfg.admin_threads = 1;
  return cfg;
}

// The metric names of the table in docs/admin-api.md ("| `name` ...").
std::set<std::string> DocumentedMetrics() {
  std::ifstream in(std::string(TOSGATE_SOURCE_DIR) + "/docs/admin-api.md");
  std::set<std::string> names;
  const std::regex row(R"(^\| `(tosgate_[a-z_]+)(\{[a-z_,]+\})?` \|)");
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, m, row)) names.insert(m[1]);
  return names;
}

TEST_CASE("server: starts from a config and registers every documented metric") {
  TempDir dir;
  std::ostringstream log;
  auto srv = server::Server::Start(LoopbackConfig(dir), log);
  REQUIRE_MESSAGE(srv.ok(), log.str());
  CHECK((*srv)->gateway_port() > 0);
  CHECK((*srv)->admin_port() > 0);
  CHECK((*srv)->control_port() == 0);  // forward-auth mode: no control listener
  CHECK((*srv)->engine().snapshot() != nullptr);
  CHECK(log.str().find("tosgate: state: memory") != std::string::npos);

  REQUIRE((*srv)->metrics().status().ok());
  const std::set<std::string> documented = DocumentedMetrics();
  CHECK(documented.size() >= 60);
  for (const std::string& name : documented) {
    // Redis and cluster counters exist only with state.backend: redis
    // (tests/server/state_metrics_test.cc).
    if (name.find("_redis_") != std::string::npos || name.find("_fallback_") != std::string::npos ||
        name.rfind("tosgate_cluster_", 0) == 0)
      continue;
    CHECK_MESSAGE((*srv)->metrics().Has(name), name);
  }
  CHECK((*srv)->Stop().ok());
  CHECK(log.str().find("tosgate: stopped; 0 decisions recorded") != std::string::npos);
}

TEST_CASE("server: /metrics is the registry, with what the gateway and the audit store counted") {
  TempDir dir;
  server::ServeConfig cfg = LoopbackConfig(dir);
  cfg.admin_tokens.push_back({"ops", engine::Sha256Hex("tok"), api::admin::Role::kViewer});
  std::ostringstream log;
  auto srv = server::Server::Start(cfg, log);
  REQUIRE_MESSAGE(srv.ok(), log.str());
  RawClient gw((*srv)->gateway_port());
  RawResponse checked;
  REQUIRE(gw.RoundTrip(HttpRequest("POST", "/v1/check",
                                   {{"X-Original-Method", "POST"}, {"X-Original-URI", "/v1/chat/completions"},
                                    {"Authorization", "Bearer sk-demo-1"}, {"Content-Type", "application/json"}},
                                   "{\"model\":\"m\"}"),
                       &checked));
  CHECK(checked.status == 200);
  RawClient admin((*srv)->admin_port());
  RawResponse m;
  REQUIRE(admin.RoundTrip(HttpRequest("GET", "/metrics", {{"Authorization", "Bearer tok"}}, ""), &m));
  REQUIRE(m.status == 200);
  CHECK(MetricValue(m.body, "tosgate_gateway_checks_total") == 1);
  CHECK(MetricValue(m.body, "tosgate_decisions_total{effect=\"allow\"}") == 1);
  CHECK(MetricValue(m.body, "tosgate_audit_written_total") == 1);  // sync: committed before the answer
  CHECK(MetricValue(m.body, "tosgate_check_latency_seconds_count") == 1);
  CHECK((*srv)->Stop().ok());
}

TEST_CASE("server: what the configuration names and cannot be used is InvalidArgument") {
  TempDir dir;
  server::ServeConfig cfg = LoopbackConfig(dir);
  cfg.accounts_file = dir.path() + "/no-such-accounts.jsonl";
  std::ostringstream log;
  auto srv = server::Server::Start(cfg, log);
  REQUIRE_FALSE(srv.ok());
  CHECK(srv.status().code() == Status::Code::kInvalidArgument);
  CHECK(log.str().find("tosgate: ") != std::string::npos);

  cfg = LoopbackConfig(dir);
  cfg.policies_dir = dir.path() + "/no-such-policies";
  std::ostringstream log2;
  auto bad_policies = server::Server::Start(cfg, log2);
  REQUIRE_FALSE(bad_policies.ok());
  CHECK(bad_policies.status().code() == Status::Code::kInvalidArgument);
  CHECK(log2.str().find("in policies") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::test
