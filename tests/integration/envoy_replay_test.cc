// Envoy's ext_authz HTTP service in front of tosgate, as a replay: Envoy is
// not in Debian, so this test does not run Envoy. It reads the shipped
// deploy/envoy/envoy.yaml, builds the check request that Envoy's
// documentation specifies for that configuration (the client's method,
// path_prefix + the client's path, Host, Content-Length, Authorization and
// the allowed_headers, the body with with_request_body and
// x-envoy-auth-partial-body), sends it to a real `tosgate serve`, and applies
// Envoy's documented rules to the answer: 200 lets the request through with
// allowed_upstream_headers set on it; a 5xx becomes status_on_error; any
// other status goes to the client with tosgate's body and the
// allowed_client_headers.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
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

// The ext_authz settings of deploy/envoy/envoy.yaml that the replay uses.
struct EnvoyAuthz {
  std::string path_prefix;
  std::set<std::string> allowed_headers, upstream_headers, client_headers, client_on_success;
  std::set<std::string> removed_before_check;  // by the header_mutation filter
  size_t max_request_bytes = 0;
  bool allow_partial = false;
  int status_on_error = 403;
};

std::set<std::string> Exacts(const YAML::Node& matcher) {
  std::set<std::string> out;
  for (const YAML::Node& p : matcher["patterns"]) out.insert(p["exact"].as<std::string>());
  return out;
}

EnvoyAuthz LoadEnvoyYaml() {
  const fs::path file = fs::path(TOSGATE_SOURCE_DIR) / "deploy" / "envoy" / "envoy.yaml";
  const YAML::Node root = YAML::LoadFile(file.string());
  const YAML::Node hcm =
      root["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
  EnvoyAuthz c;
  bool found = false;
  for (const YAML::Node& f : hcm["http_filters"]) {
    const std::string name = f["name"].as<std::string>();
    const YAML::Node t = f["typed_config"];
    if (name == "envoy.filters.http.header_mutation") {
      for (const YAML::Node& m : t["mutations"]["request_mutations"])
        if (m["remove"]) c.removed_before_check.insert(m["remove"].as<std::string>());
    } else if (name == "envoy.filters.http.ext_authz") {
      found = true;
      c.path_prefix = t["http_service"]["path_prefix"].as<std::string>();
      c.allowed_headers = Exacts(t["allowed_headers"]);
      const YAML::Node resp = t["http_service"]["authorization_response"];
      c.upstream_headers = Exacts(resp["allowed_upstream_headers"]);
      c.client_headers = Exacts(resp["allowed_client_headers"]);
      c.client_on_success = Exacts(resp["allowed_client_headers_on_success"]);
      c.max_request_bytes = t["with_request_body"]["max_request_bytes"].as<size_t>();
      c.allow_partial = t["with_request_body"]["allow_partial_message"].as<bool>();
      CHECK(t["status_on_error"]["code"].as<std::string>() == "ServiceUnavailable");
      c.status_on_error = 503;
      CHECK_FALSE(t["failure_mode_allow"].as<bool>());
    }
  }
  REQUIRE_MESSAGE(found, "no ext_authz filter in " << file);
  return c;
}

struct ClientRequest {
  std::string method = "POST", path = "/v1/chat/completions";
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  std::string peer = "203.0.113.7";  // the client's address as Envoy sees it
};

// The check request Envoy sends for `req`, byte for byte in the parts that
// matter: what Envoy's documentation lists, nothing from the client beyond.
std::string EnvoyCheckRequest(const EnvoyAuthz& c, const ClientRequest& req) {
  std::string body = req.body;
  std::string partial = "false";
  if (body.size() > c.max_request_bytes) {
    REQUIRE(c.allow_partial);  // else Envoy answers 413 itself
    body.resize(c.max_request_bytes);
    partial = "true";
  }
  std::string out = req.method + " " + c.path_prefix + req.path + " HTTP/1.1\r\n";
  out += "host: api.example.com\r\n";
  for (const auto& [name, value] : req.headers) {
    if (c.removed_before_check.count(name)) continue;
    if (name == "authorization" || c.allowed_headers.count(name))
      out += name + ": " + value + "\r\n";
  }
  // use_remote_address: Envoy's own x-forwarded-for, the peer's address.
  if (c.allowed_headers.count("x-forwarded-for")) out += "x-forwarded-for: " + req.peer + "\r\n";
  if (!req.body.empty()) out += "x-envoy-auth-partial-body: " + partial + "\r\n";
  out += "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

struct Outcome {
  bool allowed = false;
  int status = 0;  // what the client gets when refused
  std::map<std::string, std::string> upstream, client;
  std::string body;
};

// What Envoy does with tosgate's answer, as its documentation says.
Outcome Apply(const EnvoyAuthz& c, const RawResponse& authz) {
  Outcome o;
  if (authz.status == 200) {
    o.allowed = true;
    for (const auto& [k, v] : authz.headers) {
      if (c.upstream_headers.count(k)) o.upstream[k] = v;
      if (c.client_on_success.count(k)) o.client[k] = v;
    }
    return o;
  }
  if (authz.status >= 500) {  // an error: status_on_error, no body
    o.status = c.status_on_error;
    return o;
  }
  o.status = authz.status;
  o.body = authz.body;
  for (const auto& [k, v] : authz.headers)
    if (c.client_headers.count(k) || k == "www-authenticate" || k == "location") o.client[k] = v;
  return o;
}

struct Replay {
  EnvoyAuthz config = LoadEnvoyYaml();
  fs::path tmp = tosgate::test::MakeTempDir("tosgate-envoy");
  std::string pro_key = "sk-test-pro-" + tosgate::test::RandomHex(24);
  std::string free_key = "sk-test-free-" + tosgate::test::RandomHex(24);
  std::string evil_key = "sk-test-evil-" + tosgate::test::RandomHex(24);
  TosgateServe tosgate{tmp,
                       {{"acct_pro", "pro", pro_key},
                        {"acct_free", "free", free_key},
                        {"acct_evil\r\nX-Injected: yes", "pro", evil_key}}};

  Outcome Send(const ClientRequest& req, RawResponse* raw = nullptr) {
    RawClient conn(tosgate.port());
    REQUIRE(conn.connected());
    RawResponse r;
    REQUIRE(conn.RoundTrip(EnvoyCheckRequest(config, req), &r));
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
  r.headers = {{"authorization", "Bearer " + key}, {"content-type", "application/json"}};
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("envoy replay: deploy/envoy/envoy.yaml sends what tosgate needs and nothing forged") {
  const EnvoyAuthz c = LoadEnvoyYaml();
  CHECK(c.path_prefix == "/v1/check");
  for (const char* h : {"x-api-key", "x-usage-purpose", "x-request-id", "content-type"}) {
    CAPTURE(h);
    CHECK(c.allowed_headers.count(h) == 1);
  }
  // tosgate believes these; from a client they would choose the path, the
  // address or the account that is checked.
  for (const char* h :
       {"x-original-uri", "x-original-method", "x-forwarded-uri", "x-forwarded-method", "x-real-ip",
        "x-tos-account", "x-tos-org", "x-tos-tier"}) {
    CAPTURE(h);
    CHECK(c.allowed_headers.count(h) == 0);
  }
  for (const char* h :
       {"x-tos-account", "x-tos-operation", "x-tos-decision-id", "x-tos-flag", "x-tos-watermark"}) {
    CAPTURE(h);
    CHECK(c.upstream_headers.count(h) == 1);
    // Envoy sets only what tosgate sent: no client copy may reach the API.
    CHECK(c.removed_before_check.count(h) == 1);
  }
  // For the upstream, not the client.
  CHECK(c.client_on_success.count("x-tos-watermark") == 0);
  for (const char* h : {"content-type", "retry-after", "ratelimit-policy", "ratelimit"}) {
    CAPTURE(h);
    CHECK(c.client_headers.count(h) == 1);
  }
  // tosgate refuses bodies over 1 MiB (413); Envoy must never send more.
  CHECK(c.max_request_bytes <= 1048576);
}

TEST_CASE("envoy replay: allow, deny by body, throttle, partial body, header injection") {
  Replay replay;
  INFO("tosgate stderr:\n" << replay.tosgate.stderr_text());

  SUBCASE("allow: the upstream gets tosgate's headers, the client its limits") {
    Outcome o = replay.Send(Chat(replay.pro_key));
    REQUIRE(o.allowed);
    CHECK(o.upstream["x-tos-account"] == "acct_pro");
    CHECK(o.upstream["x-tos-operation"] == "chat");  // POST /v1/chat/completions, from the path
    CHECK(o.upstream["x-tos-decision-id"].size() >= 8);
    CHECK(o.client["ratelimit-policy"] == "\"rate.rpm\";q=660;w=60, \"budget.tpm\";q=2000000;w=60;qu=\"tokens\"");
    CHECK(Contains(o.client["ratelimit"], "r="));
  }

  SUBCASE("deny by a body rule: with_request_body lets tosgate see logprobs + logit_bias") {
    Outcome o = replay.Send(Chat(replay.pro_key, kExtractionBody));
    REQUIRE_FALSE(o.allowed);
    CHECK(o.status == 403);
    CHECK(o.client["content-type"] == "application/problem+json");
    CHECK(o.client["x-tos-rule"] == "extraction.logit-bias-with-logprobs");
    const json problem = json::parse(o.body, nullptr, false);
    REQUIRE(problem.is_object());
    CHECK(problem.value("status", 0) == 403);
    CHECK(problem.value("reason", "") == "extraction-logit-bias");
    CHECK(problem.value("decision_id", "") == o.client["x-tos-decision-id"]);
  }

  SUBCASE("deny by purpose: an allowed header") {
    ClientRequest req = Chat(replay.pro_key);
    req.headers.emplace_back("x-usage-purpose", "model-training");
    Outcome o = replay.Send(req);
    REQUIRE_FALSE(o.allowed);
    CHECK(o.status == 403);
    CHECK(o.client["x-tos-rule"] == "purpose.no-model-training");
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

  SUBCASE("a body over max_request_bytes arrives cut and marked partial: refused, unread") {
    // What was cut could hold anything: deciding on the part that arrived
    // would let the rest through unchecked (gateway.unreadable_body: refuse).
    std::string big = R"({"model":"m-large","messages":[{"role":"user","content":")";
    big.append(replay.config.max_request_bytes, 'x');
    big += R"("}]})";
    RawResponse raw;
    Outcome o = replay.Send(Chat(replay.pro_key, big), &raw);
    CHECK(raw.status == 400);
    CHECK_FALSE(o.allowed);
    CHECK(Contains(raw.body, "unreadable-body"));
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

TEST_CASE("envoy replay: the upstream gets tosgate's X-Tos-Flag and X-Tos-Watermark") {
  const EnvoyAuthz config = LoadEnvoyYaml();
  const fs::path tmp = tosgate::test::MakeTempDir("tosgate-envoy-marks");
  REQUIRE(!tmp.empty());
  const std::string key = "sk-test-harvest-" + tosgate::test::RandomHex(24);
  tosgate::test::WriteUpstreamHeaderPolicy(tmp / "policies");
  TosgateServe tosgate(tmp, {{"acct_harvester", "pro", key}}, tmp / "policies");
  INFO("tosgate stderr:\n" << tosgate.stderr_text());
  auto send = [&](const ClientRequest& req) {
    RawClient conn(tosgate.port());
    REQUIRE(conn.connected());
    RawResponse r;
    REQUIRE(conn.RoundTrip(EnvoyCheckRequest(config, req), &r));
    return Apply(config, r);
  };

  SUBCASE("a flag rule: x-tos-flag names it, no watermark") {
    ClientRequest req = Chat(key);
    req.headers.emplace_back("x-usage-purpose", "evaluation");
    Outcome o = send(req);
    REQUIRE(o.allowed);
    CHECK(o.upstream["x-tos-flag"] == "flag.evaluation");
    CHECK(o.upstream.count("x-tos-watermark") == 0);
  }

  SUBCASE("logprob harvesting in the body: x-tos-watermark and x-tos-flag for the API only") {
    // Envoy sends the body, so the check itself shows the harvesting.
    Outcome o = send(Chat(key, tosgate::test::kHarvestBody));
    REQUIRE(o.allowed);
    CHECK(tosgate::test::IsHarvestWatermark(o.upstream["x-tos-watermark"]));
    CHECK(o.upstream["x-tos-flag"] == "distill.harvest");
    CHECK(o.client.count("x-tos-watermark") == 0);
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
}
