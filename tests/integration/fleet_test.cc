// A fleet: three `tosgate serve` processes sharing one real redis-server.
// Concurrent requests for one account at all three admit exactly the limit,
// a token budget likewise; competitor-training cluster links reach Redis from
// every gateway; counts survive a gateway restart; a Redis that
// goes away turns into 503s (failure_mode: closed) and comes back.
#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "process_support.h"
#include "tests/storage/postgres_server.h"
#include "tests/storage/redis_server.h"

namespace tosgate::test {
namespace {

constexpr const char* kPolicy = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: fleet}
settings: {mode: enforce, failure_mode: closed}
identity:
  unknown_keys: {tier: free}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: rate.hourly
    kind: rate_limit
    description: Requests per account per hour.
    scope: [account]
    limit: {requests: 50, per: 1h}
  - id: budget.hourly
    kind: token_budget
    description: Output tokens per account per hour.
    match: {operations: [chat]}
    scope: [account]
    count: output
    limit: {tokens: 5000, per: 1h}
    reservation_ttl: 5m
  # Scores every request (in shadow: it never changes an answer), so that its
  # cluster counts go through Redis.
  - id: distill.fleet
    kind: competitor_training
    description: Competitor-training detection with fleet-wide clusters.
    mode: shadow
    match: {operations: [chat]}
    thresholds: {flag: 0.5, watermark: 0.6, review: 0.7, throttle: 0.8, deny: 0.95}
    throttle: {requests: 10, per: 1m}
)";

// sha256("test-token"), a viewer's token for /metrics, and of "audit-token",
// an auditor's for /v1/admin/decisions.
constexpr const char* kTokenSha256 = "4c5dc9b7708905f77f5e5d16316b5dfb425e68cb326dcd55a860e90a7707031e";
constexpr const char* kAuditTokenSha256 = "00c762df12ad848efe952a2eaee0600653ae0acdd6dfbea9a079d8e8c385e86a";

class Gateway {
 public:
  // `audit` is the config's audit section; empty: an SQLite file of its own.
  Gateway(const std::filesystem::path& dir, const std::string& name, const std::string& redis_url,
          std::string audit = "")
      : dir_(dir / name) {
    if (audit.empty()) audit = "{path: " + (dir_ / "audit.db").string() + ", durability: async}";
    std::filesystem::create_directories(dir_ / "policies");
    WriteFile(dir_ / "policies" / "fleet.yaml", kPolicy);
    redis_url_ = redis_url;
    audit_ = audit;
    Start();
  }

  // Starts the gateway on ports picked now: a restart does not reuse the old
  // ones, which an outgoing connection may have taken as its local port
  // while the gateway was down ("address in use").
  void Start() {
    const std::vector<int> ports = FreeLoopbackPorts(2);
    REQUIRE(ports.size() == 2);
    port_ = ports[0];
    admin_port_ = ports[1];
    WriteFile(dir_ / "tosgate.yaml",
              "listen: {gateway: 127.0.0.1:" + std::to_string(port_) +
                  ", admin: 127.0.0.1:" + std::to_string(admin_port_) + "}\n" +
                  "policies: {dir: " + (dir_ / "policies").string() + "}\n" +
                  "audit: " + audit_ + "\n" +
                  "state: {backend: redis, url: '" + redis_url_ +
                  "', timeout_ms: 5000, cluster_sync_ms: 10}\n" +
                  "admin: {tokens: [{name: t, sha256: " + kTokenSha256 + ", role: viewer}, {name: a, sha256: " +
                  kAuditTokenSha256 + ", role: auditor}]}\n" +
                  "gateway: {threads: 2}\n");
    proc_.reset();
    proc_.emplace(std::vector<std::string>{TOSGATE_BINARY, "serve", "--config",
                                           (dir_ / "tosgate.yaml").string()},
                  dir_ / "tosgate.out", dir_ / "tosgate.err");
    REQUIRE(proc_->started());
    const int admin = admin_port_;
    REQUIRE_MESSAGE(proc_->WaitUntil([admin] {
      httplib::Client c("127.0.0.1", admin);
      auto r = c.Get("/readyz");
      return r && r->status == 200;
    }),
                    "tosgate did not become ready:\n" << ReadFile(dir_ / "tosgate.err"));
  }
  void Stop() { proc_->Stop(SIGTERM, std::chrono::seconds(15)); }

  // The status of one chat check for `key` asking for `max_tokens`.
  int Check(const std::string& key, int max_tokens = 10) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(5);
    httplib::Headers h{{"Authorization", "Bearer " + key}};
    auto r = c.Post("/v1/check/v1/chat/completions", h,
                    R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":)" +
                        std::to_string(max_tokens) + "}",
                    "application/json");
    return r ? r->status : -1;
  }
  std::string log() const { return ReadFile(dir_ / "tosgate.err"); }

  // The value of one /metrics counter; -1 when absent.
  long long Metric(const std::string& name) const {
    httplib::Client c("127.0.0.1", admin_port_);
    auto r = c.Get("/metrics", {{"Authorization", "Bearer test-token"}});
    if (!r || r->status != 200) return -1;
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(r->body.substr(at + name.size() + 2));
  }
  // The decisions the admin API lists for `query` (as an auditor).
  nlohmann::json Decisions(const std::string& query) const {
    httplib::Client c("127.0.0.1", admin_port_);
    auto r = c.Get("/v1/admin/decisions?" + query, {{"Authorization", "Bearer audit-token"}});
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, r->body);
    return nlohmann::json::parse(r->body)["decisions"];
  }
  // Waits (bounded) until `name` is at least `min`; the last value seen.
  long long WaitForMetric(const std::string& name, long long min) {
    long long v = -1;
    proc_->WaitUntil([&] { return (v = Metric(name)) >= min; });
    return v;
  }

 private:
  std::filesystem::path dir_;
  int port_ = 0, admin_port_ = 0;
  std::string redis_url_, audit_;
  std::optional<ChildProcess> proc_;
};

// Fires `per_thread` checks from 4 threads at each gateway; counts statuses.
std::map<int, int> Storm(const std::vector<std::unique_ptr<Gateway>>& gws, const std::string& key,
                         int per_thread, int max_tokens) {
  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::thread> threads;
  for (const auto& gw : gws)
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, g = gw.get()] {
        for (int i = 0; i < per_thread; ++i) {
          const int s = g->Check(key, max_tokens);
          std::lock_guard lock(mu);
          ++statuses[s];
        }
      });
  for (auto& th : threads) th.join();
  return statuses;
}

TEST_CASE("fleet: three gateways on one Redis admit exactly the limit, restart or not") {
  if (!RedisAvailable()) return;
  REQUIRE_MESSAGE(std::filesystem::exists(TOSGATE_BINARY), "missing " << TOSGATE_BINARY);
  RedisServer redis;
  const std::filesystem::path dir = MakeTempDir("tosgate-fleet");
  std::vector<std::unique_ptr<Gateway>> gws;
  for (const char* name : {"a", "b", "c"})
    gws.push_back(std::make_unique<Gateway>(dir, name, redis.url()));

  // 240 requests, 50 an hour: exactly 50 pass, the rest are throttled.
  auto rate = Storm(gws, "sk-fleet-rate", 20, 10);
  CHECK(rate[200] == 50);
  CHECK(rate[429] == 190);

  // 5000 output tokens an hour, 1000 reserved per request: exactly 5.
  auto budget = Storm(gws, "sk-fleet-budget", 5, 1000);
  CHECK(budget[200] == 5);
  CHECK(budget[429] == 55);

  // Competitor-training cluster links go to Redis from every gateway. The
  // rule is stateful, so it scores only requests still admissible when it
  // runs: which gateways admitted the storms' 55 requests is a race (one
  // gateway whose threads started late can admit none, and then links
  // nothing). One admitted request of a fresh account at each gateway
  // links its address range whatever the race did; each gateway must send.
  for (size_t i = 0; i < gws.size(); ++i) {
    CHECK(gws[i]->Check("sk-fleet-links-" + std::to_string(i)) == 200);
    CHECK(gws[i]->WaitForMetric("tosgate_cluster_links_sent_total", 1) >= 1);
  }

  // The count lives in Redis: a restarted gateway still refuses.
  gws[0]->Stop();
  gws[0]->Start();
  CHECK(gws[0]->Check("sk-fleet-rate") == 429);
  CHECK(gws[0]->Check("sk-fleet-other") == 200);

  // Redis gone: failure_mode closed answers 503, counted, never a crash.
  redis.Stop();
  CHECK(gws[1]->Check("sk-fleet-other") == 503);
  CHECK(gws[2]->Check("sk-fleet-new") == 503);
  // Back (empty: this test server keeps nothing on disk): the gateways
  // re-dial within their retry interval and admit again.
  redis.Start();
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    recovered = gws[1]->Check("sk-fleet-after") == 200;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(recovered, gws[1]->log());
  for (auto& gw : gws) gw->Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Runs `tosgate <args>` to its end; its exit code and standard output.
std::pair<int, std::string> RunTosgate(const std::filesystem::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TOSGATE_BINARY);
  ChildProcess p(args, dir / "run.out", dir / "run.err");
  REQUIRE(p.started());
  const std::optional<int> st = p.Stop(0, std::chrono::seconds(60));  // signal 0: only wait
  REQUIRE(st.has_value());
  return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, ReadFile(dir / "run.out") + ReadFile(dir / "run.err")};
}

TEST_CASE("fleet audit: two gateways write one PostgreSQL trail, each instance its own chain") {
  if (!RedisAvailable() || !PostgresAvailable()) return;
  REQUIRE_MESSAGE(std::filesystem::exists(TOSGATE_BINARY), "missing " << TOSGATE_BINARY);
  RedisServer redis;
  PostgresServer pg;
  const std::filesystem::path dir = MakeTempDir("tosgate-fleet-audit");
  std::vector<std::unique_ptr<Gateway>> gws;
  for (const char* name : {"gw-a", "gw-b"})
    gws.push_back(std::make_unique<Gateway>(
        dir, name, redis.url(),
        "{backend: postgres, dsn: '" + pg.Dsn() + "', instance: " + name + ", durability: sync}"));
  // 2 gateways x 4 threads x 5 requests, one account: 40 decisions.
  auto statuses = Storm(gws, "sk-fleet-audit", 5, 10);
  CHECK(statuses[200] == 40);
  // Either gateway's admin API lists the whole fleet's trail, or one instance's.
  CHECK(gws[0]->Decisions("limit=1000").size() == 40);
  const nlohmann::json b = gws[0]->Decisions("instance=gw-b&limit=1000");
  CHECK(b.size() == 20);
  for (const auto& d : b) CHECK(d.value("instance", "") == "gw-b");
  for (auto& gw : gws) gw->Stop();

  auto [code, out] = RunTosgate(dir, {"audit", "verify", "--dsn", pg.Dsn()});
  CHECK_MESSAGE(code == 0, out);
  CHECK_MESSAGE(out.find("ok: instance gw-a: 20 records") != std::string::npos, out);
  CHECK_MESSAGE(out.find("ok: instance gw-b: 20 records") != std::string::npos, out);
  auto [qcode, rows] = RunTosgate(dir, {"audit", "export", "--format", "jsonl", "--dsn", pg.Dsn()});
  CHECK(qcode == 0);
  CHECK(std::count(rows.begin(), rows.end(), '\n') == 40);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace tosgate::test
