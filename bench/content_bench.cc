// Content scan throughput: one Hyperscan database (engine::ContentDatabase)
// against RE2::Set over the same patterns and the same inputs, in the same
// run, at 100 and 1,000 patterns on 1 KB and 64 KB of normalized prompt
// text. Then what a request pays end to end: NormalizeForMatch plus the scan,
// and decisions on a 1 KB prompt with the prohibited-use pack's tiers (none,
// lists and regexes, lists and regexes and classifier) against RE2::Set over
// the same patterns, all in one run.
//
//   build/bench/content_bench            # MIN_SECONDS=0.5 by default
//   PACK_ONLY=1 build/bench/content_bench          # only the pack's tiers
//   PREV_PACK=DIR PACK_ONLY=1 ...   # and an earlier copy of the pack, round by round
//   PACK_DIR=DIR ...                # another copy of the pack instead of this tree's
//   REGIMES=1 (or each) ...         # other scan regimes; each regex's own cost
//
// Patterns are like a policy's: 70% whole words, 20% two-word phrases, 10%
// "verb ... thing" regexes. The text is ordinary words with one match near
// its end, so that neither engine can stop early. Both engines report every
// pattern that matches (RE2::Set::Match with a vector; Hyperscan with
// SINGLEMATCH), so they do the same job.
#include <hs/hs.h>
#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "engine/content/matcher.h"
#include "engine/engine.h"
#include "engine/normalize.h"
#include "engine/rules/content.h"
#include "engine/state_store.h"
#include "policies/loader.h"

using namespace tosgate;
using engine::ContentPattern;

namespace {

// Seconds of this thread's CPU time: on a 2-core machine shared with other
// builds, wall time measures the neighbours as much as the code (a run at
// load 9 took 3x longer by the wall clock than by the CPU clock).
double CpuNow() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double MinSeconds() {
  const char* env = std::getenv("MIN_SECONDS");
  return env ? std::max(0.05, std::atof(env)) : 0.5;
}

// Best of three rounds of at least MinSeconds()/3 each: seconds per call.
double SecondsPerCall(const std::function<void()>& call) {
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    int64_t calls = 0;
    const double start = CpuNow();
    double elapsed = 0;
    do {
      for (int i = 0; i < 16; ++i) call();
      calls += 16;
      elapsed = CpuNow() - start;
    } while (elapsed < MinSeconds() / 3);
    best = std::min(best, elapsed / static_cast<double>(calls));
  }
  return best;
}

std::string Token(std::mt19937& rng) {
  // Made-up words: never in the text by chance.
  std::string t = "zq";
  for (int i = 0; i < 6; ++i) t += static_cast<char>('a' + rng() % 26);
  return t;
}

std::vector<ContentPattern> Patterns(size_t n, std::vector<std::string>* tokens,
                                     bool with_regexes = true) {
  std::mt19937 rng(42);
  std::vector<ContentPattern> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string t = Token(rng);
    tokens->push_back(t);
    const std::string id = "p" + std::to_string(i);
    if (i % 10 < 7) {
      out.push_back({id, ContentPattern::Type::kWord, t});
    } else if (i % 10 < 9 || !with_regexes) {
      out.push_back({id, ContentPattern::Type::kPhrase, t + " " + Token(rng)});
    } else {
      out.push_back({id, ContentPattern::Type::kRegex,
                     "\\b(make|build|write|synthesi[sz]e)\\W+(\\w+\\W+){0,3}" + t + "\\b"});
    }
  }
  return out;
}

// Normalized-looking text of `bytes` with the first pattern's word near the end.
std::string Text(size_t bytes, const std::string& planted) {
  static const char* kWords[] = {
      "please", "help", "me", "plan", "a", "trip", "to", "lisbon", "in", "may", "with", "good",
      "seafood", "and", "a", "day", "in", "sintra", "what", "would", "you", "suggest", "for",
      "three", "days", "the", "weather", "is", "usually", "mild", "so", "pack", "light",
      "layers", "write", "python", "function", "that", "parses", "dates", "explain", "how",
      "vaccines", "work", "make", "dinner", "recipe", "chicken", "rice", "budget", "report"};
  std::mt19937 rng(7);
  std::string out;
  while (out.size() + planted.size() + 16 < bytes) {
    out += kWords[rng() % (sizeof kWords / sizeof *kWords)];
    out += ' ';
  }
  out += planted;
  while (out.size() < bytes) out += " ok";
  out.resize(bytes);
  return out;
}

struct Row {
  size_t patterns, bytes;
  double hs_mbps, re2_mbps;
  size_t hs_hits, re2_hits;
  double hs_compile_ms, re2_compile_ms;
};

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3;
}

Row Measure(size_t n, size_t bytes, bool with_regexes) {
  std::vector<std::string> tokens;
  const std::vector<ContentPattern> patterns = Patterns(n, &tokens, with_regexes);
  const std::string text = Text(bytes, tokens[0]);

  std::string why;
  size_t bad = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto db = engine::ContentDatabase::Compile(patterns, &why, &bad);
  const double hs_compile_ms = Since(t0);
  if (!db) {
    std::fprintf(stderr, "hyperscan: %s\n", why.c_str());
    std::exit(1);
  }
  RE2::Options opts;
  opts.set_max_mem(int64_t{1} << 30);
  opts.set_log_errors(false);
  t0 = std::chrono::steady_clock::now();
  RE2::Set set(opts, RE2::UNANCHORED);
  for (const ContentPattern& p : patterns) {
    std::string err;
    if (set.Add(engine::ContentExpression(p), &err) < 0) {
      std::fprintf(stderr, "re2: %s\n", err.c_str());
      std::exit(1);
    }
  }
  if (!set.Compile()) {
    std::fprintf(stderr, "re2: Compile failed\n");
    std::exit(1);
  }

  const double re2_compile_ms = Since(t0);  // RE2 builds its DFA lazily, while scanning
  Row row{n, bytes, 0, 0, 0, 0, hs_compile_ms, re2_compile_ms};
  std::vector<engine::ContentHit> hits;
  const double hs = SecondsPerCall([&] { (void)db->Scan(text, &hits); });
  row.hs_hits = hits.size();
  std::vector<int> matched;
  bool re2_ok = true;
  const double re2 = SecondsPerCall([&] {
    RE2::Set::ErrorInfo info;
    matched.clear();
    if (!set.Match(text, &matched, &info) && info.kind != RE2::Set::kNoError) re2_ok = false;
  });
  if (!re2_ok) std::fprintf(stderr, "re2: Match failed (DFA out of memory?)\n");
  row.re2_hits = matched.size();
  row.hs_mbps = static_cast<double>(bytes) / hs / 1e6;
  row.re2_mbps = static_cast<double>(bytes) / re2 / 1e6;
  return row;
}


// Median of 21 rounds of at least MinSeconds()/21 each: seconds per call.
// The tier's cost is a difference of two decisions, so the median (not the
// best) of each: a lucky round of one and not the other would not cancel.
double MedianSecondsPerCall(const std::function<void()>& call) {
  std::vector<double> rounds;
  for (int round = 0; round < 21; ++round) {
    int64_t calls = 0;
    const double start = CpuNow();
    double elapsed = 0;
    do {
      for (int i = 0; i < 16; ++i) call();
      calls += 16;
      elapsed = CpuNow() - start;
    } while (elapsed < MinSeconds() / 21);
    rounds.push_back(elapsed / static_cast<double>(calls));
  }
  std::nth_element(rounds.begin(), rounds.begin() + 10, rounds.end());
  return rounds[10];
}

// The pack's files (policies, lists, models) as (relative name, content).
std::vector<std::pair<std::string, std::string>> PackFiles(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(std::filesystem::relative(e.path(), dir).generic_string(),
                     std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return out;
}

// 1 KB of varied English prose (written for this benchmark): ordinary
// requests' vocabulary, few repeated words.
std::string Prose() {
  std::string p =
      "I run a small bakery in Leeds and want to rewrite the product descriptions on our website "
      "before the spring menu launches. Could you suggest a friendlier tone for the sourdough, the "
      "rye loaf and the cardamom buns, keeping each under sixty words? Our customers are mostly "
      "neighbours who walk their dogs past the shop on Saturday mornings, so nothing too formal. "
      "Also, the accountant asked whether we should register for VAT now that turnover is close to "
      "the threshold; explain briefly what changes for a business our size and which records we "
      "would need to keep. Finally, my daughter is revising for a chemistry exam about reaction "
      "rates and catalysts: give her three practice questions with worked answers, and a short "
      "note on why temperature speeds most reactions up. If you have time, draft a polite email "
      "to our flour supplier asking whether the delivery window could move from Tuesday to "
      "Wednesday afternoon, since the van keeps arriving while we are still serving the lunch "
      "queue. Thank you, and please keep the language plain and warm throughout, with no jargon.";
  p.resize(1024, ' ');
  return p;
}

struct Tier {
  std::string name;
  std::shared_ptr<engine::PolicySnapshot> snapshot;
};

// Decisions on a 1 KB user message with, in one run: the pack's operations
// and no rule (the baseline); its lists and regexes (the build before the
// classifier); lists, regexes and the classifier (tier2-classifier.yaml:
// the whole tier); and, over the
// same patterns, NormalizeForMatch plus one RE2::Set match.
void Regimes(const std::vector<engine::ContentPattern>& patterns,
             const std::vector<std::string>& texts);

// One pack's tiers (operations only, lists and regexes, the whole tier),
// named with `prefix`; false when a set does not load.
bool PackTiers(const std::string& dir, const std::string& prefix, std::vector<Tier>* tiers);
int PackDecisions(const std::string& raw, const std::vector<Tier>& tiers);

int PackCost(const std::string& raw) {
  // PACK_DIR: the pack to measure (default: this tree's); PREV_PACK: a copy
  // of an earlier version of it (e.g. `git archive` of the previous commit),
  // measured in the same run, round by round, so that load on a shared
  // machine falls on both alike.
  const char* pack_env = std::getenv("PACK_DIR");
  const std::string dir = pack_env ? pack_env : TOSGATE_SOURCE_DIR "/policies/packs/prohibited-use";
  std::vector<Tier> tiers;
  if (const char* prev = std::getenv("PREV_PACK"); prev && *prev) {
    if (!PackTiers(prev, "previous pack: ", &tiers)) return 1;
    tiers.erase(tiers.begin());  // one baseline is enough
  }
  const auto mine = static_cast<std::ptrdiff_t>(tiers.size());
  if (!PackTiers(dir, "", &tiers)) return 1;
  std::rotate(tiers.begin(), tiers.begin() + mine, tiers.begin() + mine + 1);  // the baseline first
  return PackDecisions(raw, tiers);
}

bool PackTiers(const std::string& dir, const std::string& prefix, std::vector<Tier>* tiers) {
  const auto files = PackFiles(dir);
  // The classifier tier is the pack's tier2-classifier.yaml.
  const std::string kTier2 = "tier2-classifier.yaml";
  std::string companion;
  for (const auto& f : files) {
    if (f.first == kTier2) companion = f.second;
  }
  auto subset = [&](bool rules, bool classifier) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : files) {
      if (f.first == kTier2) continue;
      const bool is_rules = f.first.size() > 5 && f.first.substr(f.first.size() - 5) == ".yaml" &&
                            f.first != "standalone.yaml";
      if (is_rules && !rules) continue;
      out.push_back(f);
    }
    if (classifier) out.emplace_back(kTier2, companion);
    return out;
  };
  const bool has_classifier = !companion.empty();
  auto t0 = std::chrono::steady_clock::now();
  for (auto [name, rules, classifier] :
       {std::tuple{"operations only (baseline)", false, false},
        std::tuple{"lists + regexes (before the classifier)", true, false},
        std::tuple{"lists + regexes + classifier", true, true}}) {
    if (classifier && !has_classifier) continue;
    t0 = std::chrono::steady_clock::now();
    policies::LoadResult r = policies::LoadPolicyFiles(subset(rules, classifier));
    if (!r.snapshot) {
      for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
      return false;
    }
    tiers->push_back({prefix + name, r.snapshot});
    std::printf("%s: loads in %.0f ms\n", tiers->back().name.c_str(), Since(t0));
  }
  return true;
}

int PackDecisions(const std::string& raw, const std::vector<Tier>& tiers) {

  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::MemoryAccountDirectory accounts;
  // Eight requests whose texts differ in their first word, taken in turn:
  // the classifier keeps the last scores of a text per thread (rules that
  // share a model score it once), and the same text every call would only
  // measure that cache.
  auto make_requests = [](const std::string& text) {
    std::vector<Request> reqs(8);
    for (size_t i = 0; i < reqs.size(); ++i) {
      Request& req = reqs[i];
      req.method = "POST";
      req.path = "/v1/chat/completions";
      Account a;
      a.id = "acct";
      a.tier = "pro";
      req.account = a;
      req.body.present = true;
      req.body.user_text = "Note" + std::to_string(i) + ": " + text.substr(0, text.size() - 8);
      req.body.system_text = "You are a helpful travel assistant.";
      req.body.prompt_text = "system: " + req.body.system_text + "\nuser: " + req.body.user_text + "\n";
    }
    return reqs;
  };
  // Two texts: the repeated travel sentence (its "help me" twelve times
  // wakes the regexes that begin with "help me" or "how to" at every
  // repetition: a hard case for them), and 1 KB of varied prose.
  const std::string prose = Prose();
  const std::vector<Request> texts[2] = {make_requests(raw), make_requests(prose)};
  size_t turn = 0;

  std::printf("\nA decision on a 1 KB user message (benign: every tier runs to the end), CPU time, median of 21 rounds:\n\n");
  std::printf("| policy set | repeated sentence: us | added | varied prose: us | added |\n|---|---:|---:|---:|---:|\n");
  // Round by round: each round times every tier on both texts in turn, and
  // each figure is the median of its 21 rounds.
  std::vector<std::unique_ptr<engine::Engine>> engines;
  for (const Tier& t : tiers) {
    engines.push_back(std::make_unique<engine::Engine>(engine::EngineOptions{&clock, state.get(), nullptr, &accounts}));
    engines.back()->Publish(t.snapshot);
  }
  std::vector<std::vector<double>> samples(tiers.size() * 2);
  for (int round = 0; round < 21; ++round) {
    for (size_t i = 0; i < tiers.size(); ++i) {
      for (int k = 0; k < 2; ++k) {
        const std::vector<Request>& reqs = texts[k];
        engine::Engine& eng = *engines[i];
        int64_t calls = 0;
        const double start = CpuNow();
        double elapsed = 0;
        do {
          for (int j = 0; j < 16; ++j) (void)eng.Check(reqs[++turn % reqs.size()]);
          calls += 16;
          elapsed = CpuNow() - start;
        } while (elapsed < MinSeconds() / 21);
        samples[i * 2 + k].push_back(elapsed / static_cast<double>(calls));
      }
    }
  }
  double base[2] = {0, 0};
  for (size_t i = 0; i < tiers.size(); ++i) {
    std::printf("| %s", tiers[i].name.c_str());
    for (int k = 0; k < 2; ++k) {
      std::vector<double>& v = samples[i * 2 + k];
      std::nth_element(v.begin(), v.begin() + 10, v.end());
      const double us = v[10] * 1e6;
      if (base[k] == 0) base[k] = us;
      std::printf(" | %.2f | %+.2f", us, us - base[k]);
    }
    std::printf(" |\n");
  }

  // The same patterns in an RE2::Set, with the normalization a request needs.
  std::vector<engine::ContentPattern> patterns;
  const engine::TextModel* model = nullptr;
  for (const auto& r : tiers.back().snapshot->rules) {
    auto* c = dynamic_cast<const engine::ContentRule*>(r.get());
    if (!c) continue;
    const auto& all = c->index().patterns();
    patterns.insert(patterns.end(), all.begin() + c->first(), all.begin() + c->first() + c->count());
    if (c->classifier().model) model = c->classifier().model.get();
  }
  if (const char* e = std::getenv("REGIMES"); e && (*e == '1' || std::string(e) == "each"))
    Regimes(patterns, {engine::NormalizeForMatch(raw), engine::NormalizeForMatch(prose)});
  RE2::Options opts;
  opts.set_max_mem(int64_t{1} << 30);
  opts.set_log_errors(false);
  RE2::Set set(opts, RE2::UNANCHORED);
  for (const auto& p : patterns) {
    std::string err;
    if (set.Add(engine::ContentExpression(p), &err) < 0) {
      std::fprintf(stderr, "re2: %s\n", err.c_str());
      return 1;
    }
  }
  if (!set.Compile()) return 1;
  std::vector<int> matched;
  std::printf("| NormalizeForMatch + RE2::Set over the same %zu patterns (user text only)", patterns.size());
  for (const std::string* text : {&raw, &prose}) {
    const double re2 = MedianSecondsPerCall([&] {
      matched.clear();
      (void)set.Match(engine::NormalizeForMatch(*text), &matched);
    });
    std::printf(" | %.2f | ", re2 * 1e6);
  }
  std::printf("|\n");
  if (model) {
    std::printf("| the classifier alone: ScoreNormalized of the normalized 1 KB text (%zu labels, 2^%d buckets, %.1f MB)",
                model->labels().size(), model->options().bits, model->bytes() / 1e6);
    for (const std::string* text : {&raw, &prose}) {
      engine::TextModelScratch scratch;
      std::vector<float> scores;
      const std::string normalized = engine::NormalizeForMatch(*text);
      const double score = MedianSecondsPerCall([&] { model->ScoreNormalized(normalized, &scratch, &scores); });
      std::printf(" | %.2f | ", score * 1e6);
    }
    std::printf("|\n");
  }
  return 0;
}

}  // namespace

namespace {

// REGIMES=1: the pack's patterns (as the engine compiles them) in other
// Hyperscan regimes and in RE2, scanned over the two normalized texts. What
// decides whether the lists and regexes can be made cheaper without
// touching the patterns: the regexes alone, the literals alone, the
// regexes without UTF8 and CASELESS, in an RE2::Set, and gated by
// FilteredRE2's required atoms (atoms scanned with the literals; how many
// regexes would still have to run).
void Regimes(const std::vector<engine::ContentPattern>& patterns,
             const std::vector<std::string>& texts) {
  std::vector<std::string> lits, res, res_ids;
  for (const auto& p : patterns) {
    std::string e = engine::ContentExpression(p);
    if (p.type == ContentPattern::Type::kWord) e = e.substr(10, e.size() - 20);  // bounds checked by Scan
    (p.type == ContentPattern::Type::kRegex ? res : lits).push_back(e);
    if (p.type == ContentPattern::Type::kRegex) res_ids.push_back(p.id);
  }
  const unsigned kRe = HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_CASELESS | HS_FLAG_DOTALL;
  auto compile = [](const std::vector<std::pair<std::string, unsigned>>& exprs) {
    std::vector<const char*> c;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < exprs.size(); ++i) {
      c.push_back(exprs[i].first.c_str());
      flags.push_back(exprs[i].second);
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(c.data(), flags.data(), ids.data(), static_cast<unsigned>(c.size()),
                         HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
      std::fprintf(stderr, "hyperscan: %s\n", err->message);
      std::exit(1);
    }
    return db;
  };
  auto with = [&](bool l, bool r, unsigned re_flags, const std::vector<std::string>& extra = {}) {
    std::vector<std::pair<std::string, unsigned>> e;
    if (l) for (const auto& x : lits) e.emplace_back(x, HS_FLAG_UTF8);
    if (r) for (const auto& x : res) e.emplace_back(x, re_flags);
    for (const auto& x : extra) e.emplace_back(x, HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS);
    return compile(e);
  };
  hs_scratch_t* scratch = nullptr;
  // REGIMES=each: only the per-regex costs (below), without the slow
  // compiles of the other regimes.
  const char* mode = std::getenv("REGIMES");
  const bool each_only = mode && std::string(mode) == "each";
  auto scan_us = [&](hs_database_t* db, const std::string& text) {
    hs_alloc_scratch(db, &scratch);
    auto cb = [](unsigned, unsigned long long, unsigned long long, unsigned, void*) -> int { return 0; };
    return MedianSecondsPerCall([&] {
      hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, cb, nullptr);
    }) * 1e6;
  };
  std::printf("\n%zu literals, %zu regexes; us per scan of the normalized 1 KB texts (repeated sentence, varied prose):\n\n", lits.size(), res.size());
  if (!each_only) {
  std::printf("| regime | repeated | prose |\n|---|---:|---:|\n");
  struct V { const char* name; bool l, r; unsigned f; } vs[] = {
      {"one database (as built)", true, true, kRe},
      {"literals alone", true, false, kRe},
      {"regexes alone", false, true, kRe},
      {"regexes alone, without UTF8 and CASELESS", false, true, kRe & ~HS_FLAG_UTF8 & ~HS_FLAG_CASELESS},
  };
  for (const V& v : vs) {
    hs_database_t* db = with(v.l, v.r, v.f);
    std::printf("| Hyperscan: %s | %.2f | %.2f |\n", v.name, scan_us(db, texts[0]), scan_us(db, texts[1]));
    hs_free_database(db);
  }
  RE2::Options opts;
  opts.set_max_mem(int64_t{1} << 30);
  opts.set_log_errors(false);
  RE2::Set set(opts, RE2::UNANCHORED);
  for (const auto& r : res) set.Add(r, nullptr);
  set.Compile();
  std::vector<int> m;
  std::printf("| RE2::Set: regexes alone");
  for (const auto& t : texts) std::printf(" | %.2f", MedianSecondsPerCall([&] { m.clear(); set.Match(t, &m); }) * 1e6);
  std::printf(" |\n");
  for (int min_atom : {3, 5}) {
    re2::FilteredRE2 f(min_atom);
    RE2::Options o;
    o.set_case_sensitive(false);
    o.set_dot_nl(true);
    o.set_log_errors(false);
    for (const auto& r : res) {
      int id;
      (void)f.Add(r, o, &id);
    }
    std::vector<std::string> atoms;
    f.Compile(&atoms);
    std::vector<std::string> escaped;
    for (const auto& a : atoms) {
      std::string x;
      for (unsigned char c : a) {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", c);
        x += b;
      }
      escaped.push_back(x);
    }
    hs_database_t* db = with(true, false, kRe, escaped);
    std::printf("| FilteredRE2 gate, atoms of %d+ bytes (%zu) scanned with the literals; regexes left to run", min_atom, atoms.size());
    for (const auto& t : texts) {
      std::vector<int> present, potential;
      for (size_t i = 0; i < atoms.size(); ++i)
        if (t.find(atoms[i]) != std::string::npos) present.push_back(static_cast<int>(i));
      f.AllPotentials(present, &potential);
      std::printf(" | %.2f, %zu", scan_us(db, t), potential.size());
    }
    std::printf(" |\n");
    hs_free_database(db);
  }
  }
  // Each regex alone, the costliest first: where a pack's regex time goes.
  std::vector<std::tuple<double, double, std::string>> each;
  for (size_t i = 0; i < res.size(); ++i) {
    hs_database_t* db = compile({{res[i], kRe}});
    each.emplace_back(scan_us(db, texts[0]), scan_us(db, texts[1]), res_ids[i]);
    hs_free_database(db);
  }
  std::sort(each.begin(), each.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) + std::get<1>(a) > std::get<0>(b) + std::get<1>(b);
  });
  // Ids starting "cand" are always listed: candidates for a rewrite, added
  // to a copy of the pack (PACK_DIR) to be measured before they replace one.
  std::printf("\nEach regex alone, costliest 8 (us per scan: repeated, prose):\n\n");
  for (size_t i = 0; i < each.size(); ++i) {
    if (i >= 8 && std::get<2>(each[i]).rfind("cand", 0) != 0) continue;
    std::printf("  %-32s %.2f %.2f\n", std::get<2>(each[i]).c_str(), std::get<0>(each[i]), std::get<1>(each[i]));
  }
  hs_free_scratch(scratch);
}

}  // namespace

int main() {
  std::string raw = "Please Help me plan a TRIP to Lisbon, in May! With good seafood (and a day in Sintra). ";
  while (raw.size() < 1024) raw += raw;
  raw.resize(1024);
  // PACK_ONLY=1: only the prohibited-use pack's tiers (the last section).
  if (const char* e = std::getenv("PACK_ONLY"); e && *e == '1') return PackCost(raw);
  std::printf("content scan: Hyperscan (one database) vs RE2::Set, same patterns, same text\n");
  for (bool with_regexes : {true, false}) {
    std::printf("\n%s\n\n", with_regexes ? "words 70%, phrases 20%, regexes 10%:"
                                         : "words 70%, phrases 30%, no regexes:");
    std::printf("| patterns | prompt | Hyperscan MB/s | RE2::Set MB/s | Hyperscan / RE2 | matches (hs, re2) | compile ms (hs, re2) |\n");
    std::printf("|---:|---:|---:|---:|---:|---|---|\n");
    for (size_t n : {100, 1000}) {
      for (size_t bytes : {1024, 65536}) {
        const Row r = Measure(n, bytes, with_regexes);
        std::printf("| %zu | %zu KB | %.0f | %.0f | %.1fx | %zu, %zu | %.0f, %.0f |\n", r.patterns,
                    r.bytes / 1024, r.hs_mbps, r.re2_mbps, r.hs_mbps / r.re2_mbps, r.hs_hits,
                    r.re2_hits, r.hs_compile_ms, r.re2_compile_ms);
        std::fflush(stdout);
      }
    }
  }

  // What a request pays: normalizing the raw text, then one scan.
  std::vector<std::string> tokens;
  auto db = [&] {
    std::string why;
    size_t bad = 0;
    return engine::ContentDatabase::Compile(Patterns(1000, &tokens), &why, &bad);
  }();
  std::vector<engine::ContentHit> hits;
  const double norm = SecondsPerCall([&] { std::string n = engine::NormalizeForMatch(raw); (void)n; });
  const double both = SecondsPerCall([&] { (void)db->Scan(engine::NormalizeForMatch(raw), &hits); });
  std::printf("\n1 KB raw prompt, 1000 patterns: NormalizeForMatch %.2f us (%.0f MB/s), normalize + scan %.2f us\n",
              norm * 1e6, 1024 / norm / 1e6, both * 1e6);

  return PackCost(raw);
}
