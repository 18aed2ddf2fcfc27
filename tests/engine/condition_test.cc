#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "engine/condition.h"
#include "test_support.h"

using namespace tosgate;
using engine::Condition;
using test::Bool;
using test::Leaf;
using test::Num;
using test::Str;

namespace {
bool Eval(const Condition& c, const Request& r, std::string* trace = nullptr, int64_t wall_ms = 0) {
  engine::EvalContext ctx{r, *r.account, r.operation, wall_ms, 0};
  return engine::Evaluate(c, ctx, trace);
}
}  // namespace

TEST_CASE("eq and in compare strings, numbers and booleans by kind") {
  Request r = test::ChatRequest();
  r.purpose = "model-training";
  r.body.present = true;
  r.body.n = 4;
  r.body.logprobs = true;
  CHECK(Eval(Leaf("request.purpose", Condition::Op::kEq, Str("model-training")), r));
  CHECK_FALSE(Eval(Leaf("request.purpose", Condition::Op::kEq, Str("chatbot")), r));
  CHECK(Eval(Leaf("body.n", Condition::Op::kGt, Num(1)), r));
  CHECK_FALSE(Eval(Leaf("body.n", Condition::Op::kLt, Num(4)), r));
  CHECK(Eval(Leaf("body.logprobs", Condition::Op::kEq, Bool(true)), r));
  CHECK_FALSE(Eval(Leaf("body.logprobs", Condition::Op::kEq, Str("true")), r));
  Condition in;
  in.op = Condition::Op::kIn;
  in.field = *engine::ResolveField("request.purpose");
  in.operands = {Str("distillation"), Str("model-training")};
  CHECK(Eval(in, r));
}

TEST_CASE("missing body fields never match comparisons, and exists tells them apart") {
  Request r = test::ChatRequest();  // no body
  CHECK_FALSE(Eval(Leaf("body.max_tokens", Condition::Op::kLt, Num(100)), r));
  CHECK(Eval(Leaf("body.max_tokens", Condition::Op::kExists, Bool(false)), r));
  r.body.present = true;
  r.body.max_tokens = 50;
  CHECK(Eval(Leaf("body.max_tokens", Condition::Op::kLt, Num(100)), r));
  CHECK(Eval(Leaf("body.max_tokens", Condition::Op::kExists, Bool(true)), r));
}

TEST_CASE("all, any and not combine, and the trace names the values that matched") {
  Request r = test::ChatRequest();
  r.body.present = true;
  r.body.logprobs = true;
  r.body.logit_bias_count = 3;
  Condition all;
  all.op = Condition::Op::kAll;
  all.children = {Leaf("body.logprobs", Condition::Op::kEq, Bool(true)),
                  Leaf("body.logit_bias_count", Condition::Op::kGt, Num(0))};
  std::string trace;
  REQUIRE(Eval(all, r, &trace));
  CHECK(trace == "body.logprobs = true (eq true); body.logit_bias_count = 3 (gt 0)");

  r.body.logit_bias_count = 0;
  trace.clear();
  CHECK_FALSE(Eval(all, r, &trace));
  CHECK(trace.empty());

  Condition any;
  any.op = Condition::Op::kAny;
  any.children = all.children;
  CHECK(Eval(any, r));

  Condition neg;
  neg.op = Condition::Op::kNot;
  neg.children = {all};
  trace.clear();
  CHECK(Eval(neg, r, &trace));
  CHECK(trace.find("not(all(") == 0);
}

TEST_CASE("account flags match eq and in by membership") {
  Request r = test::ChatRequest();
  r.account->flags = {"research-partner", "beta"};
  CHECK(Eval(Leaf("account.flags", Condition::Op::kEq, Str("beta")), r));
  CHECK_FALSE(Eval(Leaf("account.flags", Condition::Op::kEq, Str("suspended")), r));
}

TEST_CASE("cidr matches IPv4 and IPv6 ranges and rejects bad ranges") {
  engine::Cidr v4, v6, host, bad;
  REQUIRE(engine::ParseCidr("203.0.113.0/24", &v4));
  REQUIRE(engine::ParseCidr("2001:db8::/32", &v6));
  REQUIRE(engine::ParseCidr("198.51.100.9", &host));
  CHECK_FALSE(engine::ParseCidr("10.0.0.0/33", &bad));
  CHECK_FALSE(engine::ParseCidr("10.0.0/8", &bad));
  CHECK_FALSE(engine::ParseCidr("2001:db8::/129", &bad));
  Condition c;
  c.op = Condition::Op::kCidr;
  c.field = *engine::ResolveField("request.client_ip");
  c.cidrs = {v4, v6};
  Request r = test::ChatRequest();
  r.client_ip = "203.0.113.200";
  CHECK(Eval(c, r));
  r.client_ip = "203.0.114.1";
  CHECK_FALSE(Eval(c, r));
  r.client_ip = "2001:db8:1::5";
  CHECK(Eval(c, r));
  r.client_ip = "not-an-ip";
  CHECK_FALSE(Eval(c, r));
}

TEST_CASE("time fields read the UTC hour and ISO weekday of the decision") {
  Request r = test::ChatRequest();
  // 2026-11-28T13:00:00Z is a Saturday.
  const int64_t wall = 1795870800000;
  CHECK(Eval(Leaf("time.hour", Condition::Op::kEq, Num(13)), r, nullptr, wall));
  CHECK(Eval(Leaf("time.weekday", Condition::Op::kEq, Num(6)), r, nullptr, wall));
}

TEST_CASE("header fields are looked up by lower-case name") {
  auto f = engine::ResolveField("request.header.X-Client-Name");
  REQUIRE(f);
  CHECK(f->header == "x-client-name");
  CHECK_FALSE(engine::ResolveField("request.nope"));
  Request r = test::ChatRequest();
  r.headers = {{"x-client-name", "scraper"}};
  CHECK(Eval(Leaf("request.header.x-client-name", Condition::Op::kEq, Str("scraper")), r));
}

TEST_CASE("ParseIp reads IPv4 as inet_pton does (its fast path included)") {
  // Dotted quads and near misses: leading zeros, parts over 255, too few
  // or too many parts, stray characters.
  const std::vector<std::string> fixed = {
      "0.0.0.0", "255.255.255.255", "10.1.2.3", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04",
      "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1..3.4", "1.2.3.", ".1.2.3", "1.2.3.1000", "",
      "a.b.c.d", "1.2.3.4/24", "::ffff:1.2.3.4", "2001:db8::1", "1.2.3.-4", "999.0.0.0"};
  std::vector<std::string> cases = fixed;
  uint64_t seed = 7;
  auto next = [&] { return (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; };
  for (int i = 0; i < 20'000; ++i) {
    // Three to five parts of 0-3 digits (a value up to 299, now and then
    // with a leading zero), joined by dots.
    std::string s;
    const int parts = 3 + static_cast<int>(next() % 3);
    for (int p = 0; p < parts; ++p) {
      if (p) s += '.';
      const uint64_t kind = next() % 10;
      if (kind == 0) continue;                      // empty part
      if (kind == 1) s += '0';                      // leading zero
      s += std::to_string(next() % 300);
    }
    cases.push_back(s);
  }
  int parsed = 0;
  for (const std::string& s : cases) {
    std::array<uint8_t, 16> ours{};
    const bool ok = engine::ParseIp(s, &ours);
    in_addr v4{};
    in6_addr v6{};
    const bool v4_ok = inet_pton(AF_INET, s.c_str(), &v4) == 1;
    const bool v6_ok = !v4_ok && inet_pton(AF_INET6, s.c_str(), &v6) == 1;
    INFO("address: \"", s, "\"");
    REQUIRE(ok == (v4_ok || v6_ok));
    if (v4_ok) {
      ++parsed;
      std::array<uint8_t, 16> want{};
      want[10] = want[11] = 0xff;
      std::memcpy(want.data() + 12, &v4, 4);
      CHECK(ours == want);
    }
  }
  CHECK(parsed > 1000);  // the random cases include real addresses
}
