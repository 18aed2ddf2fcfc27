// Resource bounds under a flood: many distinct accounts through the engine
// keep the state store within max_entries. Idle entries make room (counted
// as evictions); a live count is never dropped for a newcomer: while the
// store is full of live entries a new key is refused (counted) and the
// engine decides by failure_mode, so a throttled account stays throttled.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/snapshot.h"
#include "engine/state_store.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

std::shared_ptr<engine::PolicySnapshot> OneLimit(bool fail_open) {
  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->revision = "bounds";
  snap->settings.fail_open = fail_open;
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  snap->rules.push_back(PerAccountLimit("rate.rpm", 2, 60));
  return snap;
}

TEST_CASE("bounds: a flood of distinct accounts stays within max_entries, idle ones evicted") {
  constexpr size_t kMax = 256;
  constexpr int kAccounts = 20000;
  FakeClock clock;
  std::unique_ptr<engine::StateStore> state =
      engine::NewMemoryStateStore({.max_entries = kMax, .shards = 4});
  engine::Engine engine(engine::EngineOptions{&clock, state.get(), nullptr, nullptr});
  engine.Publish(OneLimit(false));

  // One new account a second: each count is idle two minutes after its
  // request, so there is room for every newcomer.
  for (int i = 0; i < kAccounts; ++i) {
    clock.advance_ms(1000);
    REQUIRE(engine.Check(ChatRequest("acct-" + std::to_string(i))).effect == Effect::kAllow);
    if (i % 1000 == 0) REQUIRE(state->entries() <= kMax);
  }
  CHECK(state->entries() <= kMax);
  CHECK(state->evictions() >= kAccounts - kMax);
  CHECK(state->refusals() == 0);

  // An account that keeps sending is still limited: 2 allowed, then throttled.
  CHECK(engine.Check(ChatRequest("steady")).effect == Effect::kAllow);
  CHECK(engine.Check(ChatRequest("steady")).effect == Effect::kAllow);
  CHECK(engine.Check(ChatRequest("steady")).effect == Effect::kThrottle);
  CHECK(state->entries() <= kMax);
}

// The attack: an account being throttled floods from fresh accounts so that
// its own counter is evicted and it starts over with a full budget.
TEST_CASE("bounds: a flood of fresh accounts cannot reset a throttled account's count") {
  constexpr size_t kMax = 64;
  for (bool fail_open : {false, true}) {
    CAPTURE(fail_open);
    FakeClock clock;
    auto state = engine::NewMemoryStateStore({.max_entries = kMax, .shards = 2});
    engine::Engine engine(engine::EngineOptions{&clock, state.get(), nullptr, nullptr});
    engine.Publish(OneLimit(fail_open));

    REQUIRE(engine.Check(ChatRequest("victim")).effect == Effect::kAllow);
    REQUIRE(engine.Check(ChatRequest("victim")).effect == Effect::kAllow);
    REQUIRE(engine.Check(ChatRequest("victim")).effect == Effect::kThrottle);

    int allowed = 0, refused = 0;
    for (int i = 0; i < 2000; ++i) {
      clock.advance_ms(1);  // 2 s in all: every count stays live
      Decision d = engine.Check(ChatRequest("flood-" + std::to_string(i)));
      if (d.effect == Effect::kAllow && !d.fail_open) ++allowed;
      if (d.reason == "internal-error") {
        CHECK(d.status == 503);
        ++refused;
      }
      if (d.fail_open) ++refused;
    }
    CHECK(allowed < static_cast<int>(kMax));
    CHECK(refused == 2000 - allowed);
    CHECK(state->refusals() == static_cast<uint64_t>(refused));
    CHECK(engine.counters().internal_errors.load() == static_cast<uint64_t>(refused));
    CHECK(state->entries() <= kMax);

    // Still throttled after the flood: its count was not forgotten.
    Decision d = engine.Check(ChatRequest("victim"));
    CHECK(d.effect == Effect::kThrottle);
  }
}

}  // namespace
}  // namespace tosgate::test
