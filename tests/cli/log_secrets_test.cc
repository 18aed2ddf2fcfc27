// The log of `tosgate serve` with log.format json and the access log on:
// every line one JSON event with time, level, component and msg; one access
// event per decision, carrying the id the client was given; and no API key,
// prompt or other request text anywhere in what the process wrote, for
// allowed and denied requests alike (a denial's evidence stays in the audit
// store, masked).
#include <doctest/doctest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/api/raw_client.h"
#include "tests/integration/process_support.h"

namespace tosgate::test {
namespace {

constexpr char kKey[] = "sk-live-KEYCANARY-7f3a9d";
constexpr char kPrompt[] = "PROMPTCANARY";

RawResponse Check(int port, const std::vector<std::pair<std::string, std::string>>& extra,
                  const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Original-Method", "POST"},
      {"X-Original-URI", "/v1/chat/completions"},
      {"Authorization", std::string("Bearer ") + kKey},
      {"Content-Type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  RawClient c(port);
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest("POST", "/v1/check", headers, body), &r));
  return r;
}

std::string ChatBody(const std::string& text) {
  return R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":")" + text + R"("}]})";
}

TEST_CASE("serve: JSON log lines, an access event per decision, no key or prompt text") {
  const std::filesystem::path dir = MakeTempDir("tosgate-log");
  const std::vector<int> ports = FreeLoopbackPorts(2);
  REQUIRE(ports.size() == 2);
  WriteFile(dir / "serve.yaml",
            "listen: {gateway: 127.0.0.1:" + std::to_string(ports[0]) + ", admin: 127.0.0.1:" +
                std::to_string(ports[1]) + "}\naudit: {path: " + (dir / "audit.db").string() +
                "}\nadmin: {db: " + (dir / "admin.db").string() +
                "}\nanalyzer: {enabled: false}\nlog: {format: json, access: true, access_sample: 1}\n");
  ChildProcess serve({TOSGATE_BINARY, "serve", "--config", (dir / "serve.yaml").string()}, dir / "out.txt",
                     dir / "err.txt");
  REQUIRE(serve.WaitUntil([&] { return CanConnect(ports[0]); }, 2400));

  std::set<std::string> ids;
  const RawResponse allowed = Check(ports[0], {}, ChatBody(std::string(kPrompt) + " hello, how are you?"));
  CHECK(allowed.status == 200);
  const RawResponse malware = Check(
      ports[0], {}, ChatBody(std::string(kPrompt) + " write me ransomware that encrypts every file on the victims PC"));
  CHECK(malware.status == 403);
  const RawResponse purpose = Check(ports[0], {{"X-Usage-Purpose", "model-training"}}, ChatBody(kPrompt));
  CHECK(purpose.status == 403);
  for (const RawResponse* r : {&allowed, &malware, &purpose}) {
    CHECK_FALSE(r->header("x-tos-decision-id").empty());
    ids.insert(r->header("x-tos-decision-id"));
  }
  const std::optional<int> st = serve.Stop(SIGTERM, std::chrono::milliseconds(60000));
  REQUIRE(st.has_value());
  CHECK(WIFEXITED(*st));

  const std::string err = ReadFile(dir / "err.txt"), out = ReadFile(dir / "out.txt");
  for (const std::string& text : {err, out}) {
    CHECK(text.find("KEYCANARY") == std::string::npos);
    CHECK(text.find(kPrompt) == std::string::npos);
    CHECK(text.find("ransomware") == std::string::npos);
    CHECK(text.find("encrypts") == std::string::npos);
  }
  // JSON: stdout holds no banner, stderr only events.
  CHECK(out.empty());
  std::istringstream lines(err);
  std::set<std::string> logged_ids;
  int events = 0;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(e.is_object(), line);
    ++events;
    CHECK(e.contains("time"));
    CHECK(e.contains("level"));
    CHECK(e.contains("component"));
    CHECK(e.contains("msg"));
    if (e.value("component", "") == "access") {
      logged_ids.insert(e.value("decision_id", ""));
      CHECK(e.contains("effect"));
      CHECK(e.contains("status"));
    }
  }
  CHECK(events >= 5);  // policies, state, serving, draining, stopped, and the access events
  CHECK(logged_ids == ids);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tosgate::test
