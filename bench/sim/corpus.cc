// The harvest-intent training corpus (traffic_sim --corpus-out): the texts of
// single requests drawn from the same generators as the traffic, labelled by
// whether the text itself carries harvest intent.
#include <iterator>
#include <unordered_set>

#include "bench/sim/describe.h"

namespace tosgate::sim {
namespace {

// Campaigns whose text says what they want. Left out: logprob-harvest and
// implicit-harvest (their text is an ordinary question; the signal is the
// request's shape, which a text model does not see); high-volume-varied's bare
// questions and low-and-slow-blended's cover chat are skipped the same way.
constexpr Persona kHarvestPersonas[] = {
    Persona::kHarvest,     Persona::kCluster, Persona::kCot,     Persona::kLowSlow,
    Persona::kCotParaphrase, Persona::kReconstruct, Persona::kRubric, Persona::kRewrite,
    Persona::kVolume,      Persona::kBlended};

struct Weighted {
  Persona p;
  int weight;
};
// Benign texts: people first, then the hard negatives, well represented.
constexpr Weighted kBenign[] = {
    {Persona::kChat, 25},     {Persona::kCoding, 12},   {Persona::kClassify, 5},
    {Persona::kSupport, 6},   {Persona::kSummarize, 4}, {Persona::kEval, 4},
    {Persona::kTutoring, 12}, {Persona::kHarness, 10},  {Persona::kLongform, 10},
    {Persona::kReasoner, 12}};

// The train bank's corpus weighs evaluation-harness items 10, not 4 (issue
// 20, round 6: they are composed from many parts there, and a model that
// saw two wordings read harnesses as harvest); the eval bank's corpus
// (test.jsonl) stays as it was.
int WeightOf(const Weighted& w, Bank bank) {
  return w.p == Persona::kEval && bank == Bank::kTrain ? 10 : w.weight;
}

Persona PickBenign(Rng& r, Bank bank) {
  int total = 0;
  for (const Weighted& w : kBenign) total += WeightOf(w, bank);
  int64_t x = r.Int(0, total - 1);
  for (const Weighted& w : kBenign) {
    if (x < WeightOf(w, bank)) return w.p;
    x -= WeightOf(w, bank);
  }
  return Persona::kChat;
}

// The text a text model would see: the system prompt and the user turns.
std::string TextOf(const Shape& s) {
  std::string text = s.system;
  for (const auto& [role, content] : s.messages) {
    if (std::string_view(role) != "user") continue;
    if (!text.empty()) text += "\n\n";
    text += content;
  }
  return text;
}

}  // namespace

std::vector<std::string> CorpusLines(Bank bank, uint64_t seed, int harvest, int benign,
                                     const std::unordered_set<std::string>& exclude) {
  std::vector<std::string> lines;
  std::unordered_set<std::string> seen;  // no text twice in one file
  Rng pick(Derive(seed, 0xC0A5, static_cast<uint64_t>(bank)));
  uint64_t draw = 0;
  for (int want_harvest = 1; want_harvest >= 0; --want_harvest) {
    const int wanted = want_harvest ? harvest : benign;
    for (int made = 0, tries = 0; made < wanted && tries < wanted * 50; ++tries) {
      SimAccount a;
      a.persona = want_harvest ? kHarvestPersonas[pick.Int(0, std::size(kHarvestPersonas) - 1)]
                               : PickBenign(pick, bank);
      a.variant = static_cast<int>(pick.Int(0, 11));
      a.campaign = pick.Next();
      a.corpus = true;
      // A campaign that hides its intent in some requests (high-volume-varied,
      // low-and-slow-blended) is asked again until one shows it.
      Shape s;
      for (int k = 0; k < 20; ++k) {
        Rng r(Derive(seed, 0xC0A6 + static_cast<uint64_t>(bank), ++draw));
        s = Describe(a, bank, r);
        if (!want_harvest || s.harvest_text) break;
      }
      if (want_harvest && !s.harvest_text) continue;
      const std::string text = TextOf(s), quoted = JsonString(text);
      if (text.empty() || exclude.count(quoted) || !seen.insert(text).second) continue;
      lines.push_back("{\"text\": " + quoted + ", \"label\": \"" +
                      (want_harvest ? "harvest" : "benign") + "\", \"family\": " +
                      JsonString(s.family) + "}");
      ++made;
    }
  }
  // Interleaved, so that a reader taking the first lines gets both labels.
  Rng shuffle(Derive(seed, 0x5F1E, static_cast<uint64_t>(bank)));
  for (size_t i = lines.size(); i > 1; --i)
    std::swap(lines[i - 1], lines[static_cast<size_t>(shuffle.Int(0, static_cast<int64_t>(i) - 1))]);
  return lines;
}

}  // namespace tosgate::sim
