// What one simulated request says (its text and sampling parameters), before
// render.cc writes it in either body shape; shared with the corpus export.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/sim/rng.h"
#include "bench/sim/text.h"
#include "bench/sim/traffic.h"

namespace tosgate::sim {

struct Shape {
  std::string system;
  std::vector<std::pair<const char*, std::string>> messages;
  int64_t max_tokens = -1;  // -1: not given
  double temperature = -1;  // < 0: not given
  bool logprobs = false;
  int64_t top_logprobs = -1;
  int64_t logit_bias = 0;          // number of entries
  std::string reasoning_effort;    // empty: not given
  bool effort_object = false;      // as "reasoning": {"effort": ...} rather than "reasoning_effort"
  int64_t thinking_budget = 0;     // Anthropic "thinking" budget_tokens; 0: not given
  int64_t n = 0;                   // samples; 0: not given (OpenAI shape only)
  const char* purpose = nullptr;
  int64_t output_tokens = 0;
  std::string family;              // "<scenario>/<template id>"
  bool harvest_text = false;       // the text itself carries harvest intent
};

Shape Describe(const SimAccount& a, Bank bank, Rng& r);

}  // namespace tosgate::sim
