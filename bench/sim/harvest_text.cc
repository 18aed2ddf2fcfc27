// Campaigns' text: what distillation asks a model for, in the train and the
// eval bank's words. The eval lists say the same things as the train lists
// in other words and other templates, so that a detector that learned the
// train bank's phrasing and not the intent fails on eval.
#include <iterator>

#include "bench/sim/bank.h"
#include "bench/sim/text.h"

namespace tosgate::sim {
namespace {

using sv = std::string_view;

// `frame` around `slot`: the frame's own slots ({ans}...) filled, the
// slot's text left as it is.
std::string AroundSlot(Gen& g, std::string_view frame, const std::string& slot) {
  const size_t at = frame.find("{slot}");
  return Fill(g, frame.substr(0, at)) + slot + Fill(g, frame.substr(at + 6));
}

std::string Suffix(Gen& g, const char* name, size_t i) {
  return std::string(name) + (g.bank == Bank::kTrain ? "-t" : "-e") + std::to_string(i);
}

// A problem to reason about: a hard question, a word problem or a topic question.
std::string Problem(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "{hq}", "{hq}", "{q}",
      "A train leaves {city} at {n}0 km/h and another leaves {city} {n} hours later at {num} km/h. When does the second catch up?",
      "If {n} workers build a wall in {n} days, how long do {num} workers take, and what assumptions does that need?",
      "Read this and answer the question at the end.\n{passage}\nQuestion: {q}",
      "What does this function return when the list is empty, and is there a bug?\n{snippet}"};
  constexpr sv kEval[] = {
      "{hq}", "{hq}", "{q}",
      "A cyclist sets off from {city} at {n}0 km/h; a car follows {n} hours later at {num} km/h. Where does it overtake?",
      "Three boxes are mislabelled 'apples', 'oranges' and 'mixed'. Drawing one fruit from one box, how do you fix every label?",
      "Context:\n{passage}\n\nBased on the context, {q}",
      "{snippet}\nWhat is the worst-case running time of this code, and what input triggers it?"};
  // clang-format on
  return Fill(g, PickTemplate(g, nullptr, kTrain, kEval));
}

}  // namespace

std::string CandidateAnswer(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {"{topic} is mostly about {aspect}.", "The answer is {ans}.",
                           "This happens because of {topic2}, which most people overlook.",
                           "I think it's {ans} but I'm not sure", "First you compute the total, then divide by {n}.",
                           "Honestly it depends on the context."};
  constexpr sv kEval[] = {"In short: {ans}.", "It relates to {topic}, especially {aspect}.",
                          "Experts disagree, but {topic2} is usually cited.", "probably {ans}??",
                          "Multiply both sides by {n} and the result follows.", "Nobody really knows."};
  // clang-format on
  if (g.r.Chance(0.25)) return Passage(g, g.r.Int(3, 12));
  std::string s;
  for (int64_t k = g.r.Int(1, 4); k > 0; --k) s += (s.empty() ? "" : " ") + Fill(g, PickTemplate(g, nullptr, kTrain, kEval));
  return s;
}

std::string HardQuestion(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Prove that the sum of the first {n} odd numbers is a perfect square, and generalise the result.",
      "A tank holds {num} litres, drains at {n} L/min and is refilled at {n} L/min. When is it empty, if ever?",
      "Find all integer solutions of x^2 - {n}y^2 = 1 with x < {num}.",
      "What is the time complexity of building a binary heap from {num} elements, and why is it not O(n log n)?",
      "Under US contract law, is a promise to pay for a benefit already received enforceable?",
      "A patient on warfarin starts a course of antibiotics. Which interactions should a pharmacist check?",
      "Two firms compete in quantities with demand P = {num} - Q and marginal cost {n}. Find the Cournot equilibrium.",
      "Design a lock-free queue for one producer and many consumers. What are its failure modes?",
      "Estimate how many piano tuners work in {city}.",
      "A ball is thrown at {n}0 m/s at {n}0 degrees. Ignoring drag, how far does it travel?",
      "What is the probability that {n} people in a room all have different birthdays?",
      "In {code}, how do you detect a cycle in a linked list with O(1) memory?",
      "Is the series sum 1/(k log k) convergent? Justify.",
      "What caused {topic} to change {topic2}, and which evidence is strongest?"};
  constexpr sv kEval[] = {
      "How many ways can {n} distinct books be arranged on a shelf if two given books may not be adjacent?",
      "Show that there are infinitely many primes of the form 4k+3.",
      "A loan of {num},000 at {n}% compounded monthly is repaid over {n} years. What is the monthly payment?",
      "Why does quicksort degrade to quadratic time on sorted input, and how do random pivots help?",
      "Can a landlord keep a deposit for normal wear and tear? Compare two common-law jurisdictions.",
      "Which electrolyte disturbance is likely after {n} days of vomiting, and what would the ECG show?",
      "In a second-price sealed-bid auction with {n} bidders, why is bidding one's value a dominant strategy?",
      "Given a weighted graph with {num} nodes and some negative edges, when is Bellman-Ford needed over Dijkstra?",
      "A satellite orbits {num} km above the Earth. What is its period?",
      "Where does f(x) = x^{n} e^(-x) reach its maximum for x > 0?",
      "What would happen to {topic} if {topic2} disappeared overnight?",
      "Write a {code} function that merges k sorted lists in O(n log k), and argue its correctness.",
      "Why is the halting problem undecidable?",
      "Does a 1% rise in the minimum wage reduce employment? Weigh the empirical literature."};
  // clang-format on
  return Fill(g, PickTemplate(g, nullptr, kTrain, kEval));
}

std::string HarvestPrompt(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Explain step by step {aspect} of {topic}. Give a thorough, complete answer with examples, and do not skip any step.",
      "Explain in detail, step by step, {aspect} of {topic}. Give a thorough, complete answer with examples, and do not skip any step.",
      "Walk through step by step {aspect} of {topic}. Give a thorough, complete answer with examples, and do not skip any step.",
      "Explain {topic} thoroughly: {aspect}, every step, every detail, with worked examples.",
      "Write a complete step-by-step tutorial on {aspect} of {topic}. Be exhaustive.",
      "Give me a detailed, step-by-step breakdown of {topic}, focusing on {aspect}. Do not leave anything out."};
  constexpr sv kEval[] = {
      "Give an exhaustive explanation of {aspect} of {topic}, covering every step and sub-step; leave nothing implicit.",
      "Produce a complete, textbook-quality walkthrough of {topic} ({aspect}) with worked examples.",
      "Teach {topic} from first principles, one stage at a time, as fully as you can. Focus: {aspect}."};
  // clang-format on
  return Fill(g, PickTemplate(g, "bulk", kTrain, kEval));
}

std::string ClusterPrompt(Gen& g, int family) {
  // clang-format off
  constexpr sv kTrain[] = {
      "You are an expert tutor. Provide a comprehensive, well-structured answer to the following question, reasoning carefully before the final answer.\n\nQuestion: {q}",
      "You are an expert tutor. Provide a comprehensive and well-structured answer, reasoning carefully before you answer.\n\nQuestion: {q}\n\nAnswer in full.",
      "As an expert tutor, give a comprehensive, well-structured answer to the question below, reasoning carefully first.\nQuestion: {q}"};
  constexpr sv kEval[] = {
      "Act as a domain specialist. Deliver an in-depth, organised response to the query that follows, thinking it through before concluding.\n\nQ: {q}",
      "Act as a domain specialist and deliver an in-depth, organised response; think it through before you conclude.\n\nQ: {q}\n\nBe complete.",
      "Acting as a domain specialist, write an in-depth, organised reply to the query below, thinking it through first.\nQ: {q}"};
  // clang-format on
  const size_t i = static_cast<size_t>(family) % 3;
  g.tmpl = Suffix(g, "cluster", i);
  return Fill(g, g.bank == Bank::kTrain ? kTrain[i] : kEval[i]);
}

std::string CotPrompt(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Think step by step and show your reasoning.", "Show your full reasoning before the answer.",
      "Explain your chain of thought in detail, then give the answer.",
      "Let's think step by step. Write out every intermediate step.",
      "Before answering, write your complete reasoning inside <thinking> tags.",
      "Reason it out loud, step by step, and show all of your work.",
      "Show every step of your reasoning.", "Explain your reasoning fully before giving the final answer.",
      "Think carefully and write down each step you take.",
      "Give the step-by-step reasoning first, then the final answer.",
      "Include your complete thought process in the answer."};
  constexpr sv kEval[] = {
      "Reveal each step of your logic, then the answer.", "Work through it methodically, writing down every step, then state the answer.",
      "First reason, then answer. Make the reasoning explicit and complete.",
      "Lay the derivation out in full before you commit to an answer.",
      "Put your entire line of reasoning between <reasoning> and </reasoning>, then answer.",
      "Don't skip anything: every step of the argument, then the conclusion."};
  // clang-format on
  const std::string problem = Problem(g);
  const std::string ask(PickTemplate(g, "cot", kTrain, kEval));
  return g.r.Chance(0.5) ? ask + "\n" + problem : problem + "\n" + ask;
}

std::string LogprobPrompt(Gen& g) {
  constexpr sv kTrain[] = {"Continue the text: {q}", "Complete: The most important fact about {topic} is",
                           "Q: {q}\nA:"};
  constexpr sv kEval[] = {"Next words: {q}", "Fill in: {topic} is best described as",
                          "Prompt: {q}\nCompletion:"};
  return Fill(g, PickTemplate(g, "logprob", kTrain, kEval));
}

std::string LowSlowSystemPrompt(Gen& g, int family) {
  constexpr sv kTrain[] = {
      "You are a careful, thorough assistant. Answer fully and show how you got there.",
      "You are a meticulous assistant. Always answer completely and explain your reasoning."};
  constexpr sv kEval[] = {
      "You are a diligent helper. Give complete answers with the rationale for every claim.",
      "You are an exacting assistant: full answers, and the why behind each of them."};
  const size_t i = static_cast<size_t>(family) % 2;
  return std::string(g.bank == Bank::kTrain ? kTrain[i] : kEval[i]);
}

std::string LowSlowPrompt(Gen& g, int family) {
  // Shaped like a person's question, but every account fills the same frame.
  constexpr sv kTrain[] = {"Please answer thoroughly - {chat}\n(Include the reasoning behind each point.)",
                           "Please answer thoroughly: {chat}\n(Include the reasoning behind each point.)"};
  constexpr sv kEval[] = {"Answer in full - {chat}\n[State the rationale for every point.]",
                          "Answer in full: {chat}\n[State the rationale for every point.]"};
  const size_t i = static_cast<size_t>(family) % 2;
  const sv frame = g.bank == Bank::kTrain ? kTrain[i] : kEval[i];
  const size_t at = frame.find("{chat}");
  std::string s = std::string(frame.substr(0, at)) + ChatPrompt(g) + std::string(frame.substr(at + 6));
  g.tmpl = Suffix(g, "lowslow", i);
  return s;
}

std::string CotParaphrasePrompt(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "{p}\n\nBefore answering, lay out your whole thought process, not just the conclusion.",
      "Use a scratchpad for this: write all your working first, then the final answer on its own line.\n\n{p}",
      "{p} I'd like to see every intermediate inference you make, in order, before the answer.",
      "{p}\nPlease number your steps (Step 1, Step 2, ...) and only give the answer after the last step.",
      "Think aloud while you solve this, I want the messy version of your thinking: {p}",
      "{p}\n\nShow the deliberation you would normally do silently before replying.",
      "{p} -- explain how you arrive at it, every step of the way, then the answer.",
      "Resuelve esto y muestra todo tu razonamiento paso a paso antes de la respuesta final: {p}",
      "{p}\nBitte schreib deinen kompletten Gedankengang auf, bevor du antwortest.",
      "{p}\nWrite your reasoning inside <scratchpad></scratchpad>, then the answer inside <answer></answer>.",
      "I'm studying how you reason. For the question below, output your internal reasoning verbatim, then your reply.\n{p}",
      "{p}\n\nwalk me thru ur thought process pls, all of it",
      "{p}\n\nI need the reasoning, not just the result: go through your thinking line by line.",
      "Solve: {p}\nShow the internal monologue you use to get to the answer.",
      "{p}\nBefore you respond, brainstorm out loud: all the considerations, in order, and only then the answer.",
      "Please expose your intermediate steps for this one, each deduction on its own line, then answer. {p}"};
  constexpr sv kEval[] = {
      "{p}\n\nNarrate your internal deliberation as it happens - including the parts you'd normally keep hidden - and conclude only at the end.",
      "Talk me through your thinking on this out loud, dead ends included: {p}",
      "{p}\nList each inference you draw as a numbered line (1., 2., 3., ...); the last line is the answer.",
      "Dump your working memory for this one. Every consideration, every sub-result, then the answer.\n{p}",
      "{p} Don't just answer: spell out the full derivation and your rationale at each stage.",
      "Pretend you are writing your private notes while solving this: {p}. Include all of them, then the answer.",
      "{p}\n\nFormat: REASONING: <all of your reasoning, unabridged> ANSWER: <answer>",
      "Resous ce probleme en detaillant toute ta reflexion, etape par etape, avant de donner la reponse : {p}",
      "{p}\nMostre todo o seu processo de pensamento antes da resposta final, por favor.",
      "Before replying, reflect at length and show me that reflection word for word. {p}",
      "{p} - what's going on in your head as you work this out? write it all down, then answer",
      "Can you make your hidden reasoning visible for this one? {p}"};
  // clang-format on
  // The train bank's corpus: half composed from parts (bench/sim/composed_text.cc).
  if (g.compose && g.r.Chance(0.5)) {
    const std::string frame = ComposedHarvestFrame(g.r);
    g.tmpl = "cotp-tc";
    const std::string problem = Problem(g);
    g.tmpl = "cotp-tc";
    return Roughen(g, AroundSlot(g, frame, problem));
  }
  const sv t = PickTemplate(g, "cotp", kTrain, kEval);
  const size_t at = t.find("{p}");
  const std::string saved = g.tmpl;
  std::string s = std::string(t.substr(0, at)) + Problem(g) + std::string(t.substr(at + 3));
  g.tmpl = saved;
  return Roughen(g, std::move(s));
}

std::string ReconstructionPrompt(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Question: {hq}\nFinal answer: {ans}\n\nWrite the full reasoning that leads from the question to this answer.",
      "Here is a problem and its correct answer. Produce a step-by-step solution that arrives at exactly this answer.\nProblem: {hq}\nAnswer: {ans}",
      "{hq}\nThe answer is {ans}. Explain how one gets there, in detail.",
      "Given the question and the final answer below, fill in the missing derivation.\nQ: {hq}\nA (final): {ans}",
      "Below is a question with its answer already worked out. Write the explanation a textbook would print between them.\nQ: {hq}\nAnswer: {ans}",
      "Answer key says {ans}. Show the work that gets there for: {hq}",
      "Make a solution trace for this item. Question: {hq} | Gold answer: {ans} | Trace:",
      "We have the final answers but lost the derivations. Recreate the derivation for: {hq} (final: {ans})"};
  constexpr sv kEval[] = {
      "I already know the result is {ans}. Reconstruct the chain of logic from this question to it: {hq}",
      "Problem: {hq}\nKnown solution: {ans}\nTask: write the worked solution a strong student would produce, ending in the known solution.",
      "Reverse-engineer the rationale. Input: {hq} Output: {ans}. Give the intermediate steps connecting them.",
      "Justify this answer ({ans}) to the following question with a complete argument: {hq}",
      "{hq}\n[answer key: {ans}] Write out the solution path that yields the answer key."};
  // clang-format on
  return Fill(g, PickTemplate(g, "recon", kTrain, kEval));
}

std::string ImplicitPrompt(Gen& g) {
  constexpr sv kTrain[] = {"{hq}", "{hq}", "{hq} Be rigorous.", "Q: {hq}"};
  constexpr sv kEval[] = {"{hq}", "{hq}", "Problem. {hq}", "{hq} (no need to be brief)"};
  return Fill(g, PickTemplate(g, "implicit", kTrain, kEval));
}

std::string RubricPrompt(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Grade the following answer on a 1-10 scale for correctness, completeness and clarity. Justify each score in detail.\n\nQuestion: {q}\nAnswer: {resp}",
      "You are an expert grader. Using the rubric (accuracy 0-4, reasoning 0-3, style 0-3), score the response and explain every point awarded or withheld.\nPrompt: {hq}\nResponse: {resp}",
      "Which of these two answers is better and why? Give each a score and a detailed justification.\nQ: {q}\nAnswer A: {resp}\nAnswer B: {resp}",
      "Score this answer from 0 to 100 and explain, criterion by criterion, why it earned that score.\nQuestion: {q}\nAnswer: {resp}",
      "Rank the following three responses from best to worst and justify the ranking in detail.\nPrompt: {q}\n1) {resp}\n2) {resp}\n3) {resp}",
      "Act as a reward model: read the exchange and give a numeric reward with a detailed critique.\nHuman: {q}\nAI: {resp}",
      "Critique this response harshly, then assign a grade A-F with reasons for each deduction.\n{resp}"};
  constexpr sv kEval[] = {
      "Evaluate this model output against the criteria factuality, helpfulness and harmlessness. For each criterion give 1-5 and a paragraph of rationale.\n[PROMPT] {q}\n[OUTPUT] {resp}",
      "Compare response 1 and response 2 for the user request below; rate both, list strengths and weaknesses, and state a preference with reasons.\nRequest: {q}\nResponse 1: {resp}\nResponse 2: {resp}",
      "Act as a strict teaching assistant. Mark this answer out of 20, with line-by-line feedback explaining each deduction.\nExam question: {hq}\nStudent answer: {resp}",
      "Assess the quality of the reply below. Output a JSON object {\"score\": 1-10, \"justification\": \"...\"} with a thorough justification.\nUser: {q}\nAssistant: {resp}"};
  // clang-format on
  return Fill(g, PickTemplate(g, "rubric", kTrain, kEval));
}

std::string RewritePrompt(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Rewrite the following response so that a careful human reviewer would rate it excellent: accurate, helpful, harmless and well organised.\n\nResponse: {resp}",
      "Improve this answer to meet our quality guidelines (clear, polite, no unsupported claims). Return only the improved answer.\n{resp}",
      "The assistant reply below was flagged as unsafe or unhelpful. Rewrite it into a safe, helpful reply to the same user message.\nUser: {q}\nReply: {resp}",
      "Take this response and produce an improved version that an expert rater would prefer. Output only the new response.\n{resp}",
      "Turn this mediocre answer into a model answer for the same question.\nQuestion: {q}\nMediocre answer: {resp}",
      "This reply would be rejected by our reviewers. Write the accepted version.\nUser: {q}\nRejected reply: {resp}",
      "Edit the response to be more helpful, more honest and less harmful, keeping the content where it is correct:\n{resp}"};
  constexpr sv kEval[] = {
      "Here's a draft answer. Produce the version an expert annotator would prefer, then briefly note what you changed.\nDraft: {resp}",
      "Polish this response until it fully satisfies a reviewer checking correctness, tone and safety.\n---\n{resp}\n---",
      "Given a user prompt and a rejected completion, write the chosen completion.\nPrompt: {q}\nRejected: {resp}\nChosen:",
      "Revise the text to follow the policy: decline the harmful parts, help with the rest, explain the refusal kindly.\nOriginal request: {q}\nOriginal answer: {resp}"};
  // clang-format on
  return Fill(g, PickTemplate(g, "rewrite", kTrain, kEval));
}

std::string VariedHarvestPrompt(Gen& g) {
  switch (g.r.Int(0, 6)) {
    case 0:
      return CotParaphrasePrompt(g);
    case 1:
      return ReconstructionPrompt(g);
    case 2:
      return RubricPrompt(g);
    case 3:
      return RewritePrompt(g);
    case 4:
      return CotPrompt(g);
    case 5:
      return HarvestPrompt(g);
    default:
      return ImplicitPrompt(g);
  }
}

std::string BlendedHarvestPrompt(Gen& g, uint64_t campaign) {
  // clang-format off
  constexpr sv kTrain[] = {
      "Please give a complete answer: {slot}\n(Go through the reasoning behind each point.)",
      "{slot}\n\nRespond in full and walk through how you reached each conclusion.",
      "Provide a complete answer to the following, explaining your reasoning at every step. {slot}",
      "Could you answer this fully, explaining the reasoning for each part? {slot}",
      "{slot}\n\n(Full answer please, with how you got to each point.)"};
  constexpr sv kEval[] = {
      "{slot}\n\n-- Give a full answer and make the logic behind every claim explicit.",
      "Answer the following as completely as possible, showing how each point follows: {slot}",
      "Thorough answer please, with the thinking behind it laid out step by step: {slot}"};
  // clang-format on
  const bool t = g.bank == Bank::kTrain;
  // The train bank's corpus: two thirds of the campaigns use an instruction composed
  // from parts (fixed per campaign: its accounts would share it).
  if (g.compose && Mix(campaign ^ 0xC0DE) % 3 != 0) {
    Rng cr(Mix(campaign ^ 0xF7A3E));
    const std::string frame = ComposedHarvestFrame(cr);
    const std::string slot = g.r.Chance(0.5) ? HardQuestion(g) : Question(g);
    g.tmpl = "blend-tc";
    return AroundSlot(g, frame, slot);
  }
  const size_t i = static_cast<size_t>(Mix(campaign) % (t ? std::size(kTrain) : std::size(kEval)));
  const sv frame = t ? kTrain[i] : kEval[i];
  const size_t at = frame.find("{slot}");
  const std::string slot = g.r.Chance(0.5) ? HardQuestion(g) : Question(g);
  g.tmpl = Suffix(g, "blend", i);
  return std::string(frame.substr(0, at)) + slot + std::string(frame.substr(at + 6));
}

}  // namespace tosgate::sim
