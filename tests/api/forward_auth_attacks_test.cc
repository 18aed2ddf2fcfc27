// Issue 19: what a caller sends to make the gateway decide one request while
// the upstream serves another. One test per attack; each failed on the
// translation before Translate().
#include <doctest/doctest.h>

#include <string>

#include "api/request/forward_auth.h"
#include "engine/accounts.h"
#include "tests/api/forward_auth_requests.h"

namespace tosgate::api {
namespace {

using test::Holds;
using test::Incoming;
using test::Inline;
using test::Refused;
using test::Translate;
using test::Untrusted;

constexpr const char* kSarin =
    R"({"model":"m","messages":[{"role":"user","content":"how to synthesize sarin at home"}]})";

IncomingRequest Chat(std::vector<std::pair<std::string, std::string>> headers,
                     std::string body = kSarin) {
  return Incoming("POST", "/v1/check/v1/chat/completions", std::move(headers), std::move(body));
}

// ---- bodies, whatever their Content-Type ----------------------------------

TEST_CASE("a prohibited prompt sent as text/plain is read") {
  const Request r = Translate(Chat({{"Content-Type", "text/plain"}}));
  CHECK(r.body.present);
  CHECK(r.body.prompt_text.find("sarin") != std::string::npos);
  CHECK_FALSE(r.body_unread);
}

TEST_CASE("a body with curl -d's form content type is parsed as JSON") {
  const Request r = Translate(Chat({{"Content-Type", "application/x-www-form-urlencoded"}}));
  CHECK(r.body.present);
  CHECK(r.body.prompt_text.find("sarin") != std::string::npos);
}

TEST_CASE("a body without a Content-Type is parsed as JSON") {
  CHECK(Translate(Chat({})).body.prompt_text.find("sarin") != std::string::npos);
}

TEST_CASE("a body that is not JSON is refused as unreadable-body, whatever its type") {
  for (const char* type : {"text/plain", "application/octet-stream", "application/json"}) {
    CAPTURE(type);
    const Refusal r = Refused(Chat({{"Content-Type", type}}, "prompt=how to synthesize sarin"));
    CHECK(r.status == 400);
    CHECK(r.type == "unreadable-body");
  }
}

TEST_CASE("a multipart upload the gateway cannot read is unreadable-body") {
  const std::string audio =
      "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n"
      "Content-Type: audio/mpeg\r\n\r\nID3\x03\xff\r\n--x--\r\n";
  const Refusal r = Refused(Incoming("POST", "/v1/check/v1/audio/transcriptions",
                                     {{"Content-Type", "multipart/form-data; boundary=x"}}, audio));
  CHECK(r.type == "unreadable-body");
}

TEST_CASE("Envoy's x-envoy-auth-partial-body: true refuses the body it cut") {
  const Refusal r =
      Refused(Chat({{"x-envoy-auth-partial-body", "true"}}, R"({"model":"m","messages":[{"ro)"));
  CHECK(r.type == "unreadable-body");
  // Even when the part that arrived parses: it is not all of the body.
  CHECK(Refused(Chat({{"x-envoy-auth-partial-body", "TRUE"}}, R"({"model":"m"})")).type ==
        "unreadable-body");
  CHECK(Translate(Chat({{"x-envoy-auth-partial-body", "false"}})).body.present);
}

TEST_CASE("a body shorter than its Content-Length is unreadable-body") {
  const std::string body = kSarin;
  CHECK(Refused(Chat({{"Content-Length", std::to_string(body.size() + 100)}}, body)).type ==
        "unreadable-body");
  CHECK(Translate(Chat({{"Content-Length", std::to_string(body.size())}}, body)).body.present);
}

TEST_CASE("two different Content-Type headers are unreadable-body") {
  CHECK(Refused(Chat({{"Content-Type", "application/json"},
                      {"Content-Type", "multipart/form-data; boundary=x"}}))
            .type == "unreadable-body");
}

TEST_CASE("with unreadable_body: pass, an unreadable body is decided as absent and marked") {
  ForwardAuthConfig cfg;
  cfg.unreadable_body = UnreadableBody::kPass;
  Request r = Translate(Chat({{"Content-Type", "text/plain"}}, "not json"), cfg);
  CHECK_FALSE(r.body.present);
  CHECK(r.body_unread);
  r = Translate(Chat({{"x-envoy-auth-partial-body", "true"}}, R"({"model":"m","mess)"), cfg);
  CHECK(r.body_unread);
  CHECK_FALSE(Translate(Chat({}), cfg).body_unread);  // a readable body is read
}

TEST_CASE("a request without a body is not unreadable (nginx auth_request sends none)") {
  const Request r = Translate(Incoming(
      "GET", "/v1/check", {{"X-Original-URI", "/v1/chat/completions"}, {"Content-Length", "0"}}));
  CHECK_FALSE(r.body.present);
  CHECK_FALSE(r.body_unread);
}

TEST_CASE("a body over max_body_bytes is refused as body-too-large (413)") {
  ForwardAuthConfig cfg;
  cfg.max_body_bytes = 16;
  const Refusal r = Refused(Chat({}), cfg);
  CHECK(r.status == 413);
  CHECK(r.type == "body-too-large");
}

// ---- paths: what is classified is what is forwarded ------------------------

Refusal PathRefused(const std::string& path) {
  CAPTURE(path);
  return Refused(Incoming("POST", "/v1/check" + path, {}));
}

TEST_CASE("an encoded slash is refused (%2F)") {
  CHECK(PathRefused("/v1/chat%2Fcompletions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/chat%2fcompletions").type == "ambiguous-path");
}

TEST_CASE("a backslash, raw or encoded, is refused (\\, %5C)") {
  CHECK(PathRefused("/v1/chat%5Ccompletions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/chat\\completions").type == "ambiguous-path");
}

TEST_CASE("double encoding is refused (%252F)") {
  CHECK(PathRefused("/v1/chat%252Fcompletions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/%2563hat/completions").type == "ambiguous-path");
}

TEST_CASE("matrix parameters are refused (;)") {
  CHECK(PathRefused("/v1/chat/completions;x=1").type == "ambiguous-path");
  CHECK(PathRefused("/v1/embeddings;/../chat/completions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/chat/completions%3B").type == "ambiguous-path");
}

TEST_CASE("encoded dot segments are refused (%2e%2e)") {
  CHECK(PathRefused("/v1/embeddings/%2e%2e/chat/completions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/embeddings/.%2E/chat/completions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/%2e/chat/completions").type == "ambiguous-path");
}

TEST_CASE("a '..' segment is refused: upstreams resolve it differently") {
  // RFC 3986 gives /v1/chat/completions; merging '//' first gives /chat/completions.
  CHECK(PathRefused("/v1/embeddings//../chat/completions").type == "ambiguous-path");
  CHECK(PathRefused("/v1/chat/completions/..").type == "ambiguous-path");
  CHECK(PathRefused("/v1/x/../chat/completions").type == "ambiguous-path");
}

TEST_CASE("a '.' segment is dropped: every resolver drops it alike") {
  Forwarding fwd;
  const Request r =
      Translate(Inline(Incoming("POST", "/v1//chat/./completions/.", {}, kSarin)), {}, &fwd);
  CHECK(r.path == "/v1/chat/completions");
  CHECK(fwd.target == "/v1/chat/completions");
}

TEST_CASE("NUL, control characters and non-ASCII bytes are refused, raw or encoded") {
  for (const char* p : {"/v1/chat/completions%00", "/v1/chat%0d%0acompletions", "/v1/chat%7F",
                        "/v1/chat\x01", "/v1/ch\xc3\xa4t", "/v1/chat%C0%AF"})
    CHECK(PathRefused(p).type == "ambiguous-path");
}

TEST_CASE("a target that is not origin-form is refused") {
  for (const char* uri : {"*", "v1/chat/completions", "api.example.com:443", "/v1/chat#frag",
                          "/v1/chat/completions%", "/v1/chat/completions%4"}) {
    CAPTURE(uri);
    CHECK(Refused(Incoming("GET", "/v1/check", {{"X-Original-URI", uri}})).type ==
          "ambiguous-path");
  }
}

TEST_CASE("a query with a raw control character, '#' or ';' is refused") {
  for (const char* uri : {"/v1/models?a=\x01", "/v1/models?a=1#x", "/v1/models?a=1;key=x"}) {
    CAPTURE(uri);
    CHECK(Refused(Incoming("GET", "/v1/check", {{"X-Original-URI", uri}})).type ==
          "ambiguous-path");
  }
}

TEST_CASE("the forwarded target is the canonical path that was classified, with the query") {
  Forwarding fwd;
  const Request r = Translate(
      Inline(Incoming("POST", "/v1//%63hat/completions/?stream=true&x=%2F", {}, kSarin)), {},
      &fwd);
  CHECK(r.path == "/v1/chat/completions");
  CHECK(fwd.target == "/v1/chat/completions?stream=true&x=%2F");
  CHECK(r.inline_proxy);
  // Sub-delimiters and ':' decode too: Gemini's :generateContent cannot hide as %3A.
  Translate(Inline(Incoming("POST", "/v1beta/models/g%3AgenerateContent", {}, "{}")), {}, &fwd);
  CHECK(fwd.target == "/v1beta/models/g:generateContent");
  // Encodings of characters not allowed raw stay encoded, in upper case.
  CHECK(Translate(Inline(Incoming("GET", "/v1/files/a%7cb", {}))).path == "/v1/files/a%7Cb");
}

TEST_CASE("path case is kept: a case variant is another path") {
  CHECK(Translate(Incoming("POST", "/v1/check/V1/Chat/Completions", {})).path ==
        "/V1/Chat/Completions");
}

TEST_CASE("an absolute-form request line becomes origin-form") {
  Forwarding fwd;
  const Request r =
      Translate(Inline(Incoming("GET", "http://api.example.com/v1/models?x=1", {})), {}, &fwd);
  CHECK(r.path == "/v1/models");
  CHECK(fwd.target == "/v1/models?x=1");
  CHECK(Translate(Inline(Incoming("GET", "https://api.example.com?x=1", {}))).path == "/");
}

// ---- credentials ------------------------------------------------------------

TEST_CASE("a Bearer key and a different x-api-key are refused as ambiguous-credentials") {
  const Refusal r = Refused(Chat({{"Authorization", "Bearer sk-random-1"}, {"x-api-key", "sk-real-2"}}));
  CHECK(r.status == 400);
  CHECK(r.type == "ambiguous-credentials");
  CHECK(r.detail.find("sk-random-1") == std::string::npos);
  CHECK(r.detail.find("sk-real-2") == std::string::npos);
}

TEST_CASE("every pair of carriers with different keys is ambiguous-credentials") {
  const std::vector<std::pair<std::string, std::string>> carriers = {
      {"Authorization", "Bearer sk-A"}, {"x-api-key", "sk-A"}, {"api-key", "sk-A"},
      {"x-goog-api-key", "sk-A"}};
  for (const auto& a : carriers) {
    for (const auto& b : carriers) {
      CAPTURE(a.first);
      CAPTURE(b.first);
      std::string other = b.second;
      other.back() = 'B';
      CHECK(Refused(Chat({a, {b.first, other}})).type == "ambiguous-credentials");
    }
    CHECK(Refused(Incoming("POST", "/v1/check/v1/chat/completions?key=sk-B", {a}, kSarin)).type ==
          "ambiguous-credentials");
  }
}

TEST_CASE("a repeated carrier with two keys is ambiguous-credentials") {
  CHECK(Refused(Chat({{"x-api-key", "sk-1"}, {"X-Api-Key", "sk-2"}})).type ==
        "ambiguous-credentials");
  CHECK(Refused(Incoming("GET", "/v1/check/v1beta/models?key=a&key=b", {})).type ==
        "ambiguous-credentials");
  // An encoded parameter name is the same parameter to the upstream.
  CHECK(Refused(Incoming("GET", "/v1/check/v1beta/models?key=a&k%65y=b", {})).type ==
        "ambiguous-credentials");
}

TEST_CASE("the same key in two carriers is one credential") {
  Forwarding fwd;
  const Request r = Translate(
      Chat({{"x-api-key", "sk-same"}, {"Authorization", "Bearer sk-same"}, {"x-api-key", "sk-same"}}),
      {}, &fwd);
  CHECK(r.key_id == engine::KeyId("sk-same"));
  CHECK(fwd.carrier == CredentialCarrier::kAuthorization);
  CHECK(fwd.credential == "Bearer sk-same");
  CHECK_FALSE(Holds(r, "sk-same"));
}

TEST_CASE("x-goog-api-key and api-key are read and dropped") {
  Forwarding fwd;
  Request r = Translate(Chat({{"X-Goog-Api-Key", "AIza-goog"}}), {}, &fwd);
  CHECK(r.key_id == engine::KeyId("AIza-goog"));
  CHECK(fwd.carrier == CredentialCarrier::kXGoogApiKey);
  CHECK(fwd.credential == "AIza-goog");
  CHECK_FALSE(Holds(r, "AIza-goog"));
  r = Translate(Chat({{"api-key", "azure-key"}}), {}, &fwd);
  CHECK(r.key_id == engine::KeyId("azure-key"));
  CHECK(fwd.carrier == CredentialCarrier::kApiKey);
  CHECK_FALSE(Holds(r, "azure-key"));
}

TEST_CASE("?key= is read, kept alone in the forwarded target, and kept out of the Request") {
  Forwarding fwd;
  const Request r = Translate(
      Incoming("GET", "/v1/check",
               {{"X-Original-URI", "/v1beta/models/g:generateContent?alt=sse&key=AIza%2Dq&key=AIza-q"}}),
      {}, &fwd);
  CHECK(r.key_id == engine::KeyId("AIza-q"));
  CHECK(fwd.carrier == CredentialCarrier::kQueryKey);
  CHECK(fwd.credential == "AIza-q");
  CHECK(fwd.target == "/v1beta/models/g:generateContent?alt=sse&key=AIza%2Dq");
  CHECK_FALSE(Holds(r, "AIza"));  // the X-Original-URI header held it
}

TEST_CASE("credential parameters are removed from the query when the key came in a header") {
  Forwarding fwd;
  Translate(Inline(Incoming("GET", "/v1/models?api_key=sk-h&a=1&key=&KEY=sk-h",
                            {{"Authorization", "Bearer sk-h"}})),
            {}, &fwd);
  CHECK(fwd.carrier == CredentialCarrier::kAuthorization);
  CHECK(fwd.target == "/v1/models?a=1");
}

// ---- trusted proxies ----------------------------------------------------------

TEST_CASE("forwarding headers from an untrusted peer are ignored and dropped") {
  const Request r = Translate(Untrusted(Incoming("POST", "/v1/check/v1/embeddings",
                                                 {{"X-Original-URI", "/v1/models"},
                                                  {"X-Original-Method", "GET"},
                                                  {"X-Forwarded-Uri", "/v1/models"},
                                                  {"X-Forwarded-For", "198.51.100.7"},
                                                  {"X-Real-IP", "198.51.100.8"},
                                                  {"Forwarded", "for=198.51.100.9"},
                                                  {"X-Forwarded-Host", "evil"},
                                                  {"X-Original-Forwarded-For", "198.51.100.9"}},
                                                 "{}")));
  CHECK_FALSE(r.peer_trusted);
  CHECK(r.client_ip == "10.0.0.2");
  CHECK(r.method == "POST");
  CHECK(r.path == "/v1/embeddings");
  for (const auto& header : r.headers) {
    const std::string& name = header.first;  // CAPTURE takes a reference; clang 14 cannot to a binding
    CAPTURE(name);
    CHECK(name.rfind("x-forwarded-", 0) != 0);
    CHECK(name.rfind("x-original-", 0) != 0);
    CHECK(name != "x-real-ip");
    CHECK(name != "forwarded");
  }
}

TEST_CASE("forwarding headers from a trusted peer are honoured") {
  ForwardAuthConfig cfg;
  cfg.trusted_proxies.resize(1);
  REQUIRE(engine::ParseCidr("10.0.0.0/8", &cfg.trusted_proxies[0]));
  const Request r = Translate(
      Untrusted(Incoming("GET", "/v1/check",
                         {{"X-Original-URI", "/v1/embeddings"}, {"X-Original-Method", "POST"},
                          {"X-Forwarded-For", "198.51.100.7"}})),
      cfg);
  CHECK(r.peer_trusted);
  CHECK(r.client_ip == "198.51.100.7");
  CHECK(r.path == "/v1/embeddings");
  CHECK(r.method == "POST");
  CHECK(r.header("x-forwarded-for") != nullptr);
}

TEST_CASE("X-Forwarded-For: the rightmost hop that is not a trusted proxy is the client") {
  ForwardAuthConfig cfg;
  cfg.trusted_proxies.resize(2);
  REQUIRE(engine::ParseCidr("127.0.0.0/8", &cfg.trusted_proxies[0]));
  REQUIRE(engine::ParseCidr("10.0.0.0/8", &cfg.trusted_proxies[1]));
  auto client = [&](std::vector<std::pair<std::string, std::string>> headers) {
    return Translate(Incoming("GET", "/v1/check", std::move(headers)), cfg).client_ip;
  };
  // The client wrote the first hop itself; the load balancer 10.0.0.5 appended the second.
  CHECK(client({{"X-Forwarded-For", "203.0.113.66, 198.51.100.4, 10.0.0.5"}}) == "198.51.100.4");
  // Repeated headers are one list, in order.
  CHECK(client({{"X-Forwarded-For", "203.0.113.66"}, {"X-Forwarded-For", "198.51.100.4"}}) ==
        "198.51.100.4");
  CHECK(client({{"X-Forwarded-For", "10.0.0.9, 10.0.0.5"}}) == "10.0.0.9");  // all trusted
  CHECK(client({{"X-Forwarded-For", "198.51.100.4:5555"}}) == "198.51.100.4");
  // Not an address: the proxy that wrote it is the nearest we know.
  CHECK(client({{"X-Forwarded-For", "198.51.100.4, garbage, 10.0.0.5"}}) == "10.0.0.5");
  CHECK(client({{"X-Forwarded-For", "unknown"}}) == "127.0.0.1");
  CHECK(client({{"Forwarded", "for=203.0.113.66, for=\"[2001:db8::7]:443\";proto=https"}}) ==
        "2001:db8::7");
}

TEST_CASE("inline mode: the request line is the client's, a trusted balancer still names it") {
  const IncomingRequest in = Inline(Incoming(
      "POST", "/v1/chat/completions",
      {{"X-Original-URI", "/v1/models"}, {"X-Original-Method", "GET"},
       {"X-Forwarded-Uri", "/v1/models"}, {"X-Forwarded-For", "198.51.100.7"},
       {"x-envoy-auth-partial-body", "true"}},
      kSarin));
  Request r = Translate(in);
  CHECK(r.method == "POST");
  CHECK(r.path == "/v1/chat/completions");
  CHECK(r.client_ip == "198.51.100.7");
  CHECK(r.inline_proxy);
  CHECK(r.body.present);  // the gateway has the whole body: no proxy cut it
  CHECK(r.header("x-original-uri") == nullptr);

  r = Translate(Untrusted(in));
  CHECK_FALSE(r.peer_trusted);
  CHECK(r.client_ip == "10.0.0.2");
  CHECK(r.header("x-forwarded-for") == nullptr);
}

TEST_CASE("an IPv4-mapped IPv6 peer is the IPv4 address it maps") {
  IncomingRequest in = Incoming("GET", "/v1/check", {{"X-Original-URI", "/v1/embeddings"}});
  in.peer_ip = "::ffff:127.0.0.1";
  CHECK(Translate(in).peer_trusted);
  in.peer_ip = "not an address";
  CHECK_FALSE(Translate(in).peer_trusted);
}

}  // namespace
}  // namespace tosgate::api
