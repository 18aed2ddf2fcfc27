// The gateway's own response writer (api/gateway/wire.h) against Beast's
// serializer fed the way the gateway used to feed it: byte for byte the same
// for every response it writes, and a refusal for those Beast rearranges.
#include "api/gateway/wire.h"

#include <doctest/doctest.h>

#include <boost/beast/http.hpp>
#include <sstream>

#include "api/request/responses.h"

namespace tosgate::api::gateway_internal {
namespace {

namespace http = boost::beast::http;

// What Session::Write did with Beast before wire.h (kept as the reference).
std::string ViaBeast(HttpResponse r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res;
  res.version(version == 10 ? 10 : 11);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::server, "tosgate");
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.body().clear();
  std::ostringstream os;
  os << res;
  return os.str();
}

std::string Ours(const HttpResponse& r, unsigned version, bool keep_alive, bool head) {
  std::string out = "prefix:";
  REQUIRE(AppendResponse(r, version, keep_alive, head, &out));
  return out.substr(7);
}

std::vector<HttpResponse> Samples() {
  std::vector<HttpResponse> v;
  Decision allow;
  allow.decision_id = "d-1";
  allow.account_id = "acct_1";
  allow.operation = "chat";
  allow.headers = {{"RateLimit-Policy", "\"rpm\";q=60;w=60"}, {"RateLimit", "\"rpm\";r=59;t=60"}};
  v.emplace_back();
  RenderDecision(allow, &v.back());
  Decision deny;
  deny.effect = Effect::kDeny;
  deny.status = 403;
  deny.reason = "competitor-training-declared";
  deny.rule_ids = {"purpose.no-model-training", "second"};
  deny.decision_id = "d-2";
  v.emplace_back();
  RenderDecision(deny, &v.back());
  v.emplace_back();
  RenderDecision(deny, &v.back(), ProxyDialect::kNginx);
  Decision throttle = deny;
  throttle.effect = Effect::kThrottle;
  throttle.status = 429;
  throttle.retry_after_s = 7;
  v.emplace_back();
  RenderDecision(throttle, &v.back());
  for (int status : {400, 401, 404, 405, 413, 418, 431, 500, 502, 503, 504, 599}) {
    v.emplace_back();
    RenderError(status, "some-reason", "a detail with \"quotes\"", &v.back());
  }
  HttpResponse empty;
  empty.status = 204;
  v.push_back(empty);
  HttpResponse spaced;  // Beast trims values' outer spaces and tabs
  spaced.content_type = " text/plain ";
  spaced.headers = {{"X-A", "  padded\t "}, {"x-b", ""}, {"X-C", " "}};
  spaced.body = "hello";
  v.push_back(spaced);
  HttpResponse odd;  // a status Beast has no reason phrase for
  odd.status = 299;
  odd.body = "{}";
  v.push_back(odd);
  return v;
}

TEST_CASE("wire: every response is written byte for byte as Beast writes it") {
  for (const HttpResponse& r : Samples()) {
    for (unsigned version : {10u, 11u, 9u}) {
      for (bool keep_alive : {true, false}) {
        for (bool head : {false, true}) {
          CAPTURE(r.status);
          CAPTURE(version);
          CAPTURE(keep_alive);
          CAPTURE(head);
          CHECK(Ours(r, version, keep_alive, head) == ViaBeast(r, version, keep_alive, head));
        }
      }
    }
  }
}

TEST_CASE("wire: what Beast would rearrange is left to Beast") {
  auto refused = [](std::vector<std::pair<std::string, std::string>> headers, int status = 200) {
    HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    std::string out = "kept";
    const bool ok = AppendResponse(r, 11, true, false, &out);
    if (!ok) CHECK(out == "kept");  // untouched when refused
    return !ok;
  };
  CHECK(refused({{"X-Tos-Flag", "a"}, {"X-Other", "b"}, {"x-tos-flag", "c"}}));  // regrouped
  CHECK(refused({{"Content-Length", "5"}}));
  CHECK(refused({{"connection", "keep-alive"}}));
  CHECK(refused({{"Server", "other"}}));
  CHECK(refused({{"Content-Type", "text/plain"}}));
  CHECK(refused({{"Transfer-Encoding", "chunked"}}));
  CHECK(refused({{"X-Big", std::string(70000, 'a')}}));
  CHECK(refused({}, 1000));
  CHECK(refused({}, 99));
  CHECK_FALSE(refused({{"X-Tos-Flag", "a"}, {"X-Other", "b"}}));
}

TEST_CASE("wire: a response reused across requests renders as a fresh one") {
  // The gateway keeps one HttpResponse per connection; its header strings
  // are handed out again after Clear and must not keep old bytes.
  HttpResponse reused;
  const std::vector<HttpResponse> samples = Samples();
  for (int round = 0; round < 2; ++round) {
    for (const HttpResponse& fresh : samples) {
      // Re-render through the public functions: the sample's own fields.
      reused.Clear();
      reused.status = fresh.status;
      reused.content_type = fresh.content_type;
      for (const auto& [k, v] : fresh.headers) {
        auto& h = reused.AddHeader();
        h.first = k;
        h.second = v;
      }
      reused.body = fresh.body;
      CHECK(reused.headers == fresh.headers);
    }
  }
  Decision d;
  d.effect = Effect::kDeny;
  d.status = 403;
  d.reason = "bad\r\nX-Injected: 1";
  d.rule_ids = {"r1"};
  d.decision_id = "d-9";
  HttpResponse fresh;
  RenderDecision(d, &fresh, ProxyDialect::kNginx);
  RenderDecision(d, &reused, ProxyDialect::kNginx);
  CHECK(reused.headers == fresh.headers);
  CHECK(reused.body == fresh.body);
  bool found = false;
  for (const auto& [k, v] : fresh.headers)
    if (k == "X-Tos-Reason") found = v == "badX-Injected: 1";  // control characters dropped
  CHECK(found);
}

}  // namespace
}  // namespace tosgate::api::gateway_internal
