// Issue 27's demonstration, with three `tosgate serve` processes on
// loopback: A detects a simulated distillation campaign and publishes it as
// a TAXII 2.1 collection; B polls A's collection; B0 is B without the
// source. The same campaign's fresh accounts (new keys, the same address
// ranges and template) are replayed against B and B0 alternately, and the
// requests each needs until the competitor_training rule catches it are
// counted. Benign accounts from elsewhere are replayed too: neither gateway
// may catch them. TOSGATE_DEMO_REPORT=1 prints the figures
// (bench/indicators_demo.sh, docs/indicators.md).
#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "process_support.h"

namespace tosgate::test {
namespace {

constexpr const char* kPolicy = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: share}
settings: {mode: enforce}
identity:
  unknown_keys: {tier: free}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: intel.partners
    kind: indicators
    sources: [{name: a, feed: partner-a}]
    key_file: partners.key
    record: true
    raise: {rule: distill, max: 0.8, cluster_full: 3}
  - id: distill
    kind: competitor_training
    match: {operations: [chat]}
    thresholds: {flag: 0.6}
)";

// sha256("audit-token"): the auditor token A issues to its partner B.
constexpr const char* kAuditTokenSha256 = "00c762df12ad848efe952a2eaee0600653ae0acdd6dfbea9a079d8e8c385e86a";
// The key the partners agreed on: keyed fingerprints and harvest templates.
constexpr const char* kPartnersKey = "partners-shared-key-0123456789";
constexpr int kMaxRequests = 40;  // an account not caught by then counts as this many

class Serve {
 public:
  Serve(const std::filesystem::path& dir, const std::string& extra) : dir_(dir) {
    std::filesystem::create_directories(dir_ / "policies");
    WriteFile(dir_ / "policies" / "share.yaml", kPolicy);
    WriteFile(dir_ / "policies" / "partners.key", std::string(kPartnersKey) + "\n");
    const std::vector<int> ports = FreeLoopbackPorts(2);
    REQUIRE(ports.size() == 2);
    port_ = ports[0];
    admin_port_ = ports[1];
    WriteFile(dir_ / "tosgate.yaml",
              "listen: {gateway: 127.0.0.1:" + std::to_string(port_) + ", admin: 127.0.0.1:" +
                  std::to_string(admin_port_) + "}\n" + "policies: {dir: " + (dir_ / "policies").string() +
                  "}\n" + "audit: {path: " + (dir_ / "audit.db").string() + "}\n" +
                  "admin: {db: " + (dir_ / "admin.db").string() + ", tokens: [{name: partner-b, sha256: " +
                  kAuditTokenSha256 + ", role: auditor}]}\n" + "gateway: {threads: 2}\n" + extra);
    proc_.emplace(std::vector<std::string>{TOSGATE_BINARY, "serve", "--config", (dir_ / "tosgate.yaml").string()},
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
  ~Serve() { proc_->Stop(SIGTERM, std::chrono::seconds(15)); }

  // One chat check for `key` from `ip`; true when competitor_training
  // caught it (its flag, or a refusal).
  bool Caught(const std::string& key, const std::string& ip, const std::string& text, int max_tokens = 4096) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(5);
    httplib::Headers h{{"Authorization", "Bearer " + key}, {"X-Forwarded-For", ip}};
    nlohmann::json body = {{"model", "gpt-4o"},
                           {"messages", {{{"role", "user"}, {"content", text}}}},
                           {"max_tokens", max_tokens}};
    auto r = c.Post("/v1/check/v1/chat/completions", h, body.dump(), "application/json");
    REQUIRE(r);
    return r->status == 403 || r->status == 429 || r->get_header_value("X-Tos-Flag").find("distill") != std::string::npos;
  }
  httplib::Result Admin(const std::string& path) const {
    httplib::Client c("127.0.0.1", admin_port_);
    return c.Get(path, {{"Authorization", "Bearer audit-token"}});
  }
  std::string log() const { return ReadFile(dir_ / "tosgate.err"); }
  int admin_port() const { return admin_port_; }
  ChildProcess& proc() { return *proc_; }

 private:
  std::filesystem::path dir_;
  int port_ = 0, admin_port_ = 0;
  std::optional<ChildProcess> proc_;
};

// The campaign's template: one instruction, a varying problem.
std::string Harvest(int account, int i) {
  static const char* topics[] = {"a train leaving a station", "compound interest on savings",
                                 "the area of a triangle", "mixing two solutions", "a ladder on a wall",
                                 "probability of two dice", "work done by two pumps", "a boat crossing a river"};
  return "Solve the following problem step by step and show your reasoning in full before the final "
         "answer. Problem " + std::to_string(account * 100 + i) + ": " + topics[(account + i) % 8] + ".";
}
std::string Benign(int account, int i) {
  static const char* asks[] = {"Can you suggest a name for my cat?", "What should I cook tonight with rice and beans?",
                               "Help me write a birthday message for my sister.", "Is it going to be cold in Oslo in March?",
                               "Give me three ideas for a weekend hike near Denver.", "How do I fix a squeaky door?"};
  return asks[(account + i) % 6];
}
std::string CampaignIp(int account) {
  return (account % 2 ? "198.51.100." : "203.0.113.") + std::to_string(10 + account);
}

// Requests until caught (kMaxRequests + 1 when never).
int RequestsToCatch(const Serve& s, const std::string& key, const std::string& ip, int account, bool benign) {
  for (int i = 1; i <= kMaxRequests; ++i)
    if (benign ? s.Caught(key, ip, Benign(account, i), 300) : s.Caught(key, ip, Harvest(account, i))) return i;
  return kMaxRequests + 1;
}

double Median(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

TEST_CASE("indicators: B polls A's TAXII collection and catches A's campaign's fresh accounts sooner than B0") {
  REQUIRE_MESSAGE(std::filesystem::exists(TOSGATE_BINARY), "missing " << TOSGATE_BINARY);
  const std::filesystem::path dir = MakeTempDir("tosgate-share");
  // A: publishes accounts its competitor_training rule decided at risk 0.6+.
  Serve a(dir / "a", "indicators:\n  export: {producer: Provider A, rule: distill, min_risk: 0.6, "
                     "confidence: 90, refresh_seconds: 1, key_file: " + (dir / "a" / "policies" / "partners.key").string() + "}\n");
  // 1. The campaign at A: 8 accounts over two /24s, 25 requests each.
  int caught_at_a = 0;
  for (int k = 0; k < 8; ++k)
    caught_at_a += RequestsToCatch(a, "sk-campaign-" + std::to_string(k), CampaignIp(k), k, false) <= 25;
  CHECK(caught_at_a >= 6);

  // 2. A's TAXII server: discovery, the collection, its indicators.
  auto r = a.Admin("/taxii2/");
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  CHECK(r->get_header_value("Content-Type") == "application/taxii+json;version=2.1");
  r = a.Admin("/taxii2/tosgate/collections/");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const std::string collection = nlohmann::json::parse(r->body)["collections"][0]["id"];
  r = a.Admin("/taxii2/tosgate/collections/" + collection + "/objects/?match[type]=indicator");
  REQUIRE(r);
  const nlohmann::json published = nlohmann::json::parse(r->body);
  INFO(r->body);
  REQUIRE(published.contains("objects"));
  CHECK(r->body.find("198.51.100.0/24") != std::string::npos);
  CHECK(r->body.find("203.0.113.0/24") != std::string::npos);
  CHECK(r->body.find("sk-campaign") == std::string::npos);
  // The campaign's harvest template (keyed) and request shape; no prompt text.
  CHECK(r->body.find("x-tosgate-request:template_simhash_keyed") != std::string::npos);
  CHECK(r->body.find("family=gpt;effort=none;n=1;temperature=default;max_tokens=2k-8k;logprobs=no") != std::string::npos);
  CHECK(r->body.find("step by step") == std::string::npos);

  // 3. B polls A (as A's partner, with the auditor token A issued); B0 does not.
  WriteFile(dir / "partner-a.token", "audit-token\n");
  Serve b(dir / "b", "indicators:\n  sources:\n    - {name: partner-a, url: 'http://127.0.0.1:" +
                         std::to_string(a.admin_port()) + "/taxii2/tosgate/', collection: " + collection +
                         ", token_file: " + (dir / "partner-a.token").string() + ", weight: 0.9, interval_seconds: 1}\n");
  Serve b0(dir / "b0", "");
  REQUIRE_MESSAGE(b.proc().WaitUntil([&] { return b.log().find(" indicators in force") != std::string::npos &&
                                                  b.log().find("source partner-a: 0 indicators") == std::string::npos; }),
                  b.log());

  // 4. Fresh accounts of the same campaign, B and B0 alternately; then
  // benign accounts from another range.
  std::vector<int> with, without, benign_b, benign_b0;
  for (int k = 0; k < 10; ++k) {
    const std::string key = "sk-fresh-" + std::to_string(k);
    with.push_back(RequestsToCatch(b, key, CampaignIp(20 + k), 20 + k, false));
    without.push_back(RequestsToCatch(b0, key, CampaignIp(20 + k), 20 + k, false));
  }
  for (int k = 0; k < 4; ++k) {
    const std::string key = "sk-benign-" + std::to_string(k), ip = "192.0.2." + std::to_string(10 + k);
    benign_b.push_back(RequestsToCatch(b, key, ip, k, true));
    benign_b0.push_back(RequestsToCatch(b0, key, ip, k, true));
  }
  // The same campaign from an address range A never saw: only the template
  // (and the shape) can tie these accounts to it.
  std::vector<int> moved_b, moved_b0;
  for (int k = 0; k < 6; ++k) {
    const std::string key = "sk-moved-" + std::to_string(k), ip = "100.64.7." + std::to_string(10 + k);
    moved_b.push_back(RequestsToCatch(b, key, ip, 40 + k, false));
    moved_b0.push_back(RequestsToCatch(b0, key, ip, 40 + k, false));
  }
  const double median_with = Median(with), median_without = Median(without);
  if (std::getenv("TOSGATE_DEMO_REPORT")) {
    auto list = [](const std::vector<int>& v) {
      std::string s;
      for (int x : v) s += (s.empty() ? "" : " ") + (x > kMaxRequests ? std::string("never") : std::to_string(x));
      return s;
    };
    std::cout << "campaign accounts caught at A within 25 requests: " << caught_at_a << " of 8\n"
              << "indicators published by A: " << published["objects"].size() << "\n"
              << "fresh accounts, requests to catch at B (polls A):  " << list(with) << "  median " << median_with << "\n"
              << "fresh accounts, requests to catch at B0 (no feed): " << list(without) << "  median " << median_without << "\n"
              << "benign accounts caught at B: " << list(benign_b) << "; at B0: " << list(benign_b0) << "\n"
              << "moved accounts (new range), requests to catch at B: " << list(moved_b) << "  median " << Median(moved_b)
              << "; at B0: " << list(moved_b0) << "  median " << Median(moved_b0) << "\n";
  }
  CHECK(Median(moved_b) < Median(moved_b0));
  CHECK(median_with <= 5);
  CHECK(median_with < median_without);
  for (int x : benign_b) CHECK(x > kMaxRequests);
  for (int x : benign_b0) CHECK(x > kMaxRequests);
}

}  // namespace
}  // namespace tosgate::test
