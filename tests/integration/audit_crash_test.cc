// Crash safety of the audit store: `tosgate serve` with durability sync is
// killed with SIGKILL while eight clients send requests; every decision any
// client got an answer for must be in the store afterwards, and the chain
// must verify. Then one edited row makes `tosgate audit verify` exit 1.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "process_support.h"

namespace fs = std::filesystem;
using tosgate::test::ChildProcess;
using tosgate::test::ReadFile;
using tosgate::test::WriteFile;

namespace {

// Runs `tosgate audit ...` to the end; its exit code (-1 if it did not exit).
int RunAudit(const std::vector<std::string>& args, const fs::path& tmp, std::string* out) {
  std::vector<std::string> argv{TOSGATE_BINARY, "audit"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, tmp / "audit.out", tmp / "audit.err");
  if (!p.started()) return -1;
  auto st = p.Stop(0, std::chrono::seconds(60));  // signal 0: only wait for the exit
  *out = ReadFile(tmp / "audit.out") + ReadFile(tmp / "audit.err");
  return st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
}

std::set<std::string> StoredIds(const fs::path& db) {
  std::set<std::string> ids;
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);  // read-write: recovers the WAL
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT id FROM decisions", -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW)
    ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return ids;
}

}  // namespace

TEST_CASE("sync audit: SIGKILL under load loses no answered decision and the chain verifies") {
  REQUIRE_MESSAGE(fs::exists(TOSGATE_BINARY), "the tosgate binary is missing: " << TOSGATE_BINARY);
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-audit-crash");
  const std::vector<int> ports = tosgate::test::FreeLoopbackPorts(2);
  REQUIRE(ports.size() == 2);
  const std::string pro_key = "sk-crash-pro-0123456789abcdef";
  const std::string free_key = "sk-crash-free-0123456789abcdef";
  WriteFile(tmp / "accounts.jsonl",
            R"({"id":"acct_pro","org":"org_1","tier":"pro","country":"US","flags":[],)"
            R"("created":1763000000000,"payment_fingerprint":"pf_1","keys":[")" + pro_key + "\"]}\n" +
            R"({"id":"acct_free","org":"org_2","tier":"free","country":"DE","flags":[],)"
            R"("created":1763000000000,"payment_fingerprint":"pf_2","keys":[")" + free_key + "\"]}\n");
  const fs::path db = tmp / "audit.db";
  const fs::path key = tmp / "signing.pem";
  std::string keygen_out;
  REQUIRE_MESSAGE(RunAudit({"keygen", "--out", key.string()}, tmp, &keygen_out) == 0, keygen_out);
  REQUIRE(RunAudit({"public-key", "--key", key.string()}, tmp, &keygen_out) == 0);
  CHECK(keygen_out.find("-----BEGIN PUBLIC KEY-----") != std::string::npos);
  WriteFile(tmp / "public.pem", ReadFile(tmp / "audit.out"));
  WriteFile(tmp / "tosgate.yaml",
            "listen: {gateway: 127.0.0.1:" + std::to_string(ports[0]) +
            ", admin: 127.0.0.1:" + std::to_string(ports[1]) + "}\n"
            "audit: {path: " + db.string() + ", durability: sync, truncate_client_ip: true,\n"
            "        signing_key: " + key.string() + ", checkpoint_every: 50}\n"
            "accounts: {file: " + (tmp / "accounts.jsonl").string() + "}\n"
            "gateway: {threads: 4}\n");
  INFO("tosgate stderr:\n" << ReadFile(tmp / "tosgate.err") << "\nfiles in " << tmp.string());

  ChildProcess server({TOSGATE_BINARY, "serve", "--config", (tmp / "tosgate.yaml").string()},
                      tmp / "tosgate.out", tmp / "tosgate.err");
  REQUIRE(server.started());
  REQUIRE_MESSAGE(server.WaitUntil([&] {
    httplib::Client admin("127.0.0.1", ports[1]);
    admin.set_connection_timeout(1);
    auto r = admin.Get("/readyz");
    return r && r->status == 200;
  }), "tosgate did not become ready on /readyz");

  std::mutex mu;
  std::condition_variable enough_cv;
  std::vector<std::string> answered;  // decision ids of 200/403/429 answers
  std::set<int> statuses;
  std::atomic<bool> stop{false};
  std::atomic<int> without_id{0};
  constexpr size_t kBeforeKill = 400;

  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", ports[0]);
      c.set_connection_timeout(2);
      c.set_read_timeout(5);
      for (int i = 0; !stop; ++i) {
        httplib::Headers h{{"X-Original-Method", "POST"},
                           {"X-Original-URI", "/v1/chat/completions"},
                           {"X-Forwarded-For", "198.51.100." + std::to_string(t + 1)}};
        h.emplace("Authorization", "Bearer " + (t % 2 ? free_key : pro_key));
        if (i % 7 == 3) h.emplace("X-Usage-Purpose", "model-training");  // a 403
        auto r = c.Get("/v1/check", h);
        if (!r) {
          if (stop) break;
          continue;  // the server is being killed: the next attempt ends the loop
        }
        if (r->status != 200 && r->status != 403 && r->status != 429) continue;
        std::string id = r->get_header_value("X-Tos-Decision-Id");
        if (id.empty()) {
          auto body = nlohmann::json::parse(r->body, nullptr, false);
          if (body.is_object()) id = body.value("decision_id", "");
        }
        if (id.empty()) {
          ++without_id;
          continue;
        }
        std::lock_guard lock(mu);
        answered.push_back(id);
        statuses.insert(r->status);
        if (answered.size() == kBeforeKill) enough_cv.notify_all();
      }
    });
  }
  {
    std::unique_lock lock(mu);
    enough_cv.wait(lock, [&] { return answered.size() >= kBeforeKill; });
  }
  // Killed in the middle of the load: the clients are still sending.
  auto killed = server.Stop(SIGKILL, std::chrono::seconds(10));
  stop = true;
  for (auto& c : clients) c.join();
  REQUIRE(killed);
  CHECK(WIFSIGNALED(*killed));
  CHECK(without_id == 0);
  CHECK(statuses.count(200) == 1);
  CHECK(statuses.count(403) == 1);
  CHECK(statuses.count(429) == 1);

  const std::set<std::string> stored = StoredIds(db);
  size_t missing = 0;
  for (const std::string& id : answered)
    if (!stored.count(id)) ++missing;
  CHECK_MESSAGE(missing == 0, missing << " of " << answered.size()
                                      << " answered decisions are not in the store");
  CHECK(stored.size() >= answered.size());

  std::string out;
  CHECK_MESSAGE(RunAudit({"verify", "--db", db.string(), "--public-key",
                          (tmp / "public.pem").string()}, tmp, &out) == 0, out);
  CHECK(out.find("ok: ") != std::string::npos);
  CHECK(out.find(" 0 signatures verified") == std::string::npos);  // some were checked
  CHECK(out.find("signatures verified") != std::string::npos);
  // Client addresses were stored as their /24.
  CHECK(StoredIds(db).size() == stored.size());
  {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, "SELECT count(*) FROM decisions WHERE client_ip <> '198.51.100.0'",
                               -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
  }

  // prune: nothing is older than 2000; a bad age is a usage error.
  CHECK_MESSAGE(RunAudit({"prune", "--db", db.string(), "--before", "2000-01-01"}, tmp, &out) == 0,
                out);
  CHECK(out.find("pruned 0 records") != std::string::npos);
  CHECK(RunAudit({"prune", "--db", db.string(), "--older-than", "30x"}, tmp, &out) == 2);
  CHECK(RunAudit({"prune", "--db", db.string()}, tmp, &out) == 2);

  // The same store with one decision edited: verify exits 1 and names it.
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  REQUIRE(sqlite3_exec(h, "UPDATE decisions SET reason = reason || '-edited' WHERE seq = 5",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(h);
  CHECK_MESSAGE(RunAudit({"verify", "--db", db.string()}, tmp, &out) == 1, out);
  CHECK(out.find("TAMPERED: seq 5") != std::string::npos);
  // and prune refuses to discard the evidence.
  CHECK(RunAudit({"prune", "--db", db.string(), "--older-than", "0s"}, tmp, &out) == 1);
  CHECK(out.find("not pruning") != std::string::npos);
  CHECK(RunAudit({"verify", "--db", (tmp / "missing.db").string()}, tmp, &out) == 2);

  std::error_code ec;
  fs::remove_all(tmp, ec);
}

TEST_CASE("serve refuses a missing signing key and a bad checkpoint_every, saying where") {
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-audit-config");
  const std::vector<int> ports = tosgate::test::FreeLoopbackPorts(2);
  REQUIRE(ports.size() == 2);
  const std::string listen = "listen: {gateway: 127.0.0.1:" + std::to_string(ports[0]) +
                             ", admin: 127.0.0.1:" + std::to_string(ports[1]) + "}\n";
  auto serve = [&](const std::string& audit_yaml) {
    WriteFile(tmp / "tosgate.yaml", listen + audit_yaml);
    ChildProcess p({TOSGATE_BINARY, "serve", "--config", (tmp / "tosgate.yaml").string()},
                   tmp / "serve.out", tmp / "serve.err");
    auto st = p.Stop(0, std::chrono::seconds(20));
    REQUIRE_MESSAGE(st, "serve kept running");
    CHECK(WIFEXITED(*st));
    CHECK(WEXITSTATUS(*st) != 0);
    return ReadFile(tmp / "serve.err");
  };
  const std::string missing = (tmp / "no-such.pem").string();
  std::string err = serve("audit: {path: " + (tmp / "a.db").string() + ", signing_key: " +
                          missing + "}\n");
  CHECK_MESSAGE(err.find(missing) != std::string::npos, err);
  CHECK_MESSAGE(err.find("signing key") != std::string::npos, err);
  err = serve("audit: {path: " + (tmp / "a.db").string() + ", checkpoint_every: 0}\n");
  CHECK_MESSAGE(err.find("tosgate.yaml:2:") != std::string::npos, err);
  CHECK_MESSAGE(err.find("audit.checkpoint_every") != std::string::npos, err);
  std::error_code ec;
  fs::remove_all(tmp, ec);
}
