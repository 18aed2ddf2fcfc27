// tosgate replay: a candidate policy set against the active one on a capture.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "run_support.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

namespace {

constexpr int64_t kT0 = 1764331200000;

// The default pack with the free tier tightened from 20 to 5 requests a minute.
std::string TightFreeTierDir() {
  std::ifstream f(TOSGATE_SOURCE_DIR "/policies/packs/default/policy.yaml");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string pack = ss.str();
  const std::string from = "free: {requests: 20, per: 1m}";
  const size_t at = pack.find(from);
  REQUIRE(at != std::string::npos);
  pack.replace(at, from.size(), "free: {requests: 5, per: 1m}");
  std::string dir = TempDir();
  WriteFile(dir + "/policy.yaml", pack);
  return dir;
}

std::string AccountsFile(const std::string& dir) {
  WriteFile(dir + "/accounts.jsonl",
            R"({"id": "acct_free", "org": "org_1", "tier": "free", "keys": ["sk-test-free"]})"
            "\n");
  return dir + "/accounts.jsonl";
}

std::string CaptureLine(int64_t ts) {
  return R"({"ts": )" + std::to_string(ts) +
         R"(, "method": "POST", "path": "/v1/chat/completions", "client_ip": "203.0.113.7", )"
         R"("headers": {"authorization": "Bearer sk-test-free"}, )"
         R"("body": {"model": "m-large", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}, )"
         R"("usage": {"input_tokens": 3, "output_tokens": 5}})"
         "\n";
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("replay shows the throttles a tighter free tier adds, and writes one decision per request") {
  const std::string policies = TightFreeTierDir();
  const std::string dir = TempDir();
  // Five at once, three more within seconds, then one three minutes later, when
  // the windows have passed whatever the limiter counted.
  std::string capture;
  for (int i = 0; i < 5; ++i) capture += CaptureLine(kT0);
  for (int i = 1; i <= 3; ++i) capture += CaptureLine(kT0 + i * 1000);
  capture += CaptureLine(kT0 + 3000 + 180000);
  WriteFile(dir + "/capture.jsonl", capture);

  auto r = RunTosgate("replay --policies " + policies + " --capture " + dir + "/capture.jsonl --accounts " +
                      AccountsFile(dir) + " --decisions-out " + dir + "/decisions.jsonl");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(Has(r.out, "requests: 9 (lines skipped: 0, out-of-order timestamps: 0)"));
  CHECK(Has(r.out, "  active            9         0         0\n"));
  CHECK(Has(r.out, "  candidate         6         3         0\n"));
  CHECK(Has(r.out, "  allow -> throttle: 3\n"));
  CHECK(Has(r.out, "  unchanged: 6\n"));
  CHECK(Has(r.out, "rules (candidate):\n  rate.rpm throttle: 3\n"));
  CHECK(Has(r.out, "line 6 ts " + std::to_string(kT0 + 1000) +
                       " account acct_free /v1/chat/completions: allow [] -> throttle [rate.rpm]"));
  CHECK(Has(r.out, "throughput: 9 requests in "));

  const auto lines = Lines(dir + "/decisions.jsonl");
  REQUIRE(lines.size() == 9);
  const std::vector<std::string> want = {"allow", "allow", "allow",    "allow",   "allow",
                                         "throttle", "throttle", "throttle", "allow"};
  for (size_t i = 0; i < lines.size(); ++i) {
    CAPTURE(lines[i]);
    CHECK(lines[i].rfind(R"({"ts":)", 0) == 0);
    auto j = nlohmann::json::parse(lines[i]);
    CHECK(j.size() == 7);
    CHECK(j["account"] == "acct_free");
    CHECK(j["effect"] == want[i]);
    CHECK(j["enforced"] == true);
    CHECK(j["risk"] == 0.0);
    CHECK(j["rules"].is_array());
    if (want[i] == "throttle") {
      CHECK(j["rules"] == nlohmann::json::array({"rate.rpm"}));
      CHECK(j["reason"] == "rate-limited");
    } else {
      CHECK(j["rules"].empty());
    }
  }
  CHECK(nlohmann::json::parse(lines[0])["ts"] == kT0);
  CHECK(nlohmann::json::parse(lines[8])["ts"] == kT0 + 183000);
}

TEST_CASE("replay takes time from the capture: requests 61 s apart are never throttled") {
  const std::string policies = TightFreeTierDir();
  const std::string dir = TempDir();
  std::string capture;
  for (int i = 0; i < 12; ++i) capture += CaptureLine(kT0 + int64_t{i} * 61000);
  WriteFile(dir + "/capture.jsonl", capture);

  auto r = RunTosgate("replay --policies " + policies + " --capture " + dir + "/capture.jsonl --accounts " +
                      AccountsFile(dir) + " --decisions-out " + dir + "/decisions.jsonl");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(Has(r.out, "  candidate        12         0         0\n"));
  CHECK(Has(r.out, "  unchanged: 12\n"));
  const auto lines = Lines(dir + "/decisions.jsonl");
  REQUIRE(lines.size() == 12);
  for (const auto& l : lines) CHECK(nlohmann::json::parse(l)["effect"] == "allow");
}

TEST_CASE("replay reports a malformed line with its line number, replays the rest and exits 1") {
  const std::string policies = TightFreeTierDir();
  const std::string dir = TempDir();
  std::string capture = CaptureLine(kT0) + CaptureLine(kT0 + 10) + "{not json\n" + CaptureLine(kT0 + 20) +
                        R"({"path": "/v1/chat/completions"})" "\n" +
                        R"({"ts": "soon", "path": "/v1/chat/completions"})" "\n" +
                        CaptureLine(kT0 + 5);  // earlier than the one before it
  WriteFile(dir + "/capture.jsonl", capture);

  auto r = RunTosgate("replay --policies " + policies + " --capture " + dir + "/capture.jsonl --accounts " +
                      AccountsFile(dir) + " --decisions-out " + dir + "/decisions.jsonl");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(Has(r.out, dir + "/capture.jsonl:3: not valid JSON"));
  CHECK(Has(r.out, dir + "/capture.jsonl:5: missing \"ts\""));
  CHECK(Has(r.out, dir + "/capture.jsonl:6: \"ts\" must be an integer"));
  CHECK(Has(r.out, "requests: 4 (lines skipped: 3, out-of-order timestamps: 1)"));
  CHECK(Has(r.out, "incomplete"));
  CHECK(Lines(dir + "/decisions.jsonl").size() == 4);
}

TEST_CASE("replay without a readable capture or with bad flags exits 2 with one clear line") {
  const std::string policies = TightFreeTierDir();
  auto missing = RunTosgate("replay --policies " + policies + " --capture /nonexistent/capture.jsonl");
  CHECK(missing.exit_code == 2);
  CHECK(Has(missing.out, "cannot read capture /nonexistent/capture.jsonl"));

  auto no_policies = RunTosgate("replay --capture /nonexistent/capture.jsonl");
  CHECK(no_policies.exit_code == 2);
  CHECK(Has(no_policies.out, "usage: tosgate replay"));

  auto bad_policies = RunTosgate("replay --policies /nonexistent/policies --capture /dev/null");
  CHECK(bad_policies.exit_code == 2);
  CHECK(Has(bad_policies.out, "/nonexistent/policies"));
}
