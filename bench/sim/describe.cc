#include "bench/sim/describe.h"

#include <algorithm>
#include <cmath>

namespace tosgate::sim {
namespace {

int64_t Tokens(double x, int64_t cap) {
  const int64_t n = std::max<int64_t>(1, std::llround(x));
  return cap > 0 ? std::min(n, cap) : n;
}

// A reasoning model asked to think hard: effort, a thinking budget (for
// Anthropic bodies) and room for a long answer.
void HighEffort(Shape& s, Rng& r, int64_t budget_lo, int64_t budget_hi) {
  s.reasoning_effort = r.Chance(0.85) ? "high" : "medium";
  s.effort_object = r.Chance(0.3);
  s.thinking_budget = r.Int(budget_lo, budget_hi);
  s.max_tokens = std::max<int64_t>(s.max_tokens, s.thinking_budget + r.Int(2000, 8000));
}

}  // namespace

Shape Describe(const SimAccount& a, Bank bank, Rng& r) {
  Shape s;
  Gen g{r, bank, {}, a.corpus && bank == Bank::kTrain};
  auto user = [&](std::string text) { s.messages.emplace_back("user", std::move(text)); };
  switch (a.persona) {
    case Persona::kChat:
      user(ChatPrompt(g));
      if (r.Chance(0.3)) {
        const std::string tmpl = g.tmpl;
        s.messages.emplace_back("assistant", "Sure - here is a first try. " + Question(g));
        user(ChatFollowUp(g));
        g.tmpl = tmpl;
      }
      s.max_tokens = r.Pick({-1, -1, 256, 512, 1024});
      if (r.Chance(0.3)) s.temperature = r.Pick({0.2, 0.7, 1.0});
      s.output_tokens = Tokens(r.LogNormal(220, 0.7), s.max_tokens);
      break;
    case Persona::kCoding:
      s.system = CodingSystemPrompt(g, a.variant);
      user(CodingPrompt(g));
      s.max_tokens = r.Pick({1024, 2048, 4096});
      s.output_tokens = Tokens(r.LogNormal(450, 0.7), s.max_tokens);
      break;
    case Persona::kClassify:
      user(ClassificationPrompt(g, a.variant));
      s.max_tokens = (a.variant % 4 == 3) ? 32 : 5;
      s.temperature = 0;
      s.purpose = "classification";
      s.output_tokens = r.Int(1, 4);
      break;
    case Persona::kSupport:
      s.system = SupportSystemPrompt(g, a.variant);
      user(SupportMessage(g));
      if (r.Chance(0.3)) {
        s.messages.emplace_back("assistant",
                                "I'm sorry to hear that. Could you share your order number?");
        user(SupportMessage(g));
      }
      g.tmpl = std::string("support-") + (bank == Bank::kTrain ? "t" : "e");
      s.max_tokens = 300;
      s.purpose = "customer-support";
      s.output_tokens = Tokens(r.LogNormal(90, 0.5), s.max_tokens);
      break;
    case Persona::kSummarize:
      user(SummarizePrompt(g, a.variant));
      s.max_tokens = 400;
      s.purpose = "summarization";
      s.output_tokens = Tokens(r.LogNormal(180, 0.3), s.max_tokens);
      break;
    case Persona::kEval:
      user(EvalItemPrompt(g, a.variant));
      s.max_tokens = 1;
      s.temperature = 0;
      s.logprobs = true;
      s.top_logprobs = 1 + a.variant % 5;
      s.purpose = "evaluation";
      s.output_tokens = 1;
      break;
    case Persona::kTutoring:
      s.system = TutoringSystemPrompt(g, a.variant);
      user(TutoringPrompt(g));
      s.max_tokens = r.Pick({1024, 2048});
      if (a.variant % 2 == 0) s.purpose = "tutoring";
      s.output_tokens = Tokens(r.LogNormal(600, 0.4), s.max_tokens);
      break;
    case Persona::kHarness:
      user(HarnessPrompt(g, a.variant));
      s.max_tokens = 8192;
      if (a.variant % 2 == 0) s.purpose = "evaluation";
      if (a.variant % 3 != 2) HighEffort(s, r, 4000, 16000);
      if (a.variant % 4 == 1) {  // pass@k: several samples at a sampling temperature
        s.n = 4;
        s.temperature = 0.8;
      } else {
        s.temperature = 0;
      }
      s.output_tokens = Tokens(r.LogNormal(1500, 0.6), s.max_tokens);
      break;
    case Persona::kLongform:
      s.system = r.Chance(0.5) ? "" : "You are a skilled writing partner. Match the author's voice.";
      user(LongformPrompt(g));
      s.max_tokens = r.Pick({4096, 8192, 16000});
      if (r.Chance(0.5)) s.temperature = r.Pick({0.9, 1.0, 1.1});
      s.output_tokens = Tokens(r.LogNormal(3000, 0.4), s.max_tokens);
      break;
    case Persona::kReasoner:
      user(ReasoningUserPrompt(g));
      s.max_tokens = r.Pick({-1, 2048, 4096});
      if (r.Chance(0.2)) HighEffort(s, r, 2000, 12000);  // now and then, a hard one
      s.output_tokens = Tokens(r.LogNormal(700, 0.7), s.max_tokens);
      break;
    case Persona::kHarvest:
      user(HarvestPrompt(g));
      s.max_tokens = 4096;
      s.output_tokens = Tokens(r.LogNormal(2600, 0.25), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kCluster:
      user(ClusterPrompt(g, a.variant));
      s.max_tokens = r.Pick({2048, 4096});
      s.output_tokens = Tokens(r.LogNormal(1800, 0.3), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kCot:
      user(CotPrompt(g));
      s.max_tokens = r.Pick({4096, 8192});
      s.output_tokens = Tokens(r.LogNormal(2200, 0.35), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kLogprob:
      user(LogprobPrompt(g));
      s.max_tokens = r.Pick({1, 1, 16, 64});
      s.logprobs = true;
      s.top_logprobs = 20;
      if (r.Chance(0.5)) s.logit_bias = r.Int(1, 8);
      s.output_tokens = s.max_tokens;
      break;
    case Persona::kLowSlow:
      s.system = LowSlowSystemPrompt(g, a.variant);
      user(LowSlowPrompt(g, a.variant));
      s.max_tokens = 2048;
      s.output_tokens = Tokens(r.LogNormal(1300, 0.35), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kCotParaphrase:
      user(CotParaphrasePrompt(g));
      s.max_tokens = r.Pick({-1, 4096, 8192});
      if (r.Chance(0.3)) s.temperature = r.Pick({0.7, 1.0});
      s.output_tokens = Tokens(r.LogNormal(1800, 0.4), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kReconstruct:
      user(ReconstructionPrompt(g));
      s.max_tokens = r.Pick({4096, 8192});
      s.output_tokens = Tokens(r.LogNormal(1500, 0.4), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kImplicit:
      user(ImplicitPrompt(g));
      s.max_tokens = r.Pick({16000, 32000});
      HighEffort(s, r, 8000, 24000);
      s.reasoning_effort = "high";
      s.n = r.Int(2, 8);
      s.temperature = 1.0;
      s.output_tokens = Tokens(r.LogNormal(6000, 0.4), s.max_tokens);
      break;
    case Persona::kRubric:
      user(RubricPrompt(g));
      s.max_tokens = r.Pick({1024, 2048});
      s.output_tokens = Tokens(r.LogNormal(700, 0.4), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kRewrite:
      user(RewritePrompt(g));
      s.max_tokens = r.Pick({1024, 2048});
      s.output_tokens = Tokens(r.LogNormal(600, 0.4), s.max_tokens);
      s.harvest_text = true;
      break;
    case Persona::kVolume:
      user(VariedHarvestPrompt(g));
      s.max_tokens = r.Pick({4096, 8192, 16000});
      if (r.Chance(0.5)) HighEffort(s, r, 4000, 12000);
      if (r.Chance(0.3)) s.temperature = 1.0;
      s.output_tokens = Tokens(r.LogNormal(2500, 0.4), s.max_tokens);
      s.harvest_text = !g.tmpl.starts_with("implicit");  // a bare question says nothing
      break;
    case Persona::kBlended:
      // A third of its requests carry the campaign's instruction; the rest
      // are the account's cover, ordinary chat.
      if (r.Chance(1.0 / 3)) {
        user(BlendedHarvestPrompt(g, a.campaign));
        s.max_tokens = r.Pick({2048, 4096});
        s.output_tokens = Tokens(r.LogNormal(1400, 0.35), s.max_tokens);
        s.harvest_text = true;
      } else {
        user(ChatPrompt(g));
        s.max_tokens = r.Pick({-1, 512, 1024});
        s.output_tokens = Tokens(r.LogNormal(220, 0.7), s.max_tokens);
      }
      break;
  }
  if (g.tmpl.empty()) g.tmpl = bank == Bank::kTrain ? "t" : "e";
  s.family = std::string(PersonaName(a.persona)) + "/" + g.tmpl;
  return s;
}

}  // namespace tosgate::sim
