// NormalizeForMatch throughput, the current normalizer against the one it
// replaced (tests/engine/normalize_reference.cc, compiled into this binary),
// on the same inputs in the same run: ASCII English prose, mixed scripts
// (accented Latin, Cyrillic, CJK, emoji) and adversarial confusable spellings,
// each at 1 KB and 64 KB. bytes_per_second is input bytes per second.
//
//   build/bench/normalize_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//       --benchmark_enable_random_interleaving=true     (one command line)
//
// Random interleaving spreads each benchmark's repetitions over the run, so
// that a busy machine slows both normalizers alike: compare the medians of
// reference and new from one run, not figures from different runs.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/normalize.h"
#include "tests/engine/normalize_reference.h"

namespace {

const std::vector<std::string_view> kProse = {
    "The quarterly report shows that revenue grew by 12% compared with last year, driven mostly by "
    "the new subscription plans. ",
    "Please summarize the attached meeting notes and list the three decisions we made about the "
    "launch date. ",
    "Can you help me write a polite email to my landlord asking when the heating will be "
    "repaired? ",
    "In 1998 the team moved to a larger office, and by 2004 it had grown to about 250 people. ",
    "Explain, step by step, how a hash table handles collisions; use a short example in Python. ",
    "I'm planning a trip to Lisbon in May: what should I pack, and which neighbourhoods are worth "
    "a visit? ",
    "Translate the following paragraph into plain English for a reader who is not a lawyer. ",
    "Our test suite takes 14 minutes on CI (it used to take 6), so something must have changed "
    "last week. ",
    "Write a haiku about autumn rain on a tin roof. ",
    "What are the main differences between TCP and UDP, and when would you pick one over the "
    "other? ",
};

const std::vector<std::string_view> kMixed = {
    "Café au lait, crème brûlée et pâté: très bon, merci! ",
    "Straße in Łódź, Ærø and Ørsted; naïve façade, jalapeño. ",
    "Привет, как дела? Мы встретимся завтра в центре города. ",
    "Документы готовы, отправьте их до пятницы. ",
    "我们明天在北京见面，请带上护照。 ",
    "東京の天気は晴れです。 ",
    "Great job team 🎉🚀 see you at the offsite 🌲☕ ",
    "Ελληνικά: καλημέρα, τι κάνεις; ",
    "The meeting is at 10:30 in room 4B. ",
};

const std::vector<std::string_view> kConfusable = {
    "ѕуnthеѕizе ѕаrin ",
    "𝐬𝐲𝐧𝐭𝐡𝐞𝐬𝐢𝐳𝐞 𝐬𝐚𝐫𝐢𝐧 ",
    "ｓｙｎｔｈｅｓｉｚｅ ｓａｒｉｎ ",
    "s.a.r.i.n g-a-s ",
    "s4r1n m@ke r1c1n t0x1n ",
    "syn\u200bthe\u200bsize sa\u00adrin ",
    "sa\xcc\x81ri\xcc\x81n ",
    "ⓢⓐⓡⓘⓝ 🅢🅐🅡🅘🅝 ⒮⒜⒭⒤⒩ ",
    "ＳＡＲＩＮ ΤΟΧΙΝ νx gαs ",
    "ﬁnd the ﬂag, ℎ𝑒𝑙𝑙𝑜 ",
};

// Sentences drawn at random (fixed seed) until `size` bytes, cut back to
// the last whole character.
std::string Text(const std::vector<std::string_view>& sentences, size_t size) {
  std::mt19937 rng(21);
  std::string text;
  while (text.size() < size) text += sentences[rng() % sentences.size()];
  text.resize(size);
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  return text;
}

using Normalizer = std::string (*)(std::string_view);

void BM_Normalize(benchmark::State& state, Normalizer normalize,
                  const std::vector<std::string_view>* sentences) {
  const std::string text = Text(*sentences, static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(normalize(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}

const Normalizer kReference = tosgate::engine::reference::NormalizeForMatch;
const Normalizer kNew = tosgate::engine::NormalizeForMatch;

}  // namespace

// Arguments: input size in bytes.
#define NORMALIZE_BENCH(name, normalizer, sentences) \
  BENCHMARK_CAPTURE(BM_Normalize, name, normalizer, sentences)->Arg(1 << 10)->Arg(64 << 10)
NORMALIZE_BENCH(prose_reference, kReference, &kProse);
NORMALIZE_BENCH(prose_new, kNew, &kProse);
NORMALIZE_BENCH(mixed_reference, kReference, &kMixed);
NORMALIZE_BENCH(mixed_new, kNew, &kMixed);
NORMALIZE_BENCH(confusable_reference, kReference, &kConfusable);
NORMALIZE_BENCH(confusable_new, kNew, &kConfusable);

BENCHMARK_MAIN();
