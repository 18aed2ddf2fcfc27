// Prompt text for the traffic simulator, built from word lists and small
// grammars so that no two people write the same thing, while templated
// workloads (pipelines and campaigns alike) repeat their template with a
// varying slot, as they do in real traffic.
//
// Every wording comes from one of two disjoint paraphrase banks: `train`
// (what a detector may be tuned on) and `eval` (templates and wordings never
// used in train, for reporting). Slot fillers (topics, problems) are split the
// same way. See docs/traffic-simulator.md, "Paraphrase banks".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/sim/rng.h"

namespace tosgate::sim {

enum class Bank : uint8_t { kTrain, kEval };
std::string_view BankName(Bank b);
bool BankByName(std::string_view name, Bank* out);

// A generator's state: the random stream, the bank to draw wordings from and,
// after a call, the id of the template that shaped the text (the corpus's
// "family", e.g. "cotp-e3": generator, bank, index).
struct Gen {
  Rng& r;
  Bank bank;
  std::string tmpl;
  // The harvest-intent corpus of the train bank: some generators then also
  // compose their text from parts (bench/sim/composed_text.cc). Traffic
  // never does, so simulated captures are those of earlier rounds.
  bool compose = false;
};

// Benign people.
std::string ChatPrompt(Gen& g);    // a question or request someone types
std::string ChatFollowUp(Gen& g);  // a short reply within a conversation
std::string CodingPrompt(Gen& g);  // a coding request with a code snippet
std::string CodingSystemPrompt(Gen& g, int variant);
// Benign templated workloads: each account has one template (chosen by
// `variant`) and fills its slot per request.
std::string ClassificationPrompt(Gen& g, int variant);
std::string SupportSystemPrompt(Gen& g, int variant);
std::string SupportMessage(Gen& g);
std::string SummarizePrompt(Gen& g, int variant);
std::string EvalItemPrompt(Gen& g, int variant);  // multiple choice, for logprob scoring
// Hard negatives: legitimate traffic shaped like harvest.
std::string TutoringSystemPrompt(Gen& g, int variant);
std::string TutoringPrompt(Gen& g);  // step-by-step explanations for students
std::string HarnessPrompt(Gen& g, int variant);  // one eval template, many items
std::string LongformPrompt(Gen& g);              // writers: chapters, essays, reports
std::string ReasoningUserPrompt(Gen& g);         // people on a reasoning model

// Campaigns. `family` picks one of a few close templates shared by the
// accounts of one campaign.
std::string HarvestPrompt(Gen& g);              // "explain step by step ..."
std::string ClusterPrompt(Gen& g, int family);  // common template family
std::string CotPrompt(Gen& g);                  // chain-of-thought elicitation
std::string LogprobPrompt(Gen& g);              // short completions to score
std::string LowSlowPrompt(Gen& g, int family);  // human-looking but templated
std::string LowSlowSystemPrompt(Gen& g, int family);
std::string CotParaphrasePrompt(Gen& g);      // the reasoning asked for in other words
std::string ReconstructionPrompt(Gen& g);     // question + answer: write the reasoning
std::string ImplicitPrompt(Gen& g);           // a plain hard question, nothing more
std::string RubricPrompt(Gen& g);             // score given answers, justify
std::string RewritePrompt(Gen& g);            // rewrite a given text to a reviewer's standard
std::string VariedHarvestPrompt(Gen& g);      // any of the above, for one busy account
// Low-and-slow, blended: the campaign's one instruction (chosen by `campaign`
// from the bank) around a varying slot.
std::string BlendedHarvestPrompt(Gen& g, uint64_t campaign);

// Train bank only (bench/sim/composed_text.cc): frames with a "{slot}"
// (and maybe "{ans}") composed from parts: a harvest instruction (a demand
// for completeness and one to expose the reasoning, or a given answer's
// reasoning), and a benign ask around the same kind of question.
std::string ComposedHarvestFrame(Rng& r);
std::string ComposedBenignFrame(Rng& r);
// Train bank only (bench/sim/composed_benign.cc): benign templated workloads
// composed from parts - multiple-choice and short items an evaluation harness
// scores, harness problems with a fixed answer format, tutoring requests,
// long-form writing requests. Each sets g.tmpl ("mcq-tc", ...).
std::string ComposedEvalItem(Gen& g);
std::string ComposedHarnessItem(Gen& g);
std::string ComposedTutoring(Gen& g);
std::string ComposedLongform(Gen& g);

// A question on some topic, in many phrasings; the slot of most templates.
std::string Question(Gen& g);
// A hard question from some domain (math, physics, law, code, ...).
std::string HardQuestion(Gen& g);
// A person's text: sometimes lower case, a typo or two, no final punctuation.
std::string Roughen(Gen& g, std::string s);

}  // namespace tosgate::sim
