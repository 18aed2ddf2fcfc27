#include "api/admin/console_backtest.h"

#include <array>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include "api/request/request_description.h"
// The capture reader lives beside `tosgate replay` and is compiled into this
// library too (api/admin/CMakeLists.txt), as the fuzz targets and the
// simulator bench do: one parser of the capture format.
#include "api/request/capture.h"
#include "api/request/replay_side.h"
#include "engine/distill/analyzer_job.h"
#include "tosgate/clock.h"

namespace tosgate::api::admin {
namespace {

constexpr size_t kEffects = api::kReplayEffects;
constexpr size_t kMaxSamples = 5;
constexpr size_t kMaxProblems = 5;

using Side = api::ReplaySide;  // api/request/replay_side.h

nlohmann::ordered_json EffectsJson(const std::array<uint64_t, kEffects>& effects) {
  nlohmann::ordered_json j;
  for (size_t e = 0; e < kEffects; ++e) j[std::string(EffectName(static_cast<Effect>(e)))] = effects[e];
  return j;
}

nlohmann::ordered_json RulesJson(const Side* side) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  if (!side) return j;
  for (const auto& [key, n] : side->rules)
    j.push_back({{"rule", key.first}, {"effect", EffectName(key.second)}, {"decisions", n}});
  return j;
}

}  // namespace

Result<nlohmann::ordered_json> RunBacktest(const BacktestInput& in) {
  api::CaptureReader reader(in.capture);
  if (!reader.ok()) return Status::IoError("cannot read the backtest capture " + in.capture);
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<Side> active, candidate;
  uint64_t requests = 0, skipped = 0, out_of_order = 0, unchanged = 0;
  std::array<std::array<uint64_t, kEffects>, kEffects> changes{};
  nlohmann::ordered_json samples = nlohmann::ordered_json::array();
  nlohmann::ordered_json problems = nlohmann::ordered_json::array();
  int64_t first_ts = 0, now_ns = 0, next_analysis_ns = in.analyzer_every_ns;
  std::string text, problem;
  api::CaptureLine line;
  while (reader.Next(&text)) {
    Request req;
    bool ok = api::ParseCaptureLine(text, &line, &problem);
    if (ok) {
      Status converted = api::RequestFromDescription(line.request, &req);
      if (!converted.ok()) problem = converted.message();
      ok = converted.ok();
    }
    if (!ok) {
      if (problems.size() < kMaxProblems) problems.push_back({{"line", reader.line_number()}, {"problem", problem}});
      ++skipped;
      continue;
    }
    if (!candidate) {
      first_ts = line.ts_ms;
      active = std::make_unique<Side>(in.active, first_ts, in.accounts);
      candidate = std::make_unique<Side>(in.candidate, first_ts, in.accounts);
    }
    // The capture's time drives both clocks; a step back is held, not taken.
    const int64_t ts_ns = (line.ts_ms - first_ts) * 1'000'000;
    if (ts_ns < now_ns) {
      ++out_of_order;
    } else {
      now_ns = ts_ns;
    }
    active->clock.set_ns(now_ns);
    candidate->clock.set_ns(now_ns);
    if (in.analyzer_every_ns > 0 && now_ns >= next_analysis_ns) {
      active->analyzer.RunOnce();
      candidate->analyzer.RunOnce();
      next_analysis_ns = now_ns + in.analyzer_every_ns;
    }
    const Decision a = active->Decide(req);
    const Decision c = candidate->Decide(req);
    ++requests;
    if (a.effect == c.effect) {
      ++unchanged;
      continue;
    }
    ++changes[static_cast<size_t>(a.effect)][static_cast<size_t>(c.effect)];
    if (samples.size() < kMaxSamples)
      samples.push_back({{"line", reader.line_number()}, {"ts", line.ts_ms}, {"account", c.account_id},
                         {"path", req.path}, {"active", {{"effect", EffectName(a.effect)}, {"rules", a.rule_ids}}},
                         {"candidate", {{"effect", EffectName(c.effect)}, {"rules", c.rule_ids}}}});
  }
  nlohmann::ordered_json j;
  j["requests"] = requests;
  j["lines_skipped"] = skipped;
  j["problems"] = std::move(problems);
  j["out_of_order"] = out_of_order;
  const std::array<uint64_t, kEffects> none{};
  j["effects"] = {{"active", EffectsJson(active ? active->effects : none)},
                  {"candidate", EffectsJson(candidate ? candidate->effects : none)}};
  nlohmann::ordered_json ch = nlohmann::ordered_json::array();
  for (size_t from = 0; from < kEffects; ++from)
    for (size_t to = 0; to < kEffects; ++to)
      if (changes[from][to] != 0)
        ch.push_back({{"from", EffectName(static_cast<Effect>(from))},
                      {"to", EffectName(static_cast<Effect>(to))}, {"requests", changes[from][to]}});
  j["changes"] = std::move(ch);
  j["unchanged"] = unchanged;
  j["rules"] = {{"candidate", RulesJson(candidate.get())}, {"active", RulesJson(active.get())}};
  j["samples"] = std::move(samples);
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return j;
}

}  // namespace tosgate::api::admin
