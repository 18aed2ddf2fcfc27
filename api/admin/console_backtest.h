// A backtest for the console's Policies page: a candidate policy set and the
// active one, each on its own engine, state and clock, over a recorded
// traffic capture (docs/replay.md, "Capture format"), compared request by
// request. It is what `tosgate replay --json` computes (cli/replay.cc): the
// clocks follow the capture's timestamps and the out-of-path analyzer runs
// every `analyzer_every_ns` of capture time, so both report the same
// counts for the same capture and policy sets.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/accounts.h"
#include "engine/engine.h"
#include "tosgate/status.h"

namespace tosgate::api::admin {

struct BacktestInput {
  std::string capture;  // the capture file (admin.backtest_capture)
  std::shared_ptr<const engine::PolicySnapshot> active, candidate;
  const engine::AccountDirectory* accounts = nullptr;  // may be null
  int64_t analyzer_every_ns = int64_t{60} * 1'000'000'000;  // 0: never
};

// The report: requests, lines_skipped (with the first few problems),
// out_of_order, effects {active, candidate}, changes [{from, to, requests}],
// unchanged, rules {candidate, active}, samples (the first five requests
// whose effect changed), seconds. IoError when the capture cannot be read.
Result<nlohmann::ordered_json> RunBacktest(const BacktestInput& in);

}  // namespace tosgate::api::admin
