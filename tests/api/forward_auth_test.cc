#include "api/request/forward_auth.h"

#include <doctest/doctest.h>

#include "engine/accounts.h"
#include "tests/api/forward_auth_requests.h"

namespace tosgate::api {
namespace {

using test::Holds;
using test::Incoming;
using test::Refused;
using test::Translate;

TEST_CASE("nginx auth_request: method and URI come from X-Original-*") {
  Request r = Translate(Incoming("GET", "/v1/check",
                                 {{"X-Original-Method", "post"},
                                  {"X-Original-URI", "/v1/chat/completions?stream=true"},
                                  {"X-Real-IP", "203.0.113.7"}}));
  CHECK(r.method == "POST");
  CHECK(r.path == "/v1/chat/completions");
  CHECK(r.client_ip == "203.0.113.7");
}

TEST_CASE("Traefik and Caddy: method and URI come from X-Forwarded-*") {
  Request r = Translate(Incoming("GET", "/v1/check",
                                 {{"X-Forwarded-Method", "POST"},
                                  {"X-Forwarded-Uri", "/v1/messages?beta=1"},
                                  {"X-Forwarded-For", "198.51.100.4"}}));
  CHECK(r.method == "POST");
  CHECK(r.path == "/v1/messages");
  CHECK(r.client_ip == "198.51.100.4");
}

TEST_CASE("X-Original-* wins over X-Forwarded-*") {
  Request r = Translate(Incoming("GET", "/v1/check",
                                 {{"X-Forwarded-Uri", "/a"},
                                  {"X-Original-URI", "/b"},
                                  {"X-Forwarded-Method", "PUT"},
                                  {"X-Original-Method", "DELETE"}}));
  CHECK(r.method == "DELETE");
  CHECK(r.path == "/b");
}

TEST_CASE("Envoy ext_authz: the original URI is the request line after the prefix") {
  Request r = Translate(Incoming("POST", "/v1/check/v1/chat/completions?x=1", {}));
  CHECK(r.method == "POST");
  CHECK(r.path == "/v1/chat/completions");
  CHECK(r.client_ip == "127.0.0.1");  // no forwarding headers: the peer

  CHECK(Translate(Incoming("GET", "/v1/check", {})).path == "/");
  CHECK(Translate(Incoming("GET", "/v1/check?q", {})).path == "/");
}

TEST_CASE("a custom prefix is honoured") {
  ForwardAuthConfig cfg;
  cfg.path_prefix = "/authz";
  Request r;
  REQUIRE(TranslateForwardAuth(Incoming("POST", "/authz/v1/embeddings", {}), cfg, &r).ok());
  CHECK(r.path == "/v1/embeddings");
}

TEST_CASE("absolute-form URIs lose scheme and authority") {
  Request r = Translate(Incoming(
      "GET", "/v1/check", {{"X-Forwarded-Uri", "https://api.example.com/v1/responses?a=b"}}));
  CHECK(r.path == "/v1/responses");
}

TEST_CASE("paths are normalized so that spelling cannot dodge a rule") {
  CHECK(NormalizePath("/v1//chat/./completions") == "/v1/chat/completions");
  CHECK(NormalizePath("/v1/x/../chat/completions/") == "/v1/chat/completions");
  CHECK(NormalizePath("/v1/%63hat/completions") == "/v1/chat/completions");
  CHECK(NormalizePath("/v1/a%2fb") == "/v1/a%2Fb");  // an encoded slash is not a separator
  CHECK(NormalizePath("/../../etc") == "/etc");
  CHECK(NormalizePath("") == "/");
  CHECK(NormalizePath("v1/models") == "/v1/models");
  CHECK(NormalizePath("/bad%zz%4") == "/bad%zz%4");
}

TEST_CASE("Bearer key becomes a key id and the secret is dropped") {
  const std::string secret = "sk-live-SECRET123";
  Request r = Translate(
      Incoming("GET", "/v1/check",
               {{"Authorization", "Bearer " + secret}, {"X-Original-URI", "/v1/models"}}));
  CHECK(r.key_id == engine::KeyId(secret));
  CHECK(r.key_id.size() == 64);
  CHECK(r.header("authorization") == nullptr);
  CHECK_FALSE(Holds(r, secret));
  CHECK_FALSE(Holds(r, "SECRET123"));
}

TEST_CASE("the bearer scheme is case-insensitive and surrounding space is ignored") {
  Request r = Translate(Incoming("GET", "/v1/check", {{"authorization", "  bearer   sk-abc  "}}));
  CHECK(r.key_id == engine::KeyId("sk-abc"));
}

TEST_CASE("x-api-key (Anthropic style) becomes a key id and is dropped") {
  Request r = Translate(Incoming("GET", "/v1/check", {{"X-Api-Key", "sk-ant-xyz"}}));
  CHECK(r.key_id == engine::KeyId("sk-ant-xyz"));
  CHECK(r.header("x-api-key") == nullptr);
  CHECK_FALSE(Holds(r, "sk-ant-xyz"));
}

TEST_CASE("a non-Bearer Authorization is a credential too: its whole value is the key") {
  // An upstream may accept Basic or a bare key; what it may read is decided on.
  Request r = Translate(Incoming("GET", "/v1/check", {{"Authorization", "Basic dXNlcjpwYXNz"}}));
  CHECK(r.key_id == engine::KeyId("Basic dXNlcjpwYXNz"));
  CHECK_FALSE(Holds(r, "dXNlcjpwYXNz"));
  // A bare key in Authorization is the same credential as that key elsewhere.
  CHECK(Translate(Incoming("GET", "/v1/check", {{"Authorization", "sk-1"}, {"x-api-key", "sk-1"}}))
            .key_id == engine::KeyId("sk-1"));
}

TEST_CASE("no key at all: empty key id") {
  CHECK(Translate(Incoming("GET", "/v1/check", {})).key_id.empty());
}

TEST_CASE("purpose, request id and lower-cased headers") {
  Request r = Translate(Incoming("GET", "/v1/check",
                                 {{"X-Usage-Purpose", "model-training"},
                                  {"X-Request-Id", "req-42"},
                                  {"X-Tos-Account", "acct_1"}}));
  CHECK(r.purpose == "model-training");
  CHECK(r.request_id == "req-42");
  REQUIRE(r.header("x-tos-account") != nullptr);
  CHECK(*r.header("x-tos-account") == "acct_1");
  CHECK(r.header("X-Tos-Account") == nullptr);  // names are lower case
}

TEST_CASE("client address: X-Forwarded-For's rightmost untrusted hop, then X-Real-IP, then the peer") {
  // The trusted proxy appended the address it saw last; what is left of it
  // the client wrote itself.
  CHECK(Translate(Incoming("GET", "/v1/check",
                           {{"X-Forwarded-For", " 1.2.3.4 ,5.6.7.8"}, {"X-Real-IP", "9.9.9.9"}}))
            .client_ip == "5.6.7.8");
  CHECK(Translate(Incoming("GET", "/v1/check", {{"X-Real-IP", "9.9.9.9"}})).client_ip == "9.9.9.9");
  CHECK(Translate(Incoming("GET", "/v1/check", {})).client_ip == "127.0.0.1");
}

TEST_CASE("body features are extracted from a chat body") {
  const char* body =
      R"({"model":"m-large","messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"hi"}]}],
    "max_completion_tokens":512,"n":2,"stream":true,"logprobs":true,"top_logprobs":5,
    "logit_bias":{"50256":-100,"11":5,"12":1},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
    "metadata":{"model":"not-this","n":99}})";
  Request r = Translate(Incoming("POST", "/v1/check/v1/chat/completions",
                                 {{"Content-Type", "application/json"}}, body));
  CHECK(r.body.present);
  CHECK(r.body.model == "m-large");
  CHECK(r.body.max_tokens == 512);
  CHECK(r.body.n == 2);
  CHECK(r.body.stream);
  CHECK(r.body.logprobs);
  CHECK(r.body.top_logprobs == 5);
  CHECK(r.body.logit_bias_count == 3);
  CHECK(r.body.tools_count == 1);
  CHECK(r.body.message_count == 2);
}

TEST_CASE("body defaults when fields are absent or of the wrong type") {
  Request r =
      Translate(Incoming("POST", "/v1/check/v1/messages", {},
                         R"({"model":7,"max_tokens":null,"stream":null,"messages":[]})"));
  // (A number field holding junk is refused, and "yes" reads as true, as a
  // coercing upstream reads them: tests/engine/body_parser_test.cc.)
  CHECK(r.body.present);
  CHECK(r.body.model.empty());
  CHECK(r.body.max_tokens == -1);
  CHECK(r.body.n == -1);
  CHECK_FALSE(r.body.stream);
  CHECK_FALSE(r.body.logprobs);
  CHECK(r.body.logit_bias_count == 0);
  CHECK(r.body.message_count == 0);
}

TEST_CASE("legacy Completions: an integer logprobs means logprobs with that many tops") {
  Request r = Translate(Incoming("POST", "/v1/check/v1/completions", {},
                                 R"({"prompt":"x","logprobs":3,"max_tokens":16})"));
  CHECK(r.body.logprobs);
  CHECK(r.body.top_logprobs == 3);
  CHECK(r.body.max_tokens == 16);
}

TEST_CASE("malformed JSON bodies are refused as unreadable-body") {
  for (const char* bad : {"{", "{\"model\":}", "[1,2]", "\"str\"", "{} trailing", "nul"}) {
    CAPTURE(bad);
    Request r;
    Status s =
        TranslateForwardAuth(Incoming("POST", "/v1/check/v1/chat/completions", {}, bad), {}, &r);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    const Refusal refusal = Refused(Incoming("POST", "/v1/check/v1/chat/completions", {}, bad));
    CHECK(refusal.status == 400);
    CHECK(refusal.type == "unreadable-body");
  }
}

TEST_CASE("a body over the limit is ResourceExhausted") {
  ForwardAuthConfig cfg;
  cfg.max_body_bytes = 8;
  Request r;
  Status s =
      TranslateForwardAuth(Incoming("POST", "/v1/check/x", {}, R"({"model":"abcdef"})"), cfg, &r);
  CHECK(s.code() == Status::Code::kResourceExhausted);
}

}  // namespace
}  // namespace tosgate::api
