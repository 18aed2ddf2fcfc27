#include "api/request/responses.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

namespace tosgate::api {
namespace {

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

TEST_CASE("allow renders 200 with decision id, account, operation and rate headers") {
  Decision d;
  d.decision_id = "d-1";
  d.account_id = "acct_1";
  d.operation = "chat";
  d.headers = {{"RateLimit-Policy", "\"rpm\";q=60;w=60"}, {"RateLimit", "\"rpm\";r=59;t=60"}};
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK(Header(r, "X-Tos-Decision") == "allow");
  CHECK(Header(r, "X-Tos-Decision-Id") == "d-1");
  CHECK(Header(r, "X-Tos-Account") == "acct_1");
  CHECK(Header(r, "X-Tos-Operation") == "chat");
  CHECK(Header(r, "RateLimit") == "\"rpm\";r=59;t=60");
  CHECK(Header(r, "X-Tos-Reason") == "<none>");
}

TEST_CASE("deny renders problem+json with reason and rule headers") {
  Decision d;
  d.effect = Effect::kDeny;
  d.status = 403;
  d.reason = "competitor-training-declared";
  d.rule_ids = {"purpose.no-model-training"};
  d.decision_id = "d-2";
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(r.status == 403);
  CHECK(r.content_type == "application/problem+json");
  CHECK(Header(r, "X-Tos-Decision") == "deny");
  CHECK(Header(r, "X-Tos-Reason") == "competitor-training-declared");
  CHECK(Header(r, "X-Tos-Rule") == "purpose.no-model-training");
  CHECK(Header(r, "X-Tos-Account") == "<none>");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == 403);
  CHECK(j["decision_id"] == "d-2");
}

TEST_CASE("throttle renders 429 with Retry-After, from the decision or computed") {
  Decision d;
  d.effect = Effect::kThrottle;
  d.status = 429;
  d.retry_after_s = 17;
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(r.status == 429);
  CHECK(Header(r, "Retry-After") == "17");

  d.headers = {{"Retry-After", "5"}};
  RenderDecision(d, &r);
  int count = 0;
  for (const auto& [k, v] : r.headers) count += k == "Retry-After";
  CHECK(count == 1);
  CHECK(Header(r, "Retry-After") == "5");

  d.headers.clear();
  d.retry_after_s = 0;
  RenderDecision(d, &r);
  CHECK(Header(r, "Retry-After") == "1");
}

TEST_CASE("a shadow-only match passes: the effect decides, not the matches") {
  Decision d;
  d.effect = Effect::kAllow;
  d.enforced = false;
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(r.status == 200);
}

TEST_CASE("header values cannot be split by policy or account text") {
  Decision d;
  d.account_id = "evil\r\nSet-Cookie: x=1";
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(Header(r, "X-Tos-Account") == "evilSet-Cookie: x=1");
}

// The byte-at-a-time cleaning rendering did before its eight-byte scan.
std::string CleanedByteByByte(std::string_view v) {
  std::string out;
  for (const char c : v)
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out.push_back(c);
  return out;
}

TEST_CASE("header cleaning: every control byte at every position of values of 0 to 40 bytes, "
          "the same as byte by byte") {
  // Each byte value once at each offset (eight-byte words and their tail),
  // among printable and high bytes.
  size_t checked = 0, wrong = 0;
  for (size_t len = 0; len <= 40; ++len) {
    for (int b = 0; b < 256; ++b) {
      for (size_t at = 0; at < std::max<size_t>(len, 1); ++at) {
        std::string v(len, 'a');
        for (size_t i = 0; i < len; ++i)
          v[i] = static_cast<char>(i % 3 == 0 ? 0x80 + i : 'a' + i % 26);
        if (len) v[at] = static_cast<char>(b);
        Decision d;
        d.account_id = v;
        HttpResponse r;
        RenderDecision(d, &r);
        const std::string expected = v.empty() ? "<none>" : CleanedByteByByte(v);
        ++checked;
        if (Header(r, "X-Tos-Account") != expected && ++wrong < 5)
          MESSAGE("len " << len << ", byte " << b << " at " << at);
      }
    }
  }
  CHECK(checked > 200'000);
  CHECK(wrong == 0);
}

TEST_CASE("a status outside 4xx/5xx on a deny falls back to 403") {
  Decision d;
  d.effect = Effect::kDeny;
  d.status = 200;
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(r.status == 403);
}

TEST_CASE("gateway errors are problem+json") {
  HttpResponse r;
  RenderError(413, "body-too-large", "too \"big\"", &r);
  CHECK(r.status == 413);
  CHECK(r.content_type == "application/problem+json");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == 413);
  CHECK(j["title"] == "Content Too Large");
  CHECK(j["reason"] == "body-too-large");
  CHECK(j["detail"] == "too \"big\"");
  CHECK(j["type"] == "https://tosgate.dev/problems/body-too-large");
}

}  // namespace
}  // namespace tosgate::api

namespace tosgate::api {
namespace {

TEST_CASE("every refusal says the status it means in X-Tos-Status") {
  Decision d;
  d.effect = Effect::kThrottle;
  d.status = 429;
  d.retry_after_s = 3;
  HttpResponse r;
  RenderDecision(d, &r);
  CHECK(r.status == 429);
  CHECK(Header(r, "X-Tos-Status") == "429");
  CHECK(Header(r, "X-Tos-Problem") == "<none>");
}

TEST_CASE("nginx dialect: refusals other than 401/403 go as 403, the problem in a header") {
  Decision d;
  d.effect = Effect::kThrottle;
  d.status = 429;
  d.retry_after_s = 3;
  d.decision_id = "d-9";
  HttpResponse r;
  RenderDecision(d, &r, ProxyDialect::kNginx);
  CHECK(r.status == 403);
  CHECK(Header(r, "X-Tos-Status") == "429");
  CHECK(Header(r, "Retry-After") == "3");
  auto j = nlohmann::json::parse(Header(r, "X-Tos-Problem"));
  CHECK(j["status"] == 429);
  CHECK(j["decision_id"] == "d-9");
  CHECK(Header(r, "X-Tos-Problem") == r.body);

  d.effect = Effect::kDeny;
  d.status = 401;
  RenderDecision(d, &r, ProxyDialect::kNginx);
  CHECK(r.status == 401);

  d.effect = Effect::kAllow;
  d.status = 200;
  RenderDecision(d, &r, ProxyDialect::kNginx);
  CHECK(r.status == 200);
  CHECK(Header(r, "X-Tos-Problem") == "<none>");
}

}  // namespace
}  // namespace tosgate::api
