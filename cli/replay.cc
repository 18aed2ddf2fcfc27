// tosgate replay: runs a traffic capture through a candidate policy set and
// the active one (a baseline directory, or the built-in default pack) side by
// side, and reports what the candidate would change. Each side has its own
// engine, state and clock; the clocks follow the capture's timestamps, so
// rate windows behave as they did when the traffic was recorded.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "api/request/request_description.h"
#include "cli/capture.h"
#include "cli/commands.h"
#include "cli/evaluate.h"
#include "cli/policy_source.h"
#include "engine/distill/analyzer_job.h"
#include "engine/engine.h"
#include "storage/accounts/file.h"

namespace tosgate::cli {
namespace {

constexpr size_t kEffects = 3;
constexpr size_t kMaxSamples = 5;

// One policy set under replay: its engine with its own clock and state, and
// the out-of-path analyzer over what its rules log, run on capture time.
struct Side {
  explicit Side(std::shared_ptr<const engine::PolicySnapshot> snapshot, int64_t wall_start_ms,
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
  std::array<uint64_t, kEffects> effects{};
  std::map<std::pair<std::string, Effect>, uint64_t> rules;

  Decision Decide(const Request& r) {
    Decision d = engine.Check(r);
    ++effects[static_cast<size_t>(d.effect)];
    for (const std::string& id : d.rule_ids) ++rules[{id, d.effect}];
    return d;
  }
};

struct Sample {
  int64_t line = 0;
  int64_t ts = 0;
  std::string account, path;
  Effect active_effect{}, candidate_effect{};
  std::vector<std::string> active_rules, candidate_rules;
};

std::string JoinRules(const std::vector<std::string>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + ids[i];
  return s + "]";
}

void PrintRules(const char* title, const Side& side) {
  std::cout << "rules (" << title << "):\n";
  if (side.rules.empty()) std::cout << "  (none)\n";
  for (const auto& [key, n] : side.rules)
    std::cout << "  " << key.first << " " << EffectName(key.second) << ": " << n << "\n";
}

// The in-place progress line on a terminal, redrawn at most ten times a second.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), start_(Now()), last_(start_) {}
  void Update(const CaptureReader& r, uint64_t requests) {
    if (!enabled_ || (++calls_ & 255) != 0) return;
    const auto now = Now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double pct = r.size_bytes() ? 100.0 * static_cast<double>(r.bytes_read()) /
                                            static_cast<double>(r.size_bytes())
                                      : 100.0;
    std::fprintf(stderr, "\rreplay: %5.1f%% (%.1f / %.1f MB), %llu requests, %.0f req/s\033[K", pct,
                 static_cast<double>(r.bytes_read()) / 1e6, static_cast<double>(r.size_bytes()) / 1e6,
                 static_cast<unsigned long long>(requests), secs > 0 ? static_cast<double>(requests) / secs : 0.0);
    shown_ = true;
  }
  // Clears the line before other output on stderr.
  void Clear() {
    if (shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
  }

 private:
  static std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }
  bool enabled_;
  bool shown_ = false;
  uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

constexpr char kUsage[] =
    "usage: tosgate replay --policies DIR --capture FILE [--accounts FILE] [--baseline DIR] "
    "[--decisions-out FILE]\n"
    "                      [--labels FILE [--detect-kinds LIST] [--detect-rules LIST]] [--json]\n"
    "                      [--analyzer-every SECONDS (of capture time; 0: off; default 60)]\n";

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= s.size();) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

nlohmann::ordered_json EffectsJson(const std::array<uint64_t, kEffects>& effects) {
  nlohmann::ordered_json j;
  for (size_t e = 0; e < kEffects; ++e) j[std::string(EffectName(static_cast<Effect>(e)))] = effects[e];
  return j;
}

nlohmann::ordered_json RulesJson(const std::map<std::pair<std::string, Effect>, uint64_t>& rules) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& [key, n] : rules)
    j.push_back({{"rule", key.first}, {"effect", EffectName(key.second)}, {"decisions", n}});
  return j;
}

}  // namespace

int RunReplay(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string policies_dir, capture_file, accounts_file, baseline_dir, decisions_file;
  const bool have_policies = TakeFlag(&args, "--policies", &policies_dir, &bad);
  const bool have_capture = TakeFlag(&args, "--capture", &capture_file, &bad);
  TakeFlag(&args, "--accounts", &accounts_file, &bad);
  const bool have_baseline = TakeFlag(&args, "--baseline", &baseline_dir, &bad);
  const bool have_decisions = TakeFlag(&args, "--decisions-out", &decisions_file, &bad);
  std::string labels_file, detect_kinds, detect_rules;
  const bool have_labels = TakeFlag(&args, "--labels", &labels_file, &bad);
  const bool have_kinds = TakeFlag(&args, "--detect-kinds", &detect_kinds, &bad);
  const bool have_rules = TakeFlag(&args, "--detect-rules", &detect_rules, &bad);
  const bool json_out = TakeSwitch(&args, "--json");
  std::string analyzer_every = "60";
  TakeFlag(&args, "--analyzer-every", &analyzer_every, &bad);
  int64_t analyzer_every_ns = 0;
  if (analyzer_every.empty() || analyzer_every.size() > 9 ||
      analyzer_every.find_first_not_of("0123456789") != std::string::npos) {
    bad = true;
  } else {
    analyzer_every_ns = std::stoll(analyzer_every) * 1'000'000'000;
  }
  if (bad || !have_policies || !have_capture || policies_dir.empty() ||
      (have_baseline && baseline_dir.empty()) || ((have_kinds || have_rules) && !have_labels) ||
      !args.empty()) {
    std::cerr << kUsage;
    return 2;
  }

  policies::LoadResult candidate_policies = policies::LoadPolicyDir(policies_dir);
  if (ReportPolicyErrors(candidate_policies)) return 2;
  policies::LoadResult active_policies = LoadPolicySource(have_baseline ? baseline_dir : "");
  if (ReportPolicyErrors(active_policies)) return 2;

  engine::MemoryAccountDirectory accounts;
  if (!accounts_file.empty()) {
    auto list = storage::LoadAccountsJsonl(accounts_file);
    if (!list.ok()) {
      std::cerr << "tosgate replay: " << list.status().message() << "\n";
      return 2;
    }
    accounts.Replace(std::move(list).value());
  }

  std::unique_ptr<Evaluation> evaluation;
  if (have_labels) {
    evaluation = std::make_unique<Evaluation>();
    if (Status st = evaluation->LoadLabels(labels_file); !st.ok()) {
      std::cerr << "tosgate replay: " << st.message() << "\n";
      return 2;
    }
    DetectionSpec spec;
    // Naming rules alone replaces the default kind; both together add up.
    if (have_kinds || have_rules) spec.kinds = SplitList(detect_kinds);
    spec.rules = SplitList(detect_rules);
    if (evaluation->SetDetectors(*candidate_policies.snapshot, spec).empty())
      std::cerr << "tosgate replay: no rule of the candidate counts as a detection (kinds: "
                << JoinRules(spec.kinds) << ", rules: " << JoinRules(spec.rules)
                << "); nothing will be detected\n";
  }

  CaptureReader reader(capture_file);
  if (!reader.ok()) {
    std::cerr << "tosgate replay: cannot read capture " << capture_file << "\n";
    return 2;
  }
  std::ofstream decisions_out;
  if (have_decisions) {
    decisions_out.open(decisions_file, std::ios::binary | std::ios::trunc);
    if (!decisions_out) {
      std::cerr << "tosgate replay: cannot write " << decisions_file << "\n";
      return 2;
    }
  }

  std::unique_ptr<Side> active, candidate;
  int64_t first_ts = 0, now_ns = 0, next_analysis_ns = analyzer_every_ns;
  uint64_t requests = 0, skipped = 0, out_of_order = 0, unchanged = 0;
  std::array<std::array<uint64_t, kEffects>, kEffects> changes{};
  std::vector<Sample> samples;
  Progress progress(isatty(2) == 1);
  const auto started = std::chrono::steady_clock::now();

  std::string text, problem;
  CaptureLine line;
  Request req;
  while (reader.Next(&text)) {
    progress.Update(reader, requests);
    Status converted;
    bool parsed = ParseCaptureLine(text, &line, &problem);
    if (parsed) {
      req = Request{};
      converted = api::RequestFromDescription(line.request, &req);
      if (!converted.ok()) {
        parsed = false;
        problem = converted.message();
      }
    }
    if (!parsed) {
      progress.Clear();
      std::cerr << capture_file << ":" << reader.line_number() << ": " << problem << "\n";
      ++skipped;
      continue;
    }

    if (!candidate) {
      first_ts = line.ts_ms;
      active = std::make_unique<Side>(active_policies.snapshot, first_ts, &accounts);
      candidate = std::make_unique<Side>(candidate_policies.snapshot, first_ts, &accounts);
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
    // The analyzer runs as it would have in `serve`: every so often, on
    // what was logged since, its risk read by the requests after it.
    if (analyzer_every_ns > 0 && now_ns >= next_analysis_ns) {
      active->analyzer.RunOnce();
      candidate->analyzer.RunOnce();
      next_analysis_ns = now_ns + analyzer_every_ns;
    }

    const Decision a = active->Decide(req);
    const Decision c = candidate->Decide(req);
    ++requests;
    if (evaluation) evaluation->Observe(c.account_id, c);
    if (a.effect == c.effect) {
      ++unchanged;
    } else {
      ++changes[static_cast<size_t>(a.effect)][static_cast<size_t>(c.effect)];
      if (samples.size() < kMaxSamples)
        samples.push_back({reader.line_number(), line.ts_ms, c.account_id, req.path, a.effect,
                           c.effect, a.rule_ids, c.rule_ids});
    }
    if (have_decisions) {
      nlohmann::ordered_json j;
      j["ts"] = line.ts_ms;
      j["account"] = c.account_id.empty() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(c.account_id);
      j["effect"] = EffectName(c.effect);
      j["enforced"] = c.enforced;
      j["rules"] = c.rule_ids;
      j["reason"] = c.reason;
      j["risk"] = c.risk;
      decisions_out << j.dump() << '\n';
    }
  }
  progress.Clear();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (have_decisions) {
    decisions_out.flush();
    if (!decisions_out) {
      std::cerr << "tosgate replay: writing " << decisions_file << " failed\n";
      return 1;
    }
  }

  const Side empty_side(active_policies.snapshot, 0, &accounts);
  const Side& act = active ? *active : empty_side;
  const Side& cand = candidate ? *candidate : empty_side;
  if (json_out) {
    nlohmann::ordered_json j;
    j["capture"] = capture_file;
    j["active"] = have_baseline ? baseline_dir : "built-in default pack";
    j["candidate"] = policies_dir;
    j["requests"] = requests;
    j["lines_skipped"] = skipped;
    j["out_of_order"] = out_of_order;
    j["effects"] = {{"active", EffectsJson(act.effects)}, {"candidate", EffectsJson(cand.effects)}};
    nlohmann::ordered_json ch = nlohmann::ordered_json::array();
    for (size_t from = 0; from < kEffects; ++from)
      for (size_t to = 0; to < kEffects; ++to)
        if (changes[from][to] != 0)
          ch.push_back({{"from", EffectName(static_cast<Effect>(from))},
                        {"to", EffectName(static_cast<Effect>(to))}, {"requests", changes[from][to]}});
    j["changes"] = std::move(ch);
    j["unchanged"] = unchanged;
    j["rules"] = {{"candidate", RulesJson(cand.rules)}, {"active", RulesJson(act.rules)}};
    j["seconds"] = secs;
    if (evaluation) j["evaluation"] = evaluation->Json();
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "replay of " << capture_file << "\n"
              << "  active:    " << (have_baseline ? baseline_dir : "built-in default pack") << "\n"
              << "  candidate: " << policies_dir << "\n"
              << "requests: " << requests << " (lines skipped: " << skipped
              << ", out-of-order timestamps: " << out_of_order << ")\n\n";

    std::cout << "effects:       allow  throttle      deny\n";
    for (const auto* side : {&act, &cand}) {
      char row[96];
      std::snprintf(row, sizeof row, "  %-10s %8llu  %8llu  %8llu\n", side == &act ? "active" : "candidate",
                    static_cast<unsigned long long>(side->effects[0]),
                    static_cast<unsigned long long>(side->effects[1]),
                    static_cast<unsigned long long>(side->effects[2]));
      std::cout << row;
    }

    std::cout << "\nchanges (active -> candidate):\n";
    for (size_t from = 0; from < kEffects; ++from)
      for (size_t to = 0; to < kEffects; ++to)
        if (changes[from][to] != 0)
          std::cout << "  " << EffectName(static_cast<Effect>(from)) << " -> "
                    << EffectName(static_cast<Effect>(to)) << ": " << changes[from][to] << "\n";
    std::cout << "  unchanged: " << unchanged << "\n\n";

    PrintRules("candidate", cand);
    PrintRules("active", act);

    std::cout << "\nsample changes:\n";
    if (samples.empty()) std::cout << "  (none)\n";
    for (const Sample& s : samples)
      std::cout << "  line " << s.line << " ts " << s.ts << " account "
                << (s.account.empty() ? "-" : s.account) << " " << s.path << ": "
                << EffectName(s.active_effect) << " " << JoinRules(s.active_rules) << " -> "
                << EffectName(s.candidate_effect) << " " << JoinRules(s.candidate_rules) << "\n";

    char tp[128];
    std::snprintf(tp, sizeof tp, "\nthroughput: %llu requests in %.3f s (%.0f req/s)\n",
                  static_cast<unsigned long long>(requests), secs,
                  secs > 0 ? static_cast<double>(requests) / secs : 0.0);
    std::cout << tp;
    if (evaluation) evaluation->PrintText(std::cout);
  }

  if (skipped) {
    std::cerr << "tosgate replay: " << skipped << (skipped == 1 ? " line" : " lines")
              << " skipped; the result is incomplete\n";
    return 1;
  }
  return 0;
}

}  // namespace tosgate::cli
