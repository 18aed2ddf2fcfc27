// Internal to the simulator's text generators: picking a template from the
// bank a generator draws from, and filling its slots.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bench/sim/text.h"

namespace tosgate::sim {

// One of `train` or `eval`, as `g.bank` says. With a `name`, records the
// template's id ("name-t3", "name-e0") in g.tmpl; without, leaves it alone
// (for slots inside a template that is the family).
template <size_t N, size_t M>
std::string_view PickTemplate(Gen& g, const char* name, const std::string_view (&train)[N],
                              const std::string_view (&eval)[M]) {
  const bool t = g.bank == Bank::kTrain;
  const size_t i = static_cast<size_t>(g.r.Next() % (t ? N : M));
  if (name) g.tmpl = std::string(name) + (t ? "-t" : "-e") + std::to_string(i);
  return t ? train[i] : eval[i];
}

// `tmpl` with every {slot} replaced by a fresh draw: {topic} {topic2} {aspect}
// {person} {thing} {adj} {kind} {food} {city} {n} {lang} {code} {q} (a
// Question) {hq} (a HardQuestion) {product} {review} {ans} (a short answer)
// {num} (13-999) {resp} (a CandidateAnswer).
// Topics and questions come from g.bank's half. Unknown slots stay as written.
std::string Fill(Gen& g, std::string_view tmpl);

// A few sentences of ordinary prose, paragraphs now and then.
std::string Passage(Gen& g, int64_t sentences);

// A model's answer to grade or rewrite: a few sentences, of uneven quality.
std::string CandidateAnswer(Gen& g);

}  // namespace tosgate::sim
