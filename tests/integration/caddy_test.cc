// tosgate behind a real Caddy running exactly deploy/caddy/Caddyfile (its
// addresses come from the environment, so the file is not edited): a client
// talks to Caddy, Caddy asks tosgate (forward_auth) and proxies what tosgate
// allows to a stand-in model API that records what reached it.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "process_support.h"
#include "proxy_fixture.h"

namespace fs = std::filesystem;
using nlohmann::json;
using tosgate::test::ChildProcess;
using tosgate::test::Contains;
using tosgate::test::ReadFile;
using tosgate::test::StandInUpstream;
using tosgate::test::TosgateServe;

namespace {

constexpr const char* kCaddy = "/usr/bin/caddy";
constexpr const char* kChatPath = "/v1/chat/completions";
constexpr const char* kChatBody =
    R"({"model":"m-large","messages":[{"role":"user","content":"Say hello."}],"max_tokens":64})";
// Denied by the default pack's extraction.logit-bias-with-logprobs, when
// tosgate sees the body.
constexpr const char* kExtractionBody =
    R"({"model":"m-large","messages":[{"role":"user","content":"a"}],"logprobs":true,)"
    R"("logit_bias":{"1734":100}})";

json Problem(const httplib::Result& r) { return json::parse(r->body, nullptr, false); }

// Whether the test can run: false (after a message) when caddy is missing
// and TOSGATE_REQUIRE_PROXIES is not 1; a failure when it is.
bool CaddyInstalled() {
  if (fs::exists(kCaddy)) return true;
  REQUIRE_MESSAGE(!tosgate::test::ProxiesRequired(), "caddy is not installed at "
                                                         << kCaddy
                                                         << " and TOSGATE_REQUIRE_PROXIES=1; run "
                                                            "scripts/install-deps.sh");
  MESSAGE("skipped: caddy is not installed (set TOSGATE_REQUIRE_PROXIES=1 to fail instead)");
  return false;
}

// Caddy on 127.0.0.1:`front` running the shipped Caddyfile unchanged; only
// the environment differs. env -i keeps the developer's own environment (and
// ~/.config/caddy) out of the test.
std::vector<std::string> CaddyCommand(const fs::path& tmp, int front, int tosgate_port,
                                      int upstream_port) {
  const fs::path caddyfile = fs::path(TOSGATE_SOURCE_DIR) / "deploy" / "caddy" / "Caddyfile";
  return {"/usr/bin/env",
          "-i",
          "HOME=" + tmp.string(),
          "XDG_CONFIG_HOME=" + (tmp / "config").string(),
          "XDG_DATA_HOME=" + (tmp / "data").string(),
          "CADDY_ADMIN=off",
          "TOSGATE_SITE=http://127.0.0.1:" + std::to_string(front),
          "TOSGATE_ADDR=127.0.0.1:" + std::to_string(tosgate_port),
          "TOSGATE_UPSTREAM=127.0.0.1:" + std::to_string(upstream_port),
          kCaddy,
          "run",
          "--config",
          caddyfile.string(),
          "--adapter",
          "caddyfile"};
}

}  // namespace

TEST_CASE("caddy with deploy/caddy/Caddyfile in front of tosgate: allow, deny, throttle") {
  if (!CaddyInstalled()) return;
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-caddy");
  REQUIRE(!tmp.empty());
  const std::string pro_key = "sk-test-pro-" + tosgate::test::RandomHex(24);
  const std::string free_key = "sk-test-free-" + tosgate::test::RandomHex(24);
  const std::string evil_key = "sk-test-evil-" + tosgate::test::RandomHex(24);
  // An account id with CR LF in the registry must not split a header.
  const std::string evil_id = "acct_evil\r\nX-Injected: yes";
  TosgateServe tosgate(
      tmp,
      {{"acct_pro", "pro", pro_key}, {"acct_free", "free", free_key}, {evil_id, "pro", evil_key}});
  StandInUpstream upstream;
  const std::vector<int> ports = tosgate::test::FreeLoopbackPorts(1);
  REQUIRE(ports.size() == 1);
  const int front = ports[0];

  ChildProcess caddy(CaddyCommand(tmp, front, tosgate.port(), upstream.port()), tmp / "caddy.out",
                     tmp / "caddy.err");
  REQUIRE(caddy.started());
  INFO("tosgate stderr:\n"
       << tosgate.stderr_text() << "\ncaddy stderr:\n"
       << ReadFile(tmp / "caddy.err") << "\nfiles in " << tmp.string());
  REQUIRE_MESSAGE(caddy.WaitUntil([&] { return tosgate::test::CanConnect(front); }),
                  "caddy did not start listening");

  // A decision whose audited client address is checked once tosgate stops.
  std::string audited_ip_of;
  httplib::Client client("127.0.0.1", front);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);

  SUBCASE("allow: the upstream gets the request with tosgate's headers, the client its limits") {
    // Spoofed headers: an account, a decision id, and an original method
    // that would make the request look like no operation at all.
    httplib::Headers h{{"Authorization", "Bearer " + pro_key}, {"X-Tos-Account", "acct_spoofed"},
                       {"X-Tos-Decision-Id", "spoofed-id"},    {"X-Original-Method", "GET"},
                       {"X-Original-URI", "/healthz"},         {"X-Forwarded-For", "198.51.100.77"},
                       {"X-Real-IP", "198.51.100.78"}};
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "upstream-ok");
    REQUIRE(upstream.count() == 1);
    const StandInUpstream::Seen seen = upstream.last();
    CHECK(seen.method == "POST");
    CHECK(seen.path == kChatPath);
    CHECK(seen.body == kChatBody);  // the body goes upstream untouched
    CHECK(seen.header("X-Tos-Account") == "acct_pro");
    CHECK(seen.header("X-Tos-Operation") == "chat");  // checked as POST /v1/chat/completions
    const std::string id = seen.header("X-Tos-Decision-Id");
    CHECK(id.size() >= 8);
    CHECK(id != "spoofed-id");
    CHECK(seen.headers.count("X-Tos-Decision-Id") == 1);
    CHECK(seen.header("Authorization") == "Bearer " + pro_key);  // the API still needs it
    CHECK(r->get_header_value("X-Tos-Decision-Id") == id);
    CHECK(r->get_header_value("RateLimit-Policy") == "\"rate.rpm\";q=660;w=60, \"budget.tpm\";q=2000000;w=60;qu=\"tokens\"");
    CHECK(Contains(r->get_header_value("RateLimit"), "r="));
    audited_ip_of = id;
  }

  SUBCASE("allow, no operation and no key: the upstream gets no made-up tosgate headers") {
    // Caddy 2.6 would copy the headers tosgate did not send as literal
    // placeholder text; the Caddyfile removes them.
    httplib::Headers h{{"X-Tos-Operation", "spoofed"}, {"X-Tos-Account", "acct_spoofed"}};
    auto r = client.Get("/v1/models", h);
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(upstream.count() == 1);
    const StandInUpstream::Seen seen = upstream.last();
    CHECK(seen.path == "/v1/models");
    CHECK_FALSE(seen.has("X-Tos-Operation"));
    CHECK_FALSE(Contains(seen.header("X-Tos-Account"), "{"));
    CHECK(seen.header("X-Tos-Account") != "acct_spoofed");
    CHECK(seen.header("X-Tos-Decision-Id").size() >= 8);
    for (const auto& [name, value] : seen.headers) {
      CAPTURE(name);
      CHECK_FALSE(Contains(value, "{http."));
    }
    for (const auto& [name, value] : r->headers) {
      CAPTURE(name);
      CHECK_FALSE(Contains(value, "{http."));
    }
  }

  SUBCASE("deny: the client gets tosgate's 403 problem+json, the upstream nothing") {
    httplib::Headers h{{"Authorization", "Bearer " + pro_key},
                       {"X-Usage-Purpose", "model-training"}};
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(r->get_header_value("Content-Type") == "application/problem+json");
    CHECK(r->get_header_value("X-Tos-Decision") == "deny");
    CHECK(r->get_header_value("X-Tos-Rule") == "purpose.no-model-training");
    const json problem = Problem(r);
    REQUIRE_MESSAGE(problem.is_object(), "not a problem+json body: " << r->body);
    CHECK(problem.value("status", 0) == 403);
    CHECK(problem.value("reason", "") == "competitor-training-declared");
    CHECK(problem.value("decision_id", "") == r->get_header_value("X-Tos-Decision-Id"));
    CHECK(upstream.count() == 0);
  }

  SUBCASE("throttle: the 21st free-tier request is a 429 with Retry-After and RateLimit") {
    httplib::Headers h{{"Authorization", "Bearer " + free_key}};
    for (int i = 1; i <= 20; ++i) {
      CAPTURE(i);
      auto r = client.Post(kChatPath, h, kChatBody, "application/json");
      REQUIRE(r);
      REQUIRE(r->status == 200);
      CHECK(r->get_header_value("RateLimit-Policy") == "\"rate.rpm\";q=20;w=60, \"budget.tpm\";q=100000;w=60;qu=\"tokens\"");
    }
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK(r->get_header_value("Content-Type") == "application/problem+json");
    const std::string retry_after = r->get_header_value("Retry-After");
    REQUIRE_MESSAGE(!retry_after.empty(), "no Retry-After on the 429");
    CHECK(std::stoi(retry_after) >= 1);
    // A sliding 60 s window can ask for up to two windows when the burst
    // straddles a minute boundary (the previous minute still weighs in).
    CHECK(std::stoi(retry_after) <= 120);
    CHECK(r->get_header_value("RateLimit-Policy") == "\"rate.rpm\";q=20;w=60");
    CHECK(Contains(r->get_header_value("RateLimit"), "r=0"));
    const json problem = Problem(r);
    REQUIRE_MESSAGE(problem.is_object(), "not a problem+json body: " << r->body);
    CHECK(problem.value("status", 0) == 429);
    CHECK(problem.value("retry_after", 0) == std::stoi(retry_after));
    CHECK(upstream.count() == 20);
  }

  SUBCASE("body: Caddy does not send it, so body rules do not fire behind Caddy") {
    // Denied when tosgate sees the body (see envoy_replay_test.cc); Caddy's
    // check is a bodiless GET, so it is allowed and the upstream gets it.
    httplib::Headers h{{"Authorization", "Bearer " + pro_key}};
    auto r = client.Post(kChatPath, h, kExtractionBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(upstream.count() == 1);
    CHECK(upstream.last().body == kExtractionBody);
  }

  SUBCASE("header injection: CR LF in an account id does not split the upstream's headers") {
    httplib::Headers h{{"Authorization", "Bearer " + evil_key}};
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(upstream.count() == 1);
    const StandInUpstream::Seen seen = upstream.last();
    CHECK(seen.header("X-Tos-Account") == "acct_evilX-Injected: yes");
    CHECK_FALSE(seen.has("X-Injected"));
    CHECK_FALSE(r->has_header("X-Injected"));
  }

  auto caddy_exit = caddy.Stop(SIGTERM, std::chrono::seconds(10));
  CHECK(caddy_exit.has_value());
  auto tosgate_exit = tosgate.Stop();
  REQUIRE_MESSAGE(tosgate_exit.has_value(), "tosgate did not exit within 15 s of SIGTERM");
  CHECK(WIFEXITED(*tosgate_exit));
  CHECK(WEXITSTATUS(*tosgate_exit) == 0);
  if (!audited_ip_of.empty()) {
    // The address tosgate used is the one Caddy saw, not the client's claim.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2((tmp / "audit.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
            SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db_guard(db, &sqlite3_close);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT client_ip FROM decisions WHERE id = ?", -1, &stmt,
                               nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt_guard(stmt, &sqlite3_finalize);
    sqlite3_bind_text(stmt, 1, audited_ip_of.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    const unsigned char* ip = sqlite3_column_text(stmt, 0);
    CHECK(std::string(ip ? reinterpret_cast<const char*>(ip) : "") == "127.0.0.1");
  }
  // No secret in any log.
  for (const char* name : {"tosgate.out", "tosgate.err", "caddy.out", "caddy.err"}) {
    CAPTURE(name);
    const std::string text = ReadFile(tmp / name);
    CHECK_FALSE(Contains(text, pro_key));
    CHECK_FALSE(Contains(text, free_key));
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

TEST_CASE(
    "caddy with deploy/caddy/Caddyfile: the upstream gets tosgate's X-Tos-Flag and "
    "X-Tos-Watermark, never the client's") {
  if (!CaddyInstalled()) return;
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-caddy-marks");
  REQUIRE(!tmp.empty());
  const std::string harvester_key = "sk-test-harvest-" + tosgate::test::RandomHex(24);
  const std::string plain_key = "sk-test-plain-" + tosgate::test::RandomHex(24);
  tosgate::test::WriteUpstreamHeaderPolicy(tmp / "policies");
  TosgateServe tosgate(tmp,
                       {{"acct_harvester", "pro", harvester_key}, {"acct_plain", "pro", plain_key}},
                       tmp / "policies");
  StandInUpstream upstream;
  const std::vector<int> ports = tosgate::test::FreeLoopbackPorts(1);
  REQUIRE(ports.size() == 1);
  const int front = ports[0];
  ChildProcess caddy(CaddyCommand(tmp, front, tosgate.port(), upstream.port()), tmp / "caddy.out",
                     tmp / "caddy.err");
  REQUIRE(caddy.started());
  INFO("tosgate stderr:\n"
       << tosgate.stderr_text() << "\ncaddy stderr:\n"
       << ReadFile(tmp / "caddy.err") << "\nfiles in " << tmp.string());
  REQUIRE_MESSAGE(caddy.WaitUntil([&] { return tosgate::test::CanConnect(front); }),
                  "caddy did not start listening");
  tosgate::test::CheckTosHeadersForwarded(front, tosgate.port(), upstream, harvester_key, plain_key,
                                          kChatPath, kChatBody, {.no_placeholders = true});

  auto caddy_exit = caddy.Stop(SIGTERM, std::chrono::seconds(10));
  CHECK(caddy_exit.has_value());
  auto tosgate_exit = tosgate.Stop();
  CHECK(tosgate_exit.has_value());
  std::error_code ec;
  fs::remove_all(tmp, ec);
}
