// What competitor_training adds to a request, on the traffic simulator's
// traffic (issue 5's 2 µs target is measured with the simulator):
//
//   build/traffic_sim --seed 1 --out /tmp/sim
//   build/bench/distill_sim_bench --capture /tmp/sim/capture.jsonl
//       --accounts /tmp/sim/accounts.jsonl [--policies policies/packs/distillation]
//       [--requests 100000] [--rounds 7] [--decisions FILE]   (one command line)
//
// --decisions writes the first round's B decisions, one line a request
// (account, effect, status, risk to 17 digits, each match's rule, action and
// explanation, the headers): two builds that write the same file decided
// every request alike (how a speed change is shown not to change them).
// `COST=1 bench/distill_eval.sh` does both, after the detection report.
// The capture is parsed into requests once, in memory. Each round then
// replays it, in capture order with the capture's timestamps driving the
// clock, through two fresh engines: A, the policy set with its
// competitor_training rules taken out, and B, the policy set as it is; the
// order alternates (A B, B A, ...) so that drift on a noisy machine falls on
// both. Only Engine::Check is timed. It prints each side's median ns per
// request and the median of the rounds' differences:
// the rule's added cost.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/request/request_description.h"
#include "api/request/capture.h"
#include "engine/accounts.h"
#include "engine/engine.h"
#include "policies/loader.h"
#include "storage/accounts/file.h"
#include "tosgate/clock.h"

namespace {

using namespace tosgate;
using Files = std::vector<std::pair<std::string, std::string>>;

struct Options {
  std::string capture, accounts, policies = TOSGATE_SOURCE_DIR "/policies/packs/distillation";
  std::string decisions;
  size_t requests = 100'000;
  int rounds = 7;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "distill_sim_bench: %s\nusage: distill_sim_bench --capture FILE [--accounts FILE] "
               "[--policies DIR] [--requests N] [--rounds N] [--decisions FILE]\n",
               why);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("no value for " + flag).c_str());
    const char* v = argv[++i];
    if (flag == "--capture") o.capture = v;
    else if (flag == "--accounts") o.accounts = v;
    else if (flag == "--policies") o.policies = v;
    else if (flag == "--requests") o.requests = std::stoul(v);
    else if (flag == "--rounds") o.rounds = std::max(1, std::stoi(v));
    else if (flag == "--decisions") o.decisions = v;
    else Usage(("unknown flag " + flag).c_str());
  }
  if (o.capture.empty()) Usage("--capture is required");
  return o;
}

// The policy files of `dir` (not tests), and the data files they name
// (lists, models): every other regular file.
Files ReadPolicies(const std::string& dir) {
  Files files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.find(".test.") != std::string::npos) continue;
    std::ifstream in(e.path());
    files.emplace_back(std::filesystem::relative(e.path(), dir).string(),
                       std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return files;
}

// The same files without their competitor_training rules.
Files WithoutRule(const Files& files) {
  Files out;
  for (const auto& [name, text] : files) {
    if (!name.ends_with(".yaml")) {
      out.emplace_back(name, text);
      continue;
    }
    YAML::Node doc = YAML::Load(text);
    if (doc["rules"] && doc["rules"].IsSequence()) {
      YAML::Node kept(YAML::NodeType::Sequence);
      for (const YAML::Node& rule : doc["rules"])
        if (!rule["kind"] || rule["kind"].as<std::string>() != "competitor_training")
          kept.push_back(rule);
      doc["rules"] = kept;
    }
    YAML::Emitter e;
    e << doc;
    out.emplace_back(name, e.c_str());
  }
  return out;
}

std::shared_ptr<const engine::PolicySnapshot> Load(const Files& files) {
  policies::LoadResult r = policies::LoadPolicyFiles(files);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  if (!r.snapshot) std::exit(1);
  return r.snapshot;
}

struct Timed {
  int64_t ts_ms;
  Request request;
};

std::vector<Timed> ReadCapture(const Options& o) {
  api::CaptureReader reader(o.capture);
  if (!reader.ok()) Usage(("cannot read " + o.capture).c_str());
  std::vector<Timed> out;
  std::string text, problem;
  api::CaptureLine line;
  while (out.size() < o.requests && reader.Next(&text)) {
    Request r;
    if (!api::ParseCaptureLine(text, &line, &problem) ||
        !api::RequestFromDescription(line.request, &r).ok())
      continue;
    out.push_back({line.ts_ms, std::move(r)});
  }
  return out;
}

// One replay through a fresh engine: the ns of each request's Check alone,
// and whether its decision matched a rule.
struct Pass {
  std::vector<int64_t> ns;
  std::vector<bool> matched;
};

// One decision as a line of --decisions (no decision id: it is random).
void WriteDecision(std::FILE* f, const Decision& d) {
  std::fprintf(f, "%s %s %d %.17g", d.account_id.c_str(), std::string(EffectName(d.effect)).c_str(),
               d.status, d.risk);
  for (const RuleMatch& m : d.matches)
    std::fprintf(f, " | %s %s %lld %s", m.rule_id.c_str(), std::string(ActionName(m.action)).c_str(),
                 static_cast<long long>(m.retry_after_ms), m.detail.c_str());
  for (const auto& [name, value] : d.headers) std::fprintf(f, " | %s: %s", name.c_str(), value.c_str());
  std::fputc('\n', f);
}

Pass Replay(const std::vector<Timed>& capture,
            const std::shared_ptr<const engine::PolicySnapshot>& snapshot,
            const engine::AccountDirectory* accounts, std::FILE* decisions = nullptr) {
  const int64_t first = capture.front().ts_ms;
  FakeClock clock(first);
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine e({&clock, state.get(), nullptr, accounts});
  e.Publish(snapshot);
  Pass pass;
  pass.ns.reserve(capture.size());
  pass.matched.reserve(capture.size());
  int64_t now_ns = 0;
  for (const Timed& t : capture) {
    now_ns = std::max(now_ns, (t.ts_ms - first) * 1'000'000);
    clock.set_ns(now_ns);
    const auto start = std::chrono::steady_clock::now();
    Decision d = e.Check(t.request);
    pass.ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count());
    pass.matched.push_back(!d.matches.empty());
    if (decisions) WriteDecision(decisions, d);
  }
  return pass;
}

// Mean ns per request of B minus A, over the requests B matched (`matched`)
// or the others.
double Added(const Pass& a, const Pass& b, bool matched) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < b.ns.size(); ++i) {
    if (b.matched[i] != matched) continue;
    sum += static_cast<double>(b.ns[i] - a.ns[i]);
    ++n;
  }
  return n ? sum / static_cast<double>(n) : 0;
}

double Mean(const std::vector<int64_t>& v) {
  double sum = 0;
  for (int64_t x : v) sum += static_cast<double>(x);
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  engine::MemoryAccountDirectory accounts;
  if (!o.accounts.empty()) {
    auto list = storage::LoadAccountsJsonl(o.accounts);
    if (!list.ok()) Usage(list.status().message().c_str());
    accounts.Replace(std::move(list).value());
  }
  const Files files = ReadPolicies(o.policies);
  const auto with_rule = Load(files);
  const auto without_rule = Load(WithoutRule(files));
  const std::vector<Timed> capture = ReadCapture(o);
  if (capture.empty()) Usage("no request in the capture");
  std::printf("%zu requests of %s, %d rounds (A: %s without competitor_training, B: as is)\n",
              capture.size(), o.capture.c_str(), o.rounds, o.policies.c_str());

  std::FILE* decisions = nullptr;
  if (!o.decisions.empty() && !(decisions = std::fopen(o.decisions.c_str(), "w")))
    Usage(("cannot write " + o.decisions).c_str());
  std::vector<double> a, b, added, added_matched, added_other;
  size_t matched = 0;
  for (int round = 0; round < o.rounds; ++round) {
    Pass pa, pb;
    if (round % 2 == 0) {
      pa = Replay(capture, without_rule, &accounts);
      pb = Replay(capture, with_rule, &accounts, round == 0 ? decisions : nullptr);
    } else {
      pb = Replay(capture, with_rule, &accounts);
      pa = Replay(capture, without_rule, &accounts);
    }
    const double ta = Mean(pa.ns), tb = Mean(pb.ns);
    matched = static_cast<size_t>(std::count(pb.matched.begin(), pb.matched.end(), true));
    a.push_back(ta);
    b.push_back(tb);
    added.push_back(tb - ta);
    added_matched.push_back(Added(pa, pb, true));
    added_other.push_back(Added(pa, pb, false));
    std::printf("round %d: A %.0f ns  B %.0f ns  added %.0f ns (matched requests %.0f, others %.0f)\n",
                round + 1, ta, tb, tb - ta, added_matched.back(), added_other.back());
    std::fflush(stdout);
    if (decisions) {
      std::fclose(decisions);
      decisions = nullptr;
    }
  }
  std::printf("median ns per request: A %.0f  B %.0f (%zu of %zu requests matched)\n", Median(a),
              Median(b), matched, capture.size());
  std::printf("competitor_training added per request: median %.0f ns (min %.0f, max %.0f); "
              "%.0f ns for a request it matched, %.0f ns for one it did not\n",
              Median(added), *std::min_element(added.begin(), added.end()),
              *std::max_element(added.begin(), added.end()), Median(added_matched),
              Median(added_other));
  return 0;
}
