// Traefik's forwardAuth middleware in front of tosgate, as a replay: Traefik
// is not in Debian, so this test does not run Traefik. It reads the shipped
// deploy/traefik/dynamic.yml, builds the check request that Traefik's
// documentation specifies for that configuration (a GET to `address` with
// X-Forwarded-Method, -Proto, -Host, -Uri and -For, the client headers named
// in authRequestHeaders, and with forwardBody the body), sends it to a real
// `tosgate serve`, and applies Traefik's documented rules to the answer: a
// 2xx lets the request through with authResponseHeaders replacing the
// request's own; any other answer goes to the client as it is (status,
// headers, body).
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "proxy_fixture.h"
#include "tests/api/raw_client.h"

namespace fs = std::filesystem;
using nlohmann::json;
using tosgate::test::Contains;
using tosgate::test::RawClient;
using tosgate::test::RawResponse;
using tosgate::test::TosgateServe;

namespace {

constexpr const char* kChatBody =
    R"({"model":"m-large","messages":[{"role":"user","content":"Say hello."}],"max_tokens":64})";
constexpr const char* kExtractionBody =
    R"({"model":"m-large","messages":[{"role":"user","content":"a"}],"logprobs":true,)"
    R"("logit_bias":{"1734":100}})";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The forwardAuth settings of deploy/traefik/dynamic.yml that the replay uses
// (header names in lower case: Traefik compares them canonicalized).
struct TraefikAuth {
  std::string path;  // of `address`
  std::set<std::string> request_headers, response_headers, stripped;
  bool forward_body = false;
  size_t max_body_size = 0;
};

TraefikAuth LoadDynamicYml() {
  const fs::path file = fs::path(TOSGATE_SOURCE_DIR) / "deploy" / "traefik" / "dynamic.yml";
  const YAML::Node http = YAML::LoadFile(file.string())["http"];
  const YAML::Node router = http["routers"]["model-api"];
  std::vector<std::string> chain;
  for (const YAML::Node& m : router["middlewares"]) chain.push_back(m.as<std::string>());
  REQUIRE(chain == std::vector<std::string>{"tosgate-strip", "tosgate"});

  TraefikAuth c;
  for (const auto& kv : http["middlewares"]["tosgate-strip"]["headers"]["customRequestHeaders"]) {
    CHECK(kv.second.as<std::string>().empty());  // an empty value removes the header
    c.stripped.insert(Lower(kv.first.as<std::string>()));
  }
  const YAML::Node fa = http["middlewares"]["tosgate"]["forwardAuth"];
  const std::string address = fa["address"].as<std::string>();
  const std::string host_part = "http://127.0.0.1:8080";
  REQUIRE(address.rfind(host_part, 0) == 0);
  c.path = address.substr(host_part.size());
  CHECK_FALSE(fa["trustForwardHeader"].as<bool>());
  for (const YAML::Node& h : fa["authRequestHeaders"])
    c.request_headers.insert(Lower(h.as<std::string>()));
  for (const YAML::Node& h : fa["authResponseHeaders"])
    c.response_headers.insert(Lower(h.as<std::string>()));
  c.forward_body = fa["forwardBody"].as<bool>();
  c.max_body_size = fa["maxBodySize"].as<size_t>();
  return c;
}

struct ClientRequest {
  std::string method = "POST", uri = "/v1/chat/completions?x=1";
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  std::string peer = "203.0.113.9";
};

// The check request Traefik sends for `req`. Returns "" when Traefik answers
// itself (a body over maxBodySize: 401).
std::string TraefikCheckRequest(const TraefikAuth& c, const ClientRequest& req) {
  if (c.forward_body && req.body.size() > c.max_body_size) return "";
  std::string out = "GET " + c.path + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n";
  for (const auto& [name, value] : req.headers) {
    if (c.stripped.count(name)) continue;  // the tosgate-strip middleware
    if (c.request_headers.count(name)) out += name + ": " + value + "\r\n";
  }
  out += "X-Forwarded-Method: " + req.method + "\r\n";
  out += "X-Forwarded-Proto: http\r\n";
  out += "X-Forwarded-Host: api.example.com\r\n";
  out += "X-Forwarded-Uri: " + req.uri + "\r\n";
  out += "X-Forwarded-For: " + req.peer + "\r\n";
  out += "Accept-Encoding: gzip\r\n";
  const std::string body = c.forward_body ? req.body : "";
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

struct Outcome {
  bool allowed = false;
  int status = 0;  // what the client gets when refused
  std::map<std::string, std::string> upstream, client;
  std::string body;
};

// What Traefik does with tosgate's answer, as its documentation says.
Outcome Apply(const TraefikAuth& c, const RawResponse& auth) {
  Outcome o;
  if (auth.status >= 200 && auth.status < 300) {
    o.allowed = true;
    for (const auto& [k, v] : auth.headers)
      if (c.response_headers.count(k)) o.upstream[k] = v;
    return o;
  }
  o.status = auth.status;
  o.body = auth.body;
  o.client = auth.headers;  // all of them, less hop-by-hop ones
  o.client.erase("connection");
  o.client.erase("keep-alive");
  return o;
}

struct Replay {
  TraefikAuth config = LoadDynamicYml();
  fs::path tmp = tosgate::test::MakeTempDir("tosgate-traefik");
  std::string pro_key = "sk-test-pro-" + tosgate::test::RandomHex(24);
  std::string free_key = "sk-test-free-" + tosgate::test::RandomHex(24);
  std::string evil_key = "sk-test-evil-" + tosgate::test::RandomHex(24);
  TosgateServe tosgate{tmp,
                       {{"acct_pro", "pro", pro_key},
                        {"acct_free", "free", free_key},
                        {"acct_evil\r\nX-Injected: yes", "pro", evil_key}}};

  Outcome Send(const ClientRequest& req, RawResponse* raw = nullptr) {
    const std::string check = TraefikCheckRequest(config, req);
    REQUIRE_MESSAGE(!check.empty(), "Traefik would refuse this body itself");
    RawClient conn(tosgate.port());
    REQUIRE(conn.connected());
    RawResponse r;
    REQUIRE(conn.RoundTrip(check, &r));
    if (raw) *raw = r;
    return Apply(config, r);
  }
  ~Replay() {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  }
};

ClientRequest Chat(const std::string& key, std::string body = kChatBody) {
  ClientRequest r;
  r.headers = {{"authorization", "Bearer " + key},
               {"content-type", "application/json"},
               {"user-agent", "test-client"}};
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE(
    "traefik replay: deploy/traefik/dynamic.yml sends what tosgate needs and nothing forged") {
  const TraefikAuth c = LoadDynamicYml();
  CHECK(c.path == "/v1/check");
  CHECK(c.forward_body);
  CHECK(c.max_body_size <= 1048576);  // tosgate refuses larger bodies with 413
  for (const char* h :
       {"authorization", "x-api-key", "x-usage-purpose", "x-request-id", "content-type"}) {
    CAPTURE(h);
    CHECK(c.request_headers.count(h) == 1);
  }
  // tosgate believes these; from a client they would choose the path, the
  // address or the account that is checked.
  for (const char* h : {"x-original-uri", "x-original-method", "x-real-ip", "x-tos-account",
                        "x-tos-org", "x-tos-tier"}) {
    CAPTURE(h);
    CHECK(c.request_headers.count(h) == 0);
    CHECK(c.stripped.count(h) == 1);
  }
  for (const char* h :
       {"x-tos-account", "x-tos-operation", "x-tos-decision-id", "x-tos-flag", "x-tos-watermark"}) {
    CAPTURE(h);
    CHECK(c.response_headers.count(h) == 1);
    // Copied only when tosgate sends it: no client copy may reach the API.
    CHECK(c.stripped.count(h) == 1);
  }
}

TEST_CASE("traefik replay: allow, deny by body, throttle, header injection") {
  Replay replay;
  INFO("tosgate stderr:\n" << replay.tosgate.stderr_text());

  SUBCASE("allow: the upstream gets tosgate's headers") {
    Outcome o = replay.Send(Chat(replay.pro_key));
    REQUIRE(o.allowed);
    CHECK(o.upstream["x-tos-account"] == "acct_pro");
    CHECK(o.upstream["x-tos-operation"] == "chat");  // from X-Forwarded-Method and -Uri
    CHECK(o.upstream["x-tos-decision-id"].size() >= 8);
    CHECK(o.upstream.count("ratelimit") == 0);  // not in authResponseHeaders
  }

  SUBCASE("deny by a body rule: forwardBody lets tosgate see logprobs + logit_bias") {
    Outcome o = replay.Send(Chat(replay.pro_key, kExtractionBody));
    REQUIRE_FALSE(o.allowed);
    CHECK(o.status == 403);
    CHECK(o.client["content-type"] == "application/problem+json");
    CHECK(o.client["x-tos-rule"] == "extraction.logit-bias-with-logprobs");
    const json problem = json::parse(o.body, nullptr, false);
    REQUIRE(problem.is_object());
    CHECK(problem.value("status", 0) == 403);
    CHECK(problem.value("decision_id", "") == o.client["x-tos-decision-id"]);
  }

  SUBCASE("throttle: the client gets 429 with Retry-After, RateLimit and the problem") {
    for (int i = 1; i <= 20; ++i) {
      CAPTURE(i);
      REQUIRE(replay.Send(Chat(replay.free_key)).allowed);
    }
    Outcome o = replay.Send(Chat(replay.free_key));
    REQUIRE_FALSE(o.allowed);
    CHECK(o.status == 429);
    const int retry_after = std::stoi(o.client["retry-after"]);
    CHECK(retry_after >= 1);
    // Up to two windows when the burst straddles a minute boundary.
    CHECK(retry_after <= 120);
    CHECK(o.client["ratelimit-policy"] == "\"rate.rpm\";q=20;w=60");
    CHECK(Contains(o.client["ratelimit"], "r=0"));
    const json problem = json::parse(o.body, nullptr, false);
    REQUIRE(problem.is_object());
    CHECK(problem.value("status", 0) == 429);
  }

  SUBCASE("a spoofed X-Original-URI does not change the checked path") {
    // The body rule applies to chat; a client claiming another path must not
    // escape it.
    ClientRequest req = Chat(replay.pro_key, kExtractionBody);
    req.headers.emplace_back("x-original-uri", "/v1/models");
    req.headers.emplace_back("x-original-method", "GET");
    Outcome o = replay.Send(req);
    CHECK_FALSE(o.allowed);
    CHECK(o.status == 403);
  }

  SUBCASE("header injection: CR LF in an account id stays inside one header value") {
    RawResponse raw;
    Outcome o = replay.Send(Chat(replay.evil_key), &raw);
    REQUIRE(o.allowed);
    CHECK(raw.header("x-tos-account") == "acct_evilX-Injected: yes");
    CHECK_FALSE(raw.has("x-injected"));
    CHECK(o.upstream["x-tos-account"] == "acct_evilX-Injected: yes");
  }
}

TEST_CASE("traefik replay: the upstream gets tosgate's X-Tos-Flag and X-Tos-Watermark") {
  const TraefikAuth config = LoadDynamicYml();
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-traefik-marks");
  REQUIRE(!tmp.empty());
  const std::string key = "sk-test-harvest-" + tosgate::test::RandomHex(24);
  tosgate::test::WriteUpstreamHeaderPolicy(tmp / "policies");
  TosgateServe tosgate(tmp, {{"acct_harvester", "pro", key}}, tmp / "policies");
  INFO("tosgate stderr:\n" << tosgate.stderr_text());
  auto send = [&](const ClientRequest& req) {
    RawClient conn(tosgate.port());
    REQUIRE(conn.connected());
    RawResponse r;
    REQUIRE(conn.RoundTrip(TraefikCheckRequest(config, req), &r));
    return Apply(config, r);
  };

  SUBCASE("a flag rule: X-Tos-Flag names it, no watermark") {
    ClientRequest req = Chat(key);
    req.headers.emplace_back("x-usage-purpose", "evaluation");
    Outcome o = send(req);
    REQUIRE(o.allowed);
    CHECK(o.upstream["x-tos-flag"] == "flag.evaluation");
    CHECK(o.upstream.count("x-tos-watermark") == 0);
  }

  SUBCASE("logprob harvesting in the body (forwardBody): X-Tos-Watermark and X-Tos-Flag") {
    Outcome o = send(Chat(key, tosgate::test::kHarvestBody));
    REQUIRE(o.allowed);
    CHECK(tosgate::test::IsHarvestWatermark(o.upstream["x-tos-watermark"]));
    CHECK(o.upstream["x-tos-flag"] == "distill.harvest");
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
}
