// What scoring a prompt with a text model costs (engine/textmodel/): a
// 1 KB and a 4 KB English prompt against models the size of the shipped
// ones (1 label: the harvest-intent model; 14 labels: the prohibited-use
// classifier), with 2^16 and 2^18 buckets. The weights are random: cost does
// not depend on their values, only on the features and the model's size.
// NormalizeForMatch alone is measured too, to see what the model adds.
//
//   build/bench/textmodel_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true (one command line)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "engine/normalize.h"
#include "engine/textmodel/text_model.h"

namespace {

using tosgate::engine::TextModel;

std::string Prompt(size_t bytes) {
  static const char* kWords[] = {
      "please", "explain", "how",     "the",      "quarterly", "report", "shows",  "revenue",
      "grew",   "because", "of",      "new",      "plans",     "write",  "a",      "polite",
      "email",  "to",      "my",      "landlord", "about",     "heating", "step",  "by",
      "hash",   "table",   "handles", "collisions", "python",  "example", "trip", "lisbon",
      "reasoning", "answer", "question", "summarize", "notes", "decisions", "launch", "date"};
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < bytes) {
    s += kWords[rng() % (sizeof kWords / sizeof *kWords)];
    s += rng() % 9 == 0 ? ". " : " ";
  }
  return s;
}

std::shared_ptr<const TextModel> RandomModel(int labels, int bits, bool edges = false) {
  tosgate::engine::TextModelOptions o;
  o.bits = bits;
  o.char_edges = edges;
  std::vector<std::string> names;
  for (int i = 0; i < labels; ++i) names.push_back("l" + std::to_string(i));
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0, 0.3f);
  std::vector<float> w((size_t{1} << bits) * static_cast<size_t>(labels));
  for (auto& x : w) x = d(rng);
  return std::make_shared<TextModel>(o, names, std::vector<float>(static_cast<size_t>(labels), -3.0f),
                                     std::move(w));
}

void BM_Normalize(benchmark::State& state) {
  std::string p = Prompt(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(tosgate::engine::NormalizeForMatch(p));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(p.size()));
}
BENCHMARK(BM_Normalize)->Arg(1024)->Arg(4096);

// Args: prompt bytes, labels, bits.
void BM_Score(benchmark::State& state) {
  std::string p = Prompt(static_cast<size_t>(state.range(0)));
  auto m = RandomModel(static_cast<int>(state.range(1)), static_cast<int>(state.range(2)));
  tosgate::engine::TextModelScratch scratch;
  std::vector<float> out;
  for (auto _ : state) {
    m->Score(p, &scratch, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(p.size()));
}
BENCHMARK(BM_Score)
    ->Args({1024, 1, 16})
    ->Args({1024, 1, 18})
    ->Args({1024, 14, 16})
    ->Args({1024, 14, 18})
    ->Args({4096, 14, 18});

// All character 4-grams against a word's first and last only, 1 KB, 13
// labels. Args: bits, 1 for edges.
void BM_ScoreEdges(benchmark::State& state) {
  std::string p = Prompt(1024);
  auto m = RandomModel(13, static_cast<int>(state.range(0)), state.range(1) == 1);
  tosgate::engine::TextModelScratch scratch;
  std::vector<float> out;
  for (auto _ : state) {
    m->Score(p, &scratch, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(p.size()));
}
BENCHMARK(BM_ScoreEdges)->Args({16, 0})->Args({16, 1})->Args({15, 1})->Args({14, 1})->Args({12, 1})->Args({16, 0})->Args({16, 1});

// The shipped models on what they read: the distillation pack's harvest
// model (1 label, 2^14 buckets, words and pairs) on the 256 folded bytes
// competitor_training gives it, and the prohibited-use classifier (13
// labels, 2^16 buckets, all three feature kinds) on 1 KB. Already
// normalized text: ScoreNormalized, as the rules call it.
// Args: 0 = harvest.model on 256 bytes, 1 = prohibited.model on 1 KB.
void BM_ScoreShipped(benchmark::State& state) {
  const bool harvest = state.range(0) == 0;
  const std::string path = std::string(TOSGATE_SOURCE_DIR) +
                           (harvest ? "/policies/packs/distillation/models/harvest.model"
                                    : "/policies/packs/prohibited-use/models/prohibited.model");
  std::shared_ptr<const TextModel> m;
  if (!TextModel::Load(path, &m).ok()) {
    state.SkipWithError("cannot load the shipped model");
    return;
  }
  const std::string p = tosgate::engine::NormalizeForMatch(Prompt(harvest ? 256 : 1024)).substr(0, harvest ? 256 : 1024);
  tosgate::engine::TextModelScratch scratch;
  std::vector<float> out;
  for (auto _ : state) {
    m->ScoreNormalized(p, &scratch, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(p.size()));
}
BENCHMARK(BM_ScoreShipped)->Arg(0)->Arg(1);

// Parsing the shipped prohibited-use model's text (4.8 MB, 40,000 lines of
// 13 weights): what every load of a policy set importing the pack pays.
void BM_ParseShipped(benchmark::State& state) {
  std::ifstream in(std::string(TOSGATE_SOURCE_DIR) +
                   "/policies/packs/prohibited-use/models/prohibited.model");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::shared_ptr<const TextModel> m;
  for (auto _ : state) {
    if (!TextModel::Parse(text, "prohibited.model", &m).ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(m.get());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseShipped)->Unit(benchmark::kMillisecond);

}  // namespace

// TEXTMODEL_BENCH_PROFILE=N scores the shipped prohibited-use model N times
// on the 1 KB prompt (normalized once) outside Google Benchmark and exits:
// a fixed amount of work for callgrind, a few seconds instead of minutes:
//   TEXTMODEL_BENCH_PROFILE=1000 valgrind --tool=callgrind
//       --toggle-collect='*ScoreNormalized*' build/bench/textmodel_bench
//
// TEXTMODEL_BENCH_HARVEST=1 with it: the distillation pack's harvest model
// on 256 bytes instead (BM_ScoreShipped/0's work).
int main(int argc, char** argv) {
  if (const char* n = std::getenv("TEXTMODEL_BENCH_PROFILE"); n && *n) {
    std::shared_ptr<const TextModel> m;
    const char* h = std::getenv("TEXTMODEL_BENCH_HARVEST");
    const bool harvest = h && *h == '1';
    std::ifstream in(std::string(TOSGATE_SOURCE_DIR) +
                     (harvest ? "/policies/packs/distillation/models/harvest.model"
                              : "/policies/packs/prohibited-use/models/prohibited.model"));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string file = ss.str();
    // TEXTMODEL_BENCH_EDGES=1: the same weights read as an `edges` model
    // (each word's first and last 4-gram only), for what fewer features
    // per byte would cost; its scores mean nothing.
    if (const char* e = std::getenv("TEXTMODEL_BENCH_EDGES"); e && *e == '1') {
      const size_t at = file.find("features words bigrams chars");
      if (at == std::string::npos) return 1;
      file.replace(at, 28, "features words bigrams edges");
    }
    if (!TextModel::Parse(file, harvest ? "harvest.model" : "prohibited.model", &m).ok()) return 1;
    // TEXTMODEL_BENCH_NORMALIZE=1: normalize instead, a support ticket as
    // engine_bench sends (words, numbers, punctuation).
    if (const char* e = std::getenv("TEXTMODEL_BENCH_NORMALIZE"); e && *e == '1') {
      std::string t;
      for (int k = 0; t.size() < 1024; ++k)
        t += k % 2 ? "The customer is frustrated because order 107919 arrived late and the kettle inside was scratched. "
                   : "They ask whether they can return the kettle after 17 days, and who pays for shipping? ";
      size_t total = 0;
      for (long i = std::strtol(n, nullptr, 10); i > 0; --i) total += tosgate::engine::NormalizeForMatch(t).size();
      std::printf("%zu\n", total);
      return 0;
    }
    const size_t bytes = harvest ? 256 : 1024;
    const std::string p = tosgate::engine::NormalizeForMatch(Prompt(bytes)).substr(0, bytes);
    tosgate::engine::TextModelScratch scratch;
    std::vector<float> out;
    float sum = 0;
    for (long i = std::strtol(n, nullptr, 10); i > 0; --i) {
      m->ScoreNormalized(p, &scratch, &out);
      sum += out[0];
    }
    std::printf("%g\n", static_cast<double>(sum));
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
