#include <doctest/doctest.h>

#include "policies/duration.h"

using tosgate::policies::ParseDuration;

TEST_CASE("durations in every unit convert to nanoseconds") {
  struct Case {
    const char* text;
    int64_t ns;
  };
  const Case cases[] = {
      {"500ms", 500'000'000LL},         {"1ms", 1'000'000LL},
      {"30s", 30'000'000'000LL},        {"1m", 60'000'000'000LL},
      {"1h", 3'600'000'000'000LL},      {"1d", 86'400'000'000'000LL},
      {"30d", 2'592'000'000'000'000LL}, {"90s", 90'000'000'000LL},
      {"106751d", 106751LL * 86'400'000'000'000LL},  // the largest whole day in int64 ns
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto d = ParseDuration(c.text);
    REQUIRE(d.ok());
    CHECK(*d == c.ns);
  }
}

TEST_CASE("durations reject zero, signs, fractions, unknown units and overflow") {
  const char* bad[] = {"",    "0s",  "0ms", "-1s",  "+1s",   "1.5s", "1",    "s",
                       "1 s", "1S",  "1w",  "1sec", "10mss", " 1s",  "1s ",  "1y",
                       "106752d",  // just past int64 nanoseconds
                       "99999999999999999999999s"};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(ParseDuration(text).ok());
  }
}

TEST_CASE("a bad duration's message quotes it and says what is wrong") {
  auto unit = ParseDuration("5x");
  REQUIRE_FALSE(unit.ok());
  CHECK(unit.status().message() == "bad duration \"5x\": unknown unit \"x\" (use ms, s, m, h or d)");
  auto zero = ParseDuration("0m");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() == "bad duration \"0m\": must be greater than zero");
  auto big = ParseDuration("9223372037s");  // one second past int64 nanoseconds
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message() == "bad duration \"9223372037s\": too large");
  CHECK(ParseDuration("9223372036s").ok());
}
