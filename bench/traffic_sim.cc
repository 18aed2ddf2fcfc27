// traffic_sim: writes a synthetic, labelled capture of AI-API traffic
// (benign personas and distillation campaigns) for `tosgate replay --labels`.
// Same options and seed, same bytes. See docs/traffic-simulator.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bench/sim/traffic.h"

namespace {

using tosgate::sim::Options;
using tosgate::sim::Persona;

constexpr char kUsage[] =
    "usage: traffic_sim --out DIR [--seed N] [--benign-accounts N] [--days D] [--scale F]\n"
    "                   [--cluster-accounts N] [--scenario NAME]... [--device-fingerprints]\n"
    "                   [--bank train|eval] [--small] [--quiet]\n"
    "       traffic_sim --corpus-out FILE [--bank train|eval] [--seed N]\n"
    "                   [--corpus-harvest N] [--corpus-benign M] [--corpus-exclude FILE]\n"
    "  writes DIR/capture.jsonl, DIR/accounts.jsonl and DIR/labels.jsonl; or, with\n"
    "  --corpus-out, a labelled text corpus (JSON Lines: text, label, family)\n"
    "  --bank: the paraphrase bank of every text (default eval; tune on train)\n"
    "  scenarios: bulk-harvest cluster-rotation cot-elicitation logprob-harvest low-and-slow\n"
    "             cot-paraphrase reasoning-reconstruction implicit-harvest rubric-grading\n"
    "             rewrite-harvest high-volume-varied low-and-slow-blended,\n"
    "             or 'none' for benign traffic only (default: all)\n";

bool ParseInt(const std::string& s, long long lo, long long hi, long long* out) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  for (const std::string& l : lines) {
    std::fwrite(l.data(), 1, l.size(), f);
    std::fputc('\n', f);
  }
  return std::fclose(f) == 0;
}

// The texts of a corpus file this program wrote, as their JSON literals.
bool ReadCorpusTexts(const std::string& path, std::unordered_set<std::string>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::string line;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    constexpr std::string_view kHead = "{\"text\": ", kTail = ", \"label\": \"";
    const size_t end = line.rfind(kTail);
    if (line.starts_with(kHead) && end != std::string::npos && end > kHead.size())
      out->insert(line.substr(kHead.size(), end - kHead.size()));
    line.clear();
  }
  std::fclose(f);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string out_dir, corpus_out, corpus_exclude;
  long long corpus_harvest = 1500, corpus_benign = 5000;
  bool quiet = false;
  // --small sets defaults that the other options may then override, wherever it is.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--small") {
      o.benign_accounts = 150;
      o.days = 1;
      o.scale = 0.1;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg != "--small" && arg != "--quiet" && arg != "--help" &&
               arg != "--device-fingerprints" && i + 1 < argc) {
      value = argv[++i];
    }
    long long n = 0;
    if (arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--small") {
      // handled above
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg == "--device-fingerprints") {
      o.device_fingerprints = true;
    } else if (arg == "--out" && !value.empty()) {
      out_dir = value;
    } else if (arg == "--corpus-out" && !value.empty()) {
      corpus_out = value;
    } else if (arg == "--corpus-exclude" && !value.empty()) {
      corpus_exclude = value;
    } else if (arg == "--corpus-harvest" && ParseInt(value, 0, 10000000, &n)) {
      corpus_harvest = n;
    } else if (arg == "--corpus-benign" && ParseInt(value, 0, 10000000, &n)) {
      corpus_benign = n;
    } else if (arg == "--bank" && tosgate::sim::BankByName(value, &o.bank)) {
    } else if (arg == "--seed" && ParseInt(value, 0, INT64_MAX, &n)) {
      o.seed = static_cast<uint64_t>(n);
    } else if (arg == "--benign-accounts" && ParseInt(value, 0, 1000000, &n)) {
      o.benign_accounts = static_cast<int>(n);
    } else if (arg == "--cluster-accounts" && ParseInt(value, 1, 100000, &n)) {
      o.cluster_accounts = static_cast<int>(n);
    } else if (arg == "--days" && ParseInt(value, 1, 60, &n)) {
      o.days = static_cast<int>(n);
    } else if (arg == "--scale" && !value.empty()) {
      char* end = nullptr;
      o.scale = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(o.scale > 0 && o.scale <= 100)) {
        std::fprintf(stderr, "traffic_sim: --scale must be a number in (0, 100]\n");
        return 2;
      }
    } else if (arg == "--scenario" && !value.empty()) {
      Persona p;
      if (value == "none") {
        o.no_campaigns = true;
      } else if (tosgate::sim::CampaignByName(value, &p)) {
        o.campaigns.push_back(p);
      } else {
        std::fprintf(stderr, "traffic_sim: unknown scenario '%s'\n%s", value.c_str(), kUsage);
        return 2;
      }
    } else {
      constexpr std::string_view kValued[] = {
          "--out",   "--seed",     "--benign-accounts", "--days",           "--scale",
          "--cluster-accounts", "--scenario", "--bank", "--corpus-out", "--corpus-harvest",
          "--corpus-benign", "--corpus-exclude"};
      if (std::find(std::begin(kValued), std::end(kValued), arg) == std::end(kValued)) {
        std::fprintf(stderr, "traffic_sim: unknown option '%s'\n%s", arg.c_str(), kUsage);
      } else if (value.empty()) {
        std::fprintf(stderr, "traffic_sim: %s needs a value\n%s", arg.c_str(), kUsage);
      } else {
        std::fprintf(stderr, "traffic_sim: bad value for %s: '%s'\n%s", arg.c_str(), value.c_str(),
                     kUsage);
      }
      return 2;
    }
  }
  if (!corpus_out.empty()) {
    std::unordered_set<std::string> exclude;
    if (!corpus_exclude.empty() && !ReadCorpusTexts(corpus_exclude, &exclude)) {
      std::fprintf(stderr, "traffic_sim: cannot read %s\n", corpus_exclude.c_str());
      return 1;
    }
    const auto lines = tosgate::sim::CorpusLines(o.bank, o.seed, static_cast<int>(corpus_harvest),
                                                 static_cast<int>(corpus_benign), exclude);
    if (!WriteLines(corpus_out, lines)) {
      std::fprintf(stderr, "traffic_sim: cannot write %s\n", corpus_out.c_str());
      return 1;
    }
    if (!quiet)
      std::printf("traffic_sim: %s bank, seed %llu: %zu texts -> %s\n",
                  std::string(tosgate::sim::BankName(o.bank)).c_str(),
                  static_cast<unsigned long long>(o.seed), lines.size(), corpus_out.c_str());
    if (out_dir.empty()) return 0;
  }
  if (out_dir.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "traffic_sim: cannot create %s: %s\n", out_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }

  const tosgate::sim::Simulation sim(o);
  std::vector<std::string> accounts, labels;
  for (const auto& a : sim.accounts()) {
    accounts.push_back(sim.RenderAccount(a));
    labels.push_back(sim.RenderLabel(a));
  }
  if (!WriteLines(out_dir + "/accounts.jsonl", accounts) ||
      !WriteLines(out_dir + "/labels.jsonl", labels)) {
    std::fprintf(stderr, "traffic_sim: cannot write to %s\n", out_dir.c_str());
    return 1;
  }

  // The capture is written as it is rendered; it is the large one.
  const std::string capture_path = out_dir + "/capture.jsonl";
  FILE* f = std::fopen(capture_path.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "traffic_sim: cannot write %s\n", capture_path.c_str());
    return 1;
  }
  const auto& events = sim.events();
  std::map<std::string_view, std::pair<size_t, size_t>> per_scenario;  // accounts, requests
  for (const auto& a : sim.accounts()) ++per_scenario[PersonaName(a.persona)].first;
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string line = sim.RenderRequest(events[i]);
    std::fwrite(line.data(), 1, line.size(), f);
    std::fputc('\n', f);
    ++per_scenario[PersonaName(sim.accounts()[events[i].account].persona)].second;
    if (!quiet && (i + 1) % 100000 == 0)
      std::fprintf(stderr, "traffic_sim: %zu / %zu requests written\n", i + 1, events.size());
  }
  if (std::fclose(f) != 0) {
    std::fprintf(stderr, "traffic_sim: writing %s failed\n", capture_path.c_str());
    return 1;
  }

  if (!quiet) {
    std::printf("traffic_sim: seed %llu, %s bank, %d days, %zu accounts, %zu requests -> %s\n",
                static_cast<unsigned long long>(o.seed),
                std::string(tosgate::sim::BankName(o.bank)).c_str(), o.days,
                sim.accounts().size(), events.size(), out_dir.c_str());
    std::printf("  %-28s %-9s %9s %9s\n", "scenario", "label", "accounts", "requests");
    for (int i = 0; i < tosgate::sim::kPersonas; ++i) {
      const Persona p = static_cast<Persona>(i);
      auto it = per_scenario.find(PersonaName(p));
      if (it == per_scenario.end()) continue;
      std::printf("  %-28s %-9s %9zu %9zu\n", std::string(PersonaName(p)).c_str(),
                  tosgate::sim::IsCampaign(p)       ? "campaign"
                  : tosgate::sim::IsHardNegative(p) ? "hard-neg"
                                                    : "benign",
                  it->second.first,
                  it->second.second);
    }
  }
  return 0;
}
