// What the proxy integration tests share: a real `tosgate serve` with the
// default policy pack and a handful of accounts, and a stand-in model API
// that records what reached it.
#pragma once

#include <doctest/doctest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "process_support.h"

namespace tosgate::test {

inline std::string RandomHex(size_t n) {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string s(n, '0');
  for (char& c : s) c = kHex[rd() % 16];
  return s;
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether the test must fail, rather than skip, when a proxy is not
// installed: scripts/test.sh and CI set TOSGATE_REQUIRE_PROXIES=1.
inline bool ProxiesRequired() {
  const char* v = std::getenv("TOSGATE_REQUIRE_PROXIES");
  return v && std::string(v) == "1";
}

struct TestAccount {
  std::string id, tier, key;
};

// `tosgate serve` on free loopback ports with the default pack (free tier:
// 20 requests a minute; pro: 600 + 60 burst), or the policy set in
// `policies` when given, the given accounts and an audit store in `dir`.
class TosgateServe {
 public:
  TosgateServe(const std::filesystem::path& dir, const std::vector<TestAccount>& accounts,
               const std::filesystem::path& policies = {})
      : dir_(dir) {
    const std::vector<int> ports = FreeLoopbackPorts(2);
    REQUIRE(ports.size() == 2);
    gateway_port_ = ports[0];
    admin_port_ = ports[1];
    std::string lines;
    int n = 0;
    for (const TestAccount& a : accounts) {
      nlohmann::json j = {{"id", a.id},
                          {"org", "org_" + std::to_string(++n)},
                          {"tier", a.tier},
                          {"country", "US"},
                          {"flags", nlohmann::json::array()},
                          {"created", 1763000000000},
                          {"payment_fingerprint", "pf_" + std::to_string(n)},
                          {"keys", {a.key}}};
      lines += j.dump() + "\n";
    }
    WriteFile(dir / "accounts.jsonl", lines);
    WriteFile(
        dir / "tosgate.yaml",
        "listen: {gateway: 127.0.0.1:" + std::to_string(gateway_port_) + ", admin: 127.0.0.1:" +
            std::to_string(admin_port_) + "}\n" + "audit: {path: " + (dir / "audit.db").string() +
            "}\n" + "accounts: {file: " + (dir / "accounts.jsonl").string() + "}\n" +
            "gateway: {threads: 2}\n" +
            (policies.empty() ? std::string()
                              : "policies: {dir: " + policies.string() + ", watch: false}\n"));
    REQUIRE_MESSAGE(std::filesystem::exists(TOSGATE_BINARY),
                    "the tosgate binary is missing: " << TOSGATE_BINARY);
    proc_.emplace(std::vector<std::string>{TOSGATE_BINARY, "serve", "--config",
                                           (dir / "tosgate.yaml").string()},
                  dir / "tosgate.out", dir / "tosgate.err");
    REQUIRE(proc_->started());
    REQUIRE_MESSAGE(proc_->WaitUntil([&] {
      httplib::Client admin("127.0.0.1", admin_port_);
      admin.set_connection_timeout(1);
      auto r = admin.Get("/readyz");
      return r && r->status == 200;
    }),
                    "tosgate did not become ready:\n"
                        << ReadFile(dir / "tosgate.err"));
  }

  int port() const { return gateway_port_; }
  std::string stderr_text() const { return ReadFile(dir_ / "tosgate.err"); }
  // SIGTERM; the wait status, or nothing if it did not exit within 15 s.
  std::optional<int> Stop() { return proc_->Stop(SIGTERM, std::chrono::seconds(15)); }

 private:
  std::filesystem::path dir_;
  int gateway_port_ = 0, admin_port_ = 0;
  std::optional<ChildProcess> proc_;
};

// A policy set whose allowed decisions carry the headers meant for the
// upstream, written to `dir` (for TosgateServe's `policies`):
// - flag.evaluation (attribute, action flag): X-Usage-Purpose: evaluation
//   gets `X-Tos-Flag: flag.evaluation`;
// - distill.harvest (competitor_training, logprob harvesting alone): an
//   account that asked for logprobs with logit_bias (see TeachHarvesting)
//   is at risk 0.90, above the watermark threshold, so each of its admitted
//   requests, with a body or not, gets `X-Tos-Flag: distill.harvest` and
//   `X-Tos-Watermark: distill.harvest;risk=0.90`.
inline void WriteUpstreamHeaderPolicy(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  WriteFile(dir / "policy.yaml", R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: upstream-headers, description: Flags and watermarks for the proxy tests}
settings: {mode: enforce, failure_mode: closed}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions, /v1/messages, /v1/responses]}
rules:
  - id: flag.evaluation
    kind: attribute
    when: {field: request.purpose, in: [evaluation]}
    action: flag
  - id: distill.harvest
    kind: competitor_training
    signals: {template_rate: 0, cot_elicitation: 0, logprob_harvest: 0.9, output_heavy: 0,
              volume: 0, timing_regular: 0, spread: 0, cluster: 0}
    window: {requests: 32, min_requests: 1}
    thresholds: {flag: 0.3, watermark: 0.5}
)");
}

// A request body that harvests logprobs: logprobs at the maximum with
// logit_bias. Under WriteUpstreamHeaderPolicy's distill.harvest, one is
// enough to bring the account to risk 0.90.
constexpr const char* kHarvestBody =
    R"({"model":"m","messages":[{"role":"user","content":"Write a poem"}],)"
    R"("logprobs":true,"top_logprobs":20,"logit_bias":{"1734":-100}})";

// Whether an X-Tos-Watermark is the harvest rule's at a risk of 0.9 or more
// (the exact risk rises with every request the account sends).
inline bool IsHarvestWatermark(const std::string& v) {
  return v.rfind("distill.harvest;risk=0.9", 0) == 0;
}

// Sends tosgate, directly on its gateway port and as Envoy's ext_authz does
// (POST /v1/check<path> with the body), `n` requests of `key` that ask for
// logprobs with logit_bias. nginx and Caddy send tosgate no body, so the
// account's harvesting is learnt this way; the risk belongs to the account,
// so its later bodiless requests through the proxy stay watermarked.
inline void TeachHarvesting(int gateway_port, const std::string& key, int n = 8) {
  httplib::Client gateway("127.0.0.1", gateway_port);
  gateway.set_connection_timeout(5);
  const httplib::Headers h{{"Authorization", "Bearer " + key}};
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    auto r = gateway.Post("/v1/check/v1/chat/completions", h, kHarvestBody, "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    if (i + 1 == n) REQUIRE(IsHarvestWatermark(r->get_header_value("X-Tos-Watermark")));
  }
}

// A stand-in model API on 127.0.0.1: answers every request 200
// "upstream-ok" and keeps what it received.
class StandInUpstream {
 public:
  struct Seen {
    std::string method, path, body;
    httplib::Headers headers;  // case-insensitive names
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "<absent>" : it->second;
    }
    bool has(const std::string& name) const { return headers.count(name) > 0; }
  };

  StandInUpstream() {
    server_.set_keep_alive_max_count(1000);
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(Seen{req.method, req.path, req.body, req.headers});
      }
      res.set_content("upstream-ok", "text/plain");
    };
    server_.Get(".*", handle);
    server_.Post(".*", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the loop runs: wait for it, briefly.
    for (int i = 0; i < 2000 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~StandInUpstream() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.size();
  }
  Seen last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.empty() ? Seen{} : seen_.back();
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

// What a proxy in front of tosgate must do with the X-Tos-* headers, as
// SUBCASEs: a watermarked account's upstream request carries tosgate's
// X-Tos-Watermark and X-Tos-Flag and never the client's forged ones (and the
// client is not told); a flag rule names itself; with nothing flagged, the
// client's own X-Tos-* headers are removed. `front` is the proxy's port,
// `tosgate_port` tosgate's; `plain_key` is an account no rule watermarks, but
// whose `X-Usage-Purpose: evaluation` a flag rule flags.
struct ForwardedHeaderOptions {
  bool decision_id_to_client = false;  // the client gets the decision id too
  bool no_placeholders = false;        // no "{http." left in any header (Caddy)
};
inline void CheckTosHeadersForwarded(int front, int tosgate_port, StandInUpstream& upstream,
                                     const std::string& harvester_key,
                                     const std::string& plain_key, const char* path,
                                     const char* body, ForwardedHeaderOptions opts = {}) {
  httplib::Client client("127.0.0.1", front);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  // What a client would like the API to believe about its own request.
  const httplib::Headers forged{
      {"X-Tos-Watermark", "none"}, {"X-Tos-Flag", "spoofed"}, {"X-Tos-Decision-Id", "spoofed-id"}};
  auto with = [](httplib::Headers h, const std::string& key) {
    h.emplace("Authorization", "Bearer " + key);
    return h;
  };

  SUBCASE("a watermarked account: tosgate's X-Tos-Watermark and X-Tos-Flag, the client's dropped") {
    TeachHarvesting(tosgate_port, harvester_key);
    auto r = client.Post(path, with(forged, harvester_key), body, "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(upstream.count() == 1);
    const StandInUpstream::Seen seen = upstream.last();
    CHECK(IsHarvestWatermark(seen.header("X-Tos-Watermark")));
    CHECK(seen.header("X-Tos-Flag") == "distill.harvest");
    CHECK(seen.headers.count("X-Tos-Watermark") == 1);
    CHECK(seen.headers.count("X-Tos-Flag") == 1);
    CHECK(seen.headers.count("X-Tos-Decision-Id") == 1);
    CHECK(seen.header("X-Tos-Decision-Id") != "spoofed-id");
    if (opts.decision_id_to_client)
      CHECK(r->get_header_value("X-Tos-Decision-Id") == seen.header("X-Tos-Decision-Id"));
    // For the upstream only: the client is not told it is watermarked.
    CHECK_FALSE(r->has_header("X-Tos-Watermark"));
  }

  SUBCASE("a flag rule: X-Tos-Flag names it, and no watermark") {
    auto r = client.Post(path, with({{"X-Usage-Purpose", "evaluation"}}, plain_key), body,
                         "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(upstream.count() == 1);
    const StandInUpstream::Seen seen = upstream.last();
    CHECK(seen.header("X-Tos-Flag") == "flag.evaluation");
    CHECK_FALSE(seen.has("X-Tos-Watermark"));
  }

  SUBCASE(
      "nothing flagged: a client's own X-Tos-Watermark, X-Tos-Flag and decision id are removed") {
    auto r = client.Post(path, with(forged, plain_key), body, "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(upstream.count() == 1);
    const StandInUpstream::Seen seen = upstream.last();
    CHECK_FALSE(seen.has("X-Tos-Watermark"));
    CHECK_FALSE(seen.has("X-Tos-Flag"));
    CHECK(seen.headers.count("X-Tos-Decision-Id") == 1);
    CHECK(seen.header("X-Tos-Decision-Id").size() >= 8);
    CHECK(seen.header("X-Tos-Decision-Id") != "spoofed-id");
    if (opts.no_placeholders) {
      for (const auto& [name, value] : seen.headers) {
        CAPTURE(name);
        CHECK_FALSE(Contains(value, "{http."));
      }
    }
  }
}

}  // namespace tosgate::test
