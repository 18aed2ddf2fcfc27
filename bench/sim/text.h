// Prompt text for the traffic simulator, built from word lists and small
// grammars so that no two people write the same thing, while templated
// workloads (pipelines and campaigns alike) repeat their template with a
// varying slot, as they do in real traffic.
#pragma once

#include <string>

#include "bench/sim/rng.h"

namespace tosgate::sim {

// Benign people.
std::string ChatPrompt(Rng& r);    // a question or request someone types
std::string ChatFollowUp(Rng& r);  // a short reply within a conversation
std::string CodingPrompt(Rng& r);  // a coding request with a code snippet
// Benign templated workloads (the hard negatives): each account has one
// template (chosen by `variant`) and fills its slot per request.
std::string ClassificationPrompt(int variant, Rng& r);
std::string SupportSystemPrompt(int variant);
std::string SupportMessage(Rng& r);
std::string SummarizePrompt(int variant, Rng& r);
std::string EvalItemPrompt(int variant, Rng& r);  // multiple choice, for logprob scoring

// Campaigns. `family` picks one of a few close templates shared by the
// accounts of one campaign.
std::string HarvestPrompt(Rng& r);              // "explain step by step ..."
std::string ClusterPrompt(int family, Rng& r);  // common template family
std::string CotPrompt(Rng& r);                  // chain-of-thought elicitation
std::string LogprobPrompt(Rng& r);              // short completions to score
std::string LowSlowPrompt(int family, Rng& r);  // human-looking but templated
std::string LowSlowSystemPrompt(int family);

// A question on some topic, in many phrasings; the slot of most templates.
std::string Question(Rng& r);

}  // namespace tosgate::sim
