// tosgate behind a real nginx, configured with exactly deploy/nginx/: a client
// talks to nginx, nginx asks tosgate (auth_request) and proxies what tosgate
// allows to a stand-in model API (a second nginx server that echoes what it
// was told). Then the audit store is checked against what the clients saw.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/accounts.h"
#include "process_support.h"
#include "proxy_fixture.h"

namespace fs = std::filesystem;
using nlohmann::json;
using tosgate::test::ChildProcess;
using tosgate::test::Contains;
using tosgate::test::FreeLoopbackPorts;
using tosgate::test::RandomHex;
using tosgate::test::ReadFile;
using tosgate::test::StandInUpstream;
using tosgate::test::TosgateServe;
using tosgate::test::WriteFile;

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kChatPath = "/v1/chat/completions";
constexpr const char* kChatBody =
    R"({"model":"m-large","messages":[{"role":"user","content":"Say hello."}],"max_tokens":64})";

// Replaces the one occurrence of `from` in `text`; fails the test when there
// is not exactly one, so a changed deploy file cannot slip past unnoticed.
std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "deploy file no longer contains '" << from << "'");
  REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos, "'" << from << "' is there twice");
  return text.replace(at, from.size(), to);
}

// The value after "name=" up to the next space or newline in the stand-in
// upstream's body.
std::string EchoField(const std::string& body, const std::string& name) {
  size_t at = body.find(name + "=");
  if (at == std::string::npos) return "<absent>";
  at += name.size() + 1;
  return body.substr(at, body.find_first_of(" \n", at) - at);
}

struct Ports {
  int gateway, admin, front, upstream;
};

// The top-level nginx.conf of the test: process settings, the stand-in
// model API (an nginx server that echoes the X-Tos-* headers it got, unless
// `echo_upstream` is false: then the test runs its own on p.upstream), and
// deploy/nginx/tosgate-site.conf (ports substituted) which includes
// deploy/nginx/tosgate.conf unchanged.
void WriteNginxConfig(const fs::path& dir, const Ports& p, bool echo_upstream = true) {
  const fs::path deploy = fs::path(TOSGATE_SOURCE_DIR) / "deploy" / "nginx";
  fs::create_directories(dir / "snippets");
  fs::create_symlink(deploy / "tosgate.conf", dir / "snippets" / "tosgate.conf");

  std::string site = ReadFile(deploy / "tosgate-site.conf");
  site = ReplaceOnce(site, "server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(p.gateway) + ";");
  site = ReplaceOnce(site, "server 127.0.0.1:8000;", "server 127.0.0.1:" + std::to_string(p.upstream) + ";");
  site = ReplaceOnce(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(p.front) + ";");
  WriteFile(dir / "tosgate-site.conf", site);

  const std::string d = dir.string();
  const std::string echo =
      "  # The stand-in model API: says what tosgate told it.\n"
      "  server {\n"
      "    listen 127.0.0.1:" + std::to_string(p.upstream) + ";\n"
      "    location / {\n"
      "      default_type text/plain;\n"
      "      return 200 \"upstream-ok decision_id=$http_x_tos_decision_id"
      " account=$http_x_tos_account operation=$http_x_tos_operation"
      " org=$http_x_tos_org.\\n\";\n"
      "    }\n"
      "  }\n";
  WriteFile(dir / "nginx.conf",
            "worker_processes 1;\n"
            "pid " + d + "/nginx.pid;\n"
            "error_log " + d + "/nginx-error.log info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "  access_log " + d + "/nginx-access.log;\n"
            "  client_body_temp_path " + d + "/client_body;\n"
            "  proxy_temp_path " + d + "/proxy;\n"
            "  fastcgi_temp_path " + d + "/fastcgi;\n"
            "  uwsgi_temp_path " + d + "/uwsgi;\n"
            "  scgi_temp_path " + d + "/scgi;\n" +
            (echo_upstream ? echo : std::string()) +
            "  include " + d + "/tosgate-site.conf;\n"
            "}\n");
}

struct Seen {
  std::string decision_id;
  std::string effect;  // what the client was told: allow | deny | throttle
  int status;
  std::string account;
  std::string key;
};

}  // namespace

TEST_CASE("nginx with deploy/nginx in front of tosgate: allow, deny, throttle, all audited") {
  REQUIRE_MESSAGE(fs::exists(kNginx), "nginx is not installed at " << kNginx
                                          << "; run scripts/install-deps.sh (CI installs it)");
  REQUIRE_MESSAGE(fs::exists(TOSGATE_BINARY), "the tosgate binary is missing: " << TOSGATE_BINARY);

  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-nginx");
  const std::vector<int> free_ports = FreeLoopbackPorts(4);
  REQUIRE(free_ports.size() == 4);
  const Ports ports{free_ports[0], free_ports[1], free_ports[2], free_ports[3]};

  // Keys unique to this run, so finding one in the database means it leaked.
  const std::string pro_key = "sk-test-pro-" + RandomHex(24);
  const std::string free_key = "sk-test-free-" + RandomHex(24);
  WriteFile(tmp / "accounts.jsonl",
            R"({"id":"acct_pro","org":"org_1","tier":"pro","country":"US","flags":[],)"
            R"("created":1763000000000,"payment_fingerprint":"pf_1","keys":[")" + pro_key + "\"]}\n" +
            R"({"id":"acct_free","org":"org_2","tier":"free","country":"DE","flags":[],)"
            R"("created":1763000000000,"payment_fingerprint":"pf_2","keys":[")" + free_key + "\"]}\n");
  const fs::path db = tmp / "audit.db";
  WriteFile(tmp / "tosgate.yaml",
            "listen: {gateway: 127.0.0.1:" + std::to_string(ports.gateway) +
            ", admin: 127.0.0.1:" + std::to_string(ports.admin) + "}\n"
            "audit: {path: " + db.string() + ", durability: sync}\n"
            "accounts: {file: " + (tmp / "accounts.jsonl").string() + "}\n"
            "gateway: {threads: 2}\n");
  WriteNginxConfig(tmp, ports);

  // What went wrong, shown only when an assertion fails.
  INFO("tosgate stderr:\n" << ReadFile(tmp / "tosgate.err") << "\nnginx error log:\n"
                           << ReadFile(tmp / "nginx-error.log") << "\nfiles in " << tmp.string());

  ChildProcess tosgate_proc({TOSGATE_BINARY, "serve", "--config", (tmp / "tosgate.yaml").string()},
                            tmp / "tosgate.out", tmp / "tosgate.err");
  REQUIRE(tosgate_proc.started());
  ChildProcess nginx_proc({kNginx, "-e", (tmp / "nginx-error.log").string(), "-p", tmp.string(), "-c",
                           (tmp / "nginx.conf").string(), "-g", "daemon off;"},
                          tmp / "nginx.out", tmp / "nginx.err");
  REQUIRE(nginx_proc.started());

  REQUIRE_MESSAGE(tosgate_proc.WaitUntil([&] {
    httplib::Client admin("127.0.0.1", ports.admin);
    admin.set_connection_timeout(1);
    auto r = admin.Get("/readyz");
    return r && r->status == 200;
  }), "tosgate did not become ready on /readyz");
  REQUIRE_MESSAGE(nginx_proc.WaitUntil([&] {
    return tosgate::test::CanConnect(ports.front) && tosgate::test::CanConnect(ports.upstream);
  }), "nginx did not start listening:\n" << ReadFile(tmp / "nginx.err"));

  httplib::Client client("127.0.0.1", ports.front);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  std::vector<Seen> seen;

  {
    // The client's own X-Tos-* headers must not reach tosgate nor the upstream.
    httplib::Headers h{{"Authorization", "Bearer " + pro_key},
                       {"X-Tos-Account", "acct_spoofed"},
                       {"X-Tos-Operation", "spoofed"},
                       {"X-Tos-Org", "org_spoofed"}};
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(Contains(r->body, "upstream-ok"));
    const std::string id = EchoField(r->body, "decision_id");
    CHECK(id.size() >= 8);
    CHECK(r->get_header_value("X-Tos-Decision-Id") == id);
    CHECK(EchoField(r->body, "account") == "acct_pro");
    CHECK(EchoField(r->body, "operation") == "chat");
    CHECK(EchoField(r->body, "org") == ".");  // removed: empty before the full stop
    // pro: 600 a minute plus a burst of 60 in the default pack.
    CHECK(r->get_header_value("RateLimit-Policy") == "\"rate.rpm\";q=660;w=60, \"budget.tpm\";q=2000000;w=60;qu=\"tokens\"");
    CHECK(Contains(r->get_header_value("RateLimit"), "r="));
    seen.push_back({id, "allow", 200, "acct_pro", pro_key});
  }

  {
    // A declared purpose of training a model: 403 problem+json, no upstream.
    httplib::Headers h{{"Authorization", "Bearer " + pro_key}, {"X-Usage-Purpose", "model-training"}};
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(r->get_header_value("Content-Type") == "application/problem+json");
    CHECK_FALSE(Contains(r->body, "upstream-ok"));
    json problem = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    REQUIRE_MESSAGE(problem.is_object(), "not a problem+json body: " << r->body);
    CHECK(problem.value("status", 0) == 403);
    CHECK(Contains(problem.dump(), "purpose.no-model-training"));
    const std::string id = r->get_header_value("X-Tos-Decision-Id");
    CHECK(!id.empty());
    CHECK(problem.value("decision_id", "") == id);
    seen.push_back({id, "deny", 403, "acct_pro", pro_key});
  }

  {
    // The free tier allows 20 requests a minute: 20 pass, the 21st is a 429
    // that the client sees as such, with when to come back.
    httplib::Headers h{{"Authorization", "Bearer " + free_key}};
    for (int i = 1; i <= 20; ++i) {
      CAPTURE(i);
      auto r = client.Post(kChatPath, h, kChatBody, "application/json");
      REQUIRE(r);
      REQUIRE(r->status == 200);
      CHECK(Contains(r->body, "upstream-ok"));
      CHECK(EchoField(r->body, "account") == "acct_free");
      CHECK(r->get_header_value("RateLimit-Policy") == "\"rate.rpm\";q=20;w=60, \"budget.tpm\";q=100000;w=60;qu=\"tokens\"");
      seen.push_back({EchoField(r->body, "decision_id"), "allow", 200, "acct_free", free_key});
    }
    auto r = client.Post(kChatPath, h, kChatBody, "application/json");
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK(r->get_header_value("Content-Type") == "application/problem+json");
    CHECK_FALSE(Contains(r->body, "upstream-ok"));
    const std::string retry_after = r->get_header_value("Retry-After");
    REQUIRE_MESSAGE(!retry_after.empty(), "no Retry-After on the 429");
    CHECK(std::stoi(retry_after) >= 1);
    // A sliding 60 s window can ask for up to two windows when the burst
    // straddles a minute boundary (the previous minute still weighs in).
    CHECK(std::stoi(retry_after) <= 120);
    CHECK(Contains(r->get_header_value("RateLimit-Policy"), "q=20"));
    CHECK(Contains(r->get_header_value("RateLimit"), "r=0"));
    json problem = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    REQUIRE_MESSAGE(problem.is_object(), "not a problem+json body: " << r->body);
    CHECK(problem.value("status", 0) == 429);
    const std::string id = r->get_header_value("X-Tos-Decision-Id");
    CHECK(!id.empty());
    CHECK(problem.value("decision_id", "") == id);
    seen.push_back({id, "throttle", 429, "acct_free", free_key});
  }

  // Both stop cleanly; tosgate flushes its audit store before it exits.
  auto tosgate_exit = tosgate_proc.Stop(SIGTERM, std::chrono::seconds(15));
  REQUIRE_MESSAGE(tosgate_exit.has_value(), "tosgate did not exit within 15 s of SIGTERM");
  CHECK(WIFEXITED(*tosgate_exit));
  CHECK(WEXITSTATUS(*tosgate_exit) == 0);
  auto nginx_exit = nginx_proc.Stop(SIGTERM, std::chrono::seconds(10));
  CHECK(nginx_exit.has_value());

  // No secret anywhere on disk or in the logs, read as raw bytes before
  // SQLite opens the file again.
  for (const char* name : {"audit.db", "audit.db-wal", "audit.db-shm", "tosgate.out", "tosgate.err",
                           "nginx-error.log", "nginx-access.log"}) {
    CAPTURE(name);
    const std::string bytes = ReadFile(tmp / name);
    CHECK_FALSE(Contains(bytes, pro_key));
    CHECK_FALSE(Contains(bytes, free_key));
    CHECK_FALSE(Contains(bytes, pro_key.substr(0, 20)));  // nor a prefix long enough to matter
  }
  REQUIRE(fs::exists(db));

  sqlite3* conn = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> conn_guard(conn, &sqlite3_close);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE_MESSAGE(sqlite3_prepare_v2(conn,
                                     "SELECT id, effect, status, account, key_id, rule_ids FROM decisions",
                                     -1, &stmt, nullptr) == SQLITE_OK,
                  sqlite3_errmsg(conn));
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt_guard(stmt, &sqlite3_finalize);
  struct Row {
    std::string effect;
    int status;
    std::string account, key_id, rule_ids;
  };
  std::map<std::string, Row> rows;
  size_t row_count = 0;
  auto text = [&](int col) {
    const unsigned char* t = sqlite3_column_text(stmt, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    ++row_count;
    rows[text(0)] = Row{text(1), sqlite3_column_int(stmt, 2), text(3), text(4), text(5)};
  }

  // One row per decision, and each says what its client was told.
  CHECK(row_count == seen.size());
  CHECK(rows.size() == seen.size());
  std::set<std::string> ids;
  for (const Seen& s : seen) {
    CAPTURE(s.decision_id);
    CAPTURE(s.effect);
    ids.insert(s.decision_id);
    auto it = rows.find(s.decision_id);
    REQUIRE_MESSAGE(it != rows.end(), "no audit row for a decision a client saw");
    const Row& row = it->second;
    CHECK(row.effect == s.effect);
    CHECK(row.status == s.status);
    CHECK(row.account == s.account);
    CHECK(row.key_id == tosgate::engine::KeyId(s.key));
    json rules = json::parse(row.rule_ids, nullptr, false);
    CHECK(rules.is_array());
    if (s.effect == "deny") CHECK(Contains(row.rule_ids, "purpose.no-model-training"));
    if (s.effect == "throttle") CHECK(rules.size() >= 1);
  }
  CHECK(ids.size() == seen.size());  // decision ids are unique

  std::error_code ec;
  fs::remove_all(tmp, ec);
}

TEST_CASE(
    "nginx with deploy/nginx: the upstream gets tosgate's X-Tos-Flag and X-Tos-Watermark, "
    "never the client's") {
  REQUIRE_MESSAGE(fs::exists(kNginx), "nginx is not installed at "
                                          << kNginx
                                          << "; run scripts/install-deps.sh (CI installs it)");
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-nginx-marks");
  REQUIRE(!tmp.empty());
  const std::string harvester_key = "sk-test-harvest-" + RandomHex(24);
  const std::string plain_key = "sk-test-plain-" + RandomHex(24);
  tosgate::test::WriteUpstreamHeaderPolicy(tmp / "policies");
  TosgateServe tosgate(tmp,
                       {{"acct_harvester", "pro", harvester_key}, {"acct_plain", "pro", plain_key}},
                       tmp / "policies");
  StandInUpstream upstream;  // records every header it gets
  const std::vector<int> free_ports = FreeLoopbackPorts(1);
  REQUIRE(free_ports.size() == 1);
  const Ports ports{tosgate.port(), 0, free_ports[0], upstream.port()};
  WriteNginxConfig(tmp, ports, /*echo_upstream=*/false);
  ChildProcess nginx_proc({kNginx, "-e", (tmp / "nginx-error.log").string(), "-p", tmp.string(),
                           "-c", (tmp / "nginx.conf").string(), "-g", "daemon off;"},
                          tmp / "nginx.out", tmp / "nginx.err");
  REQUIRE(nginx_proc.started());
  INFO("tosgate stderr:\n"
       << tosgate.stderr_text() << "\nnginx error log:\n"
       << ReadFile(tmp / "nginx-error.log") << "\nfiles in " << tmp.string());
  REQUIRE_MESSAGE(nginx_proc.WaitUntil([&] { return tosgate::test::CanConnect(ports.front); }),
                  "nginx did not start listening:\n"
                      << ReadFile(tmp / "nginx.err"));
  tosgate::test::CheckTosHeadersForwarded(ports.front, tosgate.port(), upstream, harvester_key,
                                          plain_key, kChatPath, kChatBody,
                                          {.decision_id_to_client = true});

  CHECK(nginx_proc.Stop(SIGTERM, std::chrono::seconds(10)).has_value());
  CHECK(tosgate.Stop().has_value());
  std::error_code ec;
  fs::remove_all(tmp, ec);
}
