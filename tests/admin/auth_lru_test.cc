// The failed-login table is bounded as an LRU that never forgets an address
// being locked out: a flood of failures from fresh addresses must not give
// an attacker's address its free failures back (it used to be wiped whole
// once it held max_addresses).
#include <doctest/doctest.h>

#include <string>

#include "api/admin/auth.h"
#include "engine/sha256.h"
#include "tosgate/clock.h"

namespace tosgate::api::admin {
namespace {

constexpr int64_t kSec = 1'000'000'000;
using Outcome = Authenticator::Outcome;

TEST_CASE("admin auth: a flood of fresh addresses cannot start a locked-out address over") {
  FakeClock clock;
  BackoffOptions b;
  b.free_failures = 3;
  b.first_wait_ns = kSec;
  b.max_wait_ns = 300 * kSec;
  b.max_addresses = 100;
  Authenticator auth({{"ops", engine::Sha256Hex("good"), Role::kAdmin}}, &clock, b);
  const std::string bad = "Bearer bad", good = "Bearer good";

  // 3 free failures, the 4th waits 1 s, the 5th (after it) 2 s.
  for (int i = 0; i < 4; ++i)
    REQUIRE(auth.Authenticate(&bad, "attacker").outcome == Outcome::kInvalid);
  clock.advance_ms(1000);
  REQUIRE(auth.Authenticate(&bad, "attacker").outcome == Outcome::kInvalid);
  REQUIRE(auth.Authenticate(&good, "attacker").retry_after_s == 2);

  // 10,000 fresh addresses fail once each, 1 ms apart (10 s in all).
  for (int i = 0; i < 10'000; ++i) {
    clock.advance_ms(1);
    CHECK(auth.Authenticate(&bad, "flood-" + std::to_string(i)).outcome == Outcome::kInvalid);
  }
  CHECK(auth.addresses() <= 100);
  CHECK(auth.unremembered() == 0);  // the flood pushed out its own, older addresses

  // The attacker's wait is over, but not its count: the next failure waits
  // twice as long, instead of being one of three free ones again.
  CHECK(auth.Authenticate(&bad, "attacker").outcome == Outcome::kInvalid);
  const Authenticator::Verdict v = auth.Authenticate(&good, "attacker");
  CHECK(v.outcome == Outcome::kSlowDown);
  CHECK(v.retry_after_s == 4);
}

TEST_CASE("admin auth: the least recently failed address is forgotten first") {
  FakeClock clock;
  BackoffOptions b;
  b.free_failures = 1;
  b.first_wait_ns = kSec;
  b.max_wait_ns = 4 * kSec;
  b.max_addresses = 3;
  Authenticator auth({{"ops", engine::Sha256Hex("good"), Role::kAdmin}}, &clock, b);
  const std::string bad = "Bearer bad", good = "Bearer good";
  for (const char* a : {"a", "b", "c"})
    REQUIRE(auth.Authenticate(&bad, a).outcome == Outcome::kInvalid);
  clock.advance_ms(5000);  // none of them is being locked out any more
  REQUIRE(auth.Authenticate(&bad, "a").outcome == Outcome::kInvalid);  // a: 2nd, waits 1 s
  REQUIRE(auth.Authenticate(&bad, "d").outcome == Outcome::kInvalid);  // b goes: least recent
  CHECK(auth.addresses() == 3);
  // b starts over: one free failure again.
  REQUIRE(auth.Authenticate(&bad, "b").outcome == Outcome::kInvalid);
  CHECK(auth.Authenticate(&good, "b").outcome == Outcome::kOk);
  CHECK(auth.Authenticate(&good, "a").outcome == Outcome::kSlowDown);  // a is remembered
  CHECK(auth.addresses() <= 3);
}

TEST_CASE(
    "admin auth: with every remembered address locked out, a new one is not remembered, counted") {
  FakeClock clock;
  BackoffOptions b;
  b.free_failures = 0;  // every failure waits
  b.first_wait_ns = 10 * kSec;
  b.max_addresses = 2;
  Authenticator auth({{"ops", engine::Sha256Hex("good"), Role::kAdmin}}, &clock, b);
  const std::string bad = "Bearer bad", good = "Bearer good";
  REQUIRE(auth.Authenticate(&bad, "a").outcome == Outcome::kInvalid);
  REQUIRE(auth.Authenticate(&bad, "b").outcome == Outcome::kInvalid);
  CHECK(auth.Authenticate(&bad, "c").outcome == Outcome::kInvalid);
  CHECK(auth.unremembered() == 1);
  CHECK(auth.addresses() == 2);
  CHECK(auth.Authenticate(&good, "a").outcome == Outcome::kSlowDown);
  CHECK(auth.Authenticate(&good, "b").outcome == Outcome::kSlowDown);
  CHECK(auth.failures() == 3);
}

}  // namespace
}  // namespace tosgate::api::admin
