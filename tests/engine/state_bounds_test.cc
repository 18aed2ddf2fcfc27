// Resource bounds under a flood: many distinct accounts through the engine
// keep the state store within max_entries, the overflow is counted as
// evictions, and limits keep working for the accounts still sending.
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

TEST_CASE("bounds: a flood of distinct accounts stays within max_entries, evictions counted") {
  constexpr size_t kMax = 256;
  constexpr int kAccounts = 20000;
  FakeClock clock;
  std::unique_ptr<engine::StateStore> state =
      engine::NewMemoryStateStore({.max_entries = kMax, .shards = 4});
  engine::Engine engine(engine::EngineOptions{&clock, state.get(), nullptr, nullptr});
  auto snap = std::make_shared<engine::PolicySnapshot>();
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  snap->revision = "bounds";
  snap->rules.push_back(PerAccountLimit("rate.rpm", 2, 60));
  engine.Publish(snap);

  for (int i = 0; i < kAccounts; ++i) {
    clock.advance_ms(1);
    (void)engine.Check(ChatRequest("acct-" + std::to_string(i)));
    if (i % 1000 == 0) REQUIRE(state->entries() <= kMax);
  }
  CHECK(state->entries() <= kMax);
  CHECK(state->evictions() >= kAccounts - kMax);

  // An account that keeps sending is still limited: 2 allowed, then throttled.
  CHECK(engine.Check(ChatRequest("steady")).effect == Effect::kAllow);
  CHECK(engine.Check(ChatRequest("steady")).effect == Effect::kAllow);
  CHECK(engine.Check(ChatRequest("steady")).effect == Effect::kThrottle);
  CHECK(state->entries() <= kMax);
}

}  // namespace
}  // namespace tosgate::test
