// One policy set under replay (`tosgate replay`, the admin API's backtest):
// its own engine with its own clock following the capture's timestamps and
// its own in-memory state, the out-of-path analyzer over what its rules
// log, and the decisions it made, counted by effect and by rule.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "engine/distill/analyzer_job.h"
#include "engine/engine.h"
#include "tosgate/clock.h"

namespace tosgate::api {

inline constexpr size_t kReplayEffects = 3;  // allow, throttle, deny

struct ReplaySide {
  ReplaySide(std::shared_ptr<const engine::PolicySnapshot> snapshot, int64_t wall_start_ms,
             const engine::AccountDirectory* accounts)
      : clock(wall_start_ms), state(engine::NewMemoryStateStore()),
        engine({.clock = &clock, .state = state.get(), .accounts = accounts, .feature_log = &log}),
        analyzer(&log, &engine.behavior(), &clock, engine::AnalyzerOptions{}) {
    engine.Publish(std::move(snapshot));
  }
  FakeClock clock;
  std::unique_ptr<engine::StateStore> state;
  engine::FeatureLog log{1 << 18};
  engine::Engine engine;
  engine::AnalyzerJob analyzer;
  std::array<uint64_t, kReplayEffects> effects{};
  std::map<std::pair<std::string, Effect>, uint64_t> rules;

  Decision Decide(const Request& r) {
    Decision d = engine.Check(r);
    ++effects[static_cast<size_t>(d.effect)];
    for (const std::string& id : d.rule_ids) ++rules[{id, d.effect}];
    return d;
  }
};

}  // namespace tosgate::api
