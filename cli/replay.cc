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
#include "api/request/capture.h"
#include "api/request/replay_side.h"
#include "cli/commands.h"
#include "cli/evaluate.h"
#include "server/policy_source.h"
#include "engine/distill/analyzer_job.h"
#include "engine/engine.h"
#include "storage/accounts/file.h"

namespace tosgate::cli {
namespace {

using api::CaptureLine;
using api::CaptureReader;
using api::ParseCaptureLine;

constexpr size_t kEffects = api::kReplayEffects;
constexpr size_t kMaxSamples = 5;

using Side = api::ReplaySide;  // api/request/replay_side.h

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

// What the flags asked for.
struct ReplayArgs {
  std::string policies_dir, capture_file, accounts_file, baseline_dir, decisions_file;
  std::string labels_file, detect_kinds, detect_rules;
  bool have_baseline = false, have_decisions = false, have_labels = false, have_detect = false;
  bool json_out = false;
  int64_t analyzer_every_ns = 0;

  std::string active_name() const { return have_baseline ? baseline_dir : "built-in default pack"; }
};

// False (after printing the usage) when the flags do not make a replay.
bool ParseReplayArgs(const Args& in, ReplayArgs* a) {
  Args args = in;
  bool bad = false;
  const bool have_policies = TakeFlag(&args, "--policies", &a->policies_dir, &bad);
  const bool have_capture = TakeFlag(&args, "--capture", &a->capture_file, &bad);
  TakeFlag(&args, "--accounts", &a->accounts_file, &bad);
  a->have_baseline = TakeFlag(&args, "--baseline", &a->baseline_dir, &bad);
  a->have_decisions = TakeFlag(&args, "--decisions-out", &a->decisions_file, &bad);
  a->have_labels = TakeFlag(&args, "--labels", &a->labels_file, &bad);
  const bool have_kinds = TakeFlag(&args, "--detect-kinds", &a->detect_kinds, &bad);
  const bool have_rules = TakeFlag(&args, "--detect-rules", &a->detect_rules, &bad);
  a->have_detect = have_kinds || have_rules;
  a->json_out = TakeSwitch(&args, "--json");
  std::string analyzer_every = "60";
  TakeFlag(&args, "--analyzer-every", &analyzer_every, &bad);
  if (analyzer_every.empty() || analyzer_every.size() > 9 ||
      analyzer_every.find_first_not_of("0123456789") != std::string::npos) {
    bad = true;
  } else {
    a->analyzer_every_ns = std::stoll(analyzer_every) * 1'000'000'000;
  }
  if (bad || !have_policies || !have_capture || a->policies_dir.empty() ||
      (a->have_baseline && a->baseline_dir.empty()) || (a->have_detect && !a->have_labels) || !args.empty()) {
    std::cerr << kUsage;
    return false;
  }
  return true;
}

// The two policy sets, the accounts, and the labels to score detection by.
struct ReplayInputs {
  policies::LoadResult candidate, active;
  engine::MemoryAccountDirectory accounts;
  std::unique_ptr<Evaluation> evaluation;  // with --labels
};

// False after saying why on stderr (exit 2).
bool LoadReplayInputs(const ReplayArgs& a, ReplayInputs* in) {
  in->candidate = policies::LoadPolicyDir(a.policies_dir, server::PolicyLoadOptions());
  if (server::ReportPolicyErrors(in->candidate)) return false;
  in->active = server::LoadPolicySource(a.have_baseline ? a.baseline_dir : "");
  if (server::ReportPolicyErrors(in->active)) return false;
  if (!a.accounts_file.empty()) {
    auto list = storage::LoadAccountsJsonl(a.accounts_file);
    if (!list.ok()) {
      std::cerr << "tosgate replay: " << list.status().message() << "\n";
      return false;
    }
    in->accounts.Replace(std::move(list).value());
  }
  if (!a.have_labels) return true;
  in->evaluation = std::make_unique<Evaluation>();
  if (Status st = in->evaluation->LoadLabels(a.labels_file); !st.ok()) {
    std::cerr << "tosgate replay: " << st.message() << "\n";
    return false;
  }
  DetectionSpec spec;
  // Naming rules alone replaces the default kind; both together add up.
  if (a.have_detect) spec.kinds = SplitList(a.detect_kinds);
  spec.rules = SplitList(a.detect_rules);
  if (in->evaluation->SetDetectors(*in->candidate.snapshot, spec).empty())
    std::cerr << "tosgate replay: no rule of the candidate counts as a detection (kinds: "
              << JoinRules(spec.kinds) << ", rules: " << JoinRules(spec.rules) << "); nothing will be detected\n";
  return true;
}

// What the run counted; both sides exist once a first request was read.
struct Tally {
  std::unique_ptr<Side> active, candidate;
  uint64_t requests = 0, skipped = 0, out_of_order = 0, unchanged = 0;
  std::array<std::array<uint64_t, kEffects>, kEffects> changes{};
  std::vector<Sample> samples;
  double seconds = 0;
};

// --decisions-out: one JSON line per candidate decision.
void WriteDecisionLine(const CaptureLine& line, const Decision& c, std::ostream& out) {
  nlohmann::ordered_json j;
  j["ts"] = line.ts_ms;
  j["account"] = c.account_id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.account_id);
  j["effect"] = EffectName(c.effect);
  j["enforced"] = c.enforced;
  j["rules"] = c.rule_ids;
  j["reason"] = c.reason;
  j["risk"] = c.risk;
  out << j.dump() << '\n';
}

// Runs the capture through both sides, on the capture's own time.
class CaptureRun {
 public:
  CaptureRun(const ReplayArgs& a, ReplayInputs& in, Tally* t) : a_(a), in_(in), t_(t) {}

  // False after saying why on stderr (exit 2: a capture or output that
  // cannot be opened; 1: the decisions file failed while written).
  bool Run(int* exit_code) {
    CaptureReader reader(a_.capture_file);
    if (!reader.ok()) {
      std::cerr << "tosgate replay: cannot read capture " << a_.capture_file << "\n";
      return (*exit_code = 2, false);
    }
    if (a_.have_decisions) {
      decisions_.open(a_.decisions_file, std::ios::binary | std::ios::trunc);
      if (!decisions_) {
        std::cerr << "tosgate replay: cannot write " << a_.decisions_file << "\n";
        return (*exit_code = 2, false);
      }
    }
    next_analysis_ns_ = a_.analyzer_every_ns;
    Progress progress(isatty(2) == 1);
    const auto started = std::chrono::steady_clock::now();
    std::string text;
    while (reader.Next(&text)) {
      progress.Update(reader, t_->requests);
      std::string problem;
      if (!Parse(text, &problem)) {
        progress.Clear();
        std::cerr << a_.capture_file << ":" << reader.line_number() << ": " << problem << "\n";
        ++t_->skipped;
        continue;
      }
      Step(reader.line_number());
    }
    progress.Clear();
    t_->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (a_.have_decisions) {
      decisions_.flush();
      if (!decisions_) {
        std::cerr << "tosgate replay: writing " << a_.decisions_file << " failed\n";
        return (*exit_code = 1, false);
      }
    }
    return true;
  }

 private:
  bool Parse(const std::string& text, std::string* problem) {
    if (!ParseCaptureLine(text, &line_, problem)) return false;
    req_ = Request{};
    Status converted = api::RequestFromDescription(line_.request, &req_);
    if (!converted.ok()) *problem = converted.message();
    return converted.ok();
  }

  // One request: both clocks set to its time, the analyzer run when due,
  // both decisions taken and compared.
  void Step(int64_t line_number) {
    if (!t_->candidate) {
      first_ts_ = line_.ts_ms;
      t_->active = std::make_unique<Side>(in_.active.snapshot, first_ts_, &in_.accounts);
      t_->candidate = std::make_unique<Side>(in_.candidate.snapshot, first_ts_, &in_.accounts);
    }
    // The capture's time drives both clocks; a step back is held, not taken.
    const int64_t ts_ns = (line_.ts_ms - first_ts_) * 1'000'000;
    if (ts_ns < now_ns_) {
      ++t_->out_of_order;
    } else {
      now_ns_ = ts_ns;
    }
    t_->active->clock.set_ns(now_ns_);
    t_->candidate->clock.set_ns(now_ns_);
    // The analyzer runs as it would have in `serve`: every so often, on
    // what was logged since, its risk read by the requests after it.
    if (a_.analyzer_every_ns > 0 && now_ns_ >= next_analysis_ns_) {
      t_->active->analyzer.RunOnce();
      t_->candidate->analyzer.RunOnce();
      next_analysis_ns_ = now_ns_ + a_.analyzer_every_ns;
    }
    const Decision a = t_->active->Decide(req_);
    const Decision c = t_->candidate->Decide(req_);
    ++t_->requests;
    if (in_.evaluation) in_.evaluation->Observe(c.account_id, c);
    if (a.effect == c.effect) {
      ++t_->unchanged;
    } else {
      ++t_->changes[static_cast<size_t>(a.effect)][static_cast<size_t>(c.effect)];
      if (t_->samples.size() < kMaxSamples)
        t_->samples.push_back(
            {line_number, line_.ts_ms, c.account_id, req_.path, a.effect, c.effect, a.rule_ids, c.rule_ids});
    }
    if (a_.have_decisions) WriteDecisionLine(line_, c, decisions_);
  }

  const ReplayArgs& a_;
  ReplayInputs& in_;
  Tally* t_;
  std::ofstream decisions_;
  CaptureLine line_;
  Request req_;
  int64_t first_ts_ = 0, now_ns_ = 0, next_analysis_ns_ = 0;
};

void PrintJson(const ReplayArgs& a, const Tally& t, const Side& act, const Side& cand, const Evaluation* ev) {
  nlohmann::ordered_json j;
  j["capture"] = a.capture_file;
  j["active"] = a.active_name();
  j["candidate"] = a.policies_dir;
  j["requests"] = t.requests;
  j["lines_skipped"] = t.skipped;
  j["out_of_order"] = t.out_of_order;
  j["effects"] = {{"active", EffectsJson(act.effects)}, {"candidate", EffectsJson(cand.effects)}};
  nlohmann::ordered_json ch = nlohmann::ordered_json::array();
  for (size_t from = 0; from < kEffects; ++from)
    for (size_t to = 0; to < kEffects; ++to)
      if (t.changes[from][to] != 0)
        ch.push_back({{"from", EffectName(static_cast<Effect>(from))},
                      {"to", EffectName(static_cast<Effect>(to))}, {"requests", t.changes[from][to]}});
  j["changes"] = std::move(ch);
  j["unchanged"] = t.unchanged;
  j["rules"] = {{"candidate", RulesJson(cand.rules)}, {"active", RulesJson(act.rules)}};
  j["seconds"] = t.seconds;
  if (ev) j["evaluation"] = ev->Json();
  std::cout << j.dump(2) << "\n";
}

void PrintText(const ReplayArgs& a, const Tally& t, const Side& act, const Side& cand, const Evaluation* ev) {
  std::cout << "replay of " << a.capture_file << "\n"
            << "  active:    " << a.active_name() << "\n"
            << "  candidate: " << a.policies_dir << "\n"
            << "requests: " << t.requests << " (lines skipped: " << t.skipped
            << ", out-of-order timestamps: " << t.out_of_order << ")\n\n";
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
      if (t.changes[from][to] != 0)
        std::cout << "  " << EffectName(static_cast<Effect>(from)) << " -> " << EffectName(static_cast<Effect>(to))
                  << ": " << t.changes[from][to] << "\n";
  std::cout << "  unchanged: " << t.unchanged << "\n\n";
  PrintRules("candidate", cand);
  PrintRules("active", act);
  std::cout << "\nsample changes:\n";
  if (t.samples.empty()) std::cout << "  (none)\n";
  for (const Sample& s : t.samples)
    std::cout << "  line " << s.line << " ts " << s.ts << " account " << (s.account.empty() ? "-" : s.account)
              << " " << s.path << ": " << EffectName(s.active_effect) << " " << JoinRules(s.active_rules)
              << " -> " << EffectName(s.candidate_effect) << " " << JoinRules(s.candidate_rules) << "\n";
  char tp[128];
  std::snprintf(tp, sizeof tp, "\nthroughput: %llu requests in %.3f s (%.0f req/s)\n",
                static_cast<unsigned long long>(t.requests), t.seconds,
                t.seconds > 0 ? static_cast<double>(t.requests) / t.seconds : 0.0);
  std::cout << tp;
  if (ev) ev->PrintText(std::cout);
}

}  // namespace

int RunReplay(const Args& args) {
  ReplayArgs a;
  if (!ParseReplayArgs(args, &a)) return 2;
  ReplayInputs in;
  if (!LoadReplayInputs(a, &in)) return 2;
  Tally t;
  int exit_code = 0;
  if (!CaptureRun(a, in, &t).Run(&exit_code)) return exit_code;

  const Side empty_side(in.active.snapshot, 0, &in.accounts);
  const Side& act = t.active ? *t.active : empty_side;
  const Side& cand = t.candidate ? *t.candidate : empty_side;
  if (a.json_out) {
    PrintJson(a, t, act, cand, in.evaluation.get());
  } else {
    PrintText(a, t, act, cand, in.evaluation.get());
  }
  if (t.skipped) {
    std::cerr << "tosgate replay: " << t.skipped << (t.skipped == 1 ? " line" : " lines")
              << " skipped; the result is incomplete\n";
    return 1;
  }
  return 0;
}

}  // namespace tosgate::cli
