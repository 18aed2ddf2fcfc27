// Train-bank stand-ins for benign templated workloads (issue 20, round 6):
// evaluation harnesses that score multiple-choice items, harnesses that ask
// for a final answer in a fixed format, tutoring at volume and long-form
// writing, each composed from parts with many wordings. Round 5's words-only
// model learned "question + instruction + a cue to answer" as harvest because
// the corpus had two fixed multiple-choice wordings and a few harness
// templates: a harness in words it had not seen read like a harvest
// instruction. Parts teach the model what these workloads share - a format
// for the answer (a letter, a box, a number), a student, a draft - whatever
// their exact words. Written from what such harnesses and businesses send in
// general (lm-eval-style prompts, homework services, writing tools), never
// from a reporting bank. Only the train bank's corpus composes
// (Gen::compose); simulated traffic of either bank is unchanged.
#include <iterator>
#include <string>
#include <string_view>

#include "bench/sim/bank.h"
#include "bench/sim/text.h"

namespace tosgate::sim {
namespace {

using sv = std::string_view;

// clang-format off
// Multiple choice: a header, the stem, four options in one of several
// labellings, a cue for the answer.
constexpr sv kMcHeader[] = {
    "", "", "", "The following are multiple choice questions (with answers) about {topic}.\n\n",
    "Choose the correct answer.\n", "Select the single correct option.\n",
    "Read the question and choose one of the options.\n", "Which of the choices is correct?\n",
    "Multiple choice. Reply with one letter.\n", "Respond with the letter of the correct choice only.\n",
    "Exam question ({topic})\n", "Quiz {num}, question {n}.\n", "Identify the right choice below.\n",
    "Mark the correct response.\n", "Only one of these is true.\n", "Benchmark: {topic} / split test\n",
    "Answer with A, B, C or D and nothing else.\n", "Choose one. Do not explain.\n",
    "Subject: {topic}\n", "Read carefully, then select the answer.\n"};
constexpr sv kMcStem[] = {"", "", "Q: ", "Question {n}: ", "Problem: ", "Prompt: ", "Stem: ", "{n}. "};
constexpr sv kMcLabels[][4] = {{"A) ", "B) ", "C) ", "D) "}, {"A. ", "B. ", "C. ", "D. "},
                               {"(A) ", "(B) ", "(C) ", "(D) "}, {"a) ", "b) ", "c) ", "d) "},
                               {"1. ", "2. ", "3. ", "4. "}, {"[A] ", "[B] ", "[C] ", "[D] "},
                               {"A: ", "B: ", "C: ", "D: "}, {"(a) ", "(b) ", "(c) ", "(d) "}};
constexpr sv kMcOptionsHead[] = {"", "", "", "Choices:\n", "Options:\n", "Answers:\n"};
constexpr sv kMcCue[] = {
    "Answer:", "Answer:", "The answer is", "Correct answer:", "Your answer:", "Letter:", "Choice:",
    "Response:", "A, B, C or D?", "Output the letter.", "Correct choice:", "Selected:", "=>", "Ans:",
    "Answer (letter only):", "Reply with the number of the option.", "Final choice:"};
constexpr sv kMcLetters[] = {"A", "B", "C", "D"};
// True/false and cloze items a harness scores the same way.
constexpr sv kShortItem[] = {
    "True or false: {topic} is mainly about {aspect}.\nAnswer:",
    "Statement: {q}\nIs the statement correct? Yes or No.\nAnswer:",
    "Complete the sentence with one word: the study of {topic} concerns ___.\nAnswer:",
    "Q: {q}\nA:", "Fill in the blank. {topic} is best known for ___ .\nWord:",
    "Does the following follow? Premise: {topic} grew. Hypothesis: {topic2} grew.\nLabel (entailment/neutral/contradiction):",
    "Rate how plausible this is from 1 to 5: {q}\nRating:"};
// Harnesses that want a final answer in a fixed format (long answers allowed).
constexpr sv kFormat[] = {
    "Put the final answer after '####'.", "Give your final answer as JSON: {\"answer\": ...}.",
    "Return only the final number.", "End with a line 'Final Answer: <value>'.",
    "Write the final answer in \\boxed{}.", "The last line must be the answer alone.",
    "Answer with the option letter on the last line.", "Output the result, then stop.",
    "Format: reasoning (optional), then ANSWER=<value>.", "Use at most one line for the final answer."};
constexpr sv kHarnessHead[] = {
    "", "", "Problem {n} of {num}. ", "Task: ", "[eval] ", "Test case {num}. ", "Solve: ",
    "You are being evaluated on {topic}. ", "Benchmark item. ", "Grade-school math. "};
// Tutoring at volume: a student, a level, a way to teach.
constexpr sv kAudience[] = {
    "for a grade {n} student", "for my {n}-year-old", "for a student in my class",
    "for learners who are new to this", "at a beginner level", "for a pupil who struggles with maths",
    "so a middle-schooler can follow", "for our tutoring session", "for a student revising for a test",
    "for my homework group", "for a child learning at home", "for a class of {n} students"};
constexpr sv kTeach[] = {
    "Explain how to", "Help them understand how to", "Walk the student through how to",
    "Give a hint, then show how to", "Teach me how to", "Use a simple example to show how to",
    "Check my student's working and explain how to", "Show with a diagram in words how to",
    "Break down how to", "Make it easy to see how to"};
constexpr sv kTask[] = {
    "solve {n}x + {num} = {num}", "add fractions with different denominators", "find the area of a circle of radius {n}",
    "convert {num} grams to kilograms", "work out {n}% of {num}", "read a bar chart about {topic}",
    "write a topic sentence about {topic}", "balance a simple chemical equation", "long-divide {num} by {n}",
    "spot the verb in a sentence", "estimate {num} x {n} in their head", "plot the point ({n}, {n})"};
constexpr sv kTeachExtra[] = {
    "", "", "Then set one practice question.", "Use simple words.", "Encourage them at the end.",
    "Don't just give the answer.", "Keep each step short.", "Ask a check-in question after.",
    "Use an everyday example.", "Mention a common mistake to avoid."};
// Long-form writing: a piece, a subject, a length, a tone.
constexpr sv kPiece[] = {
    "a blog post", "chapter {n} of my novel", "an essay", "a speech for my sister's wedding",
    "a newsletter for our customers", "a short story", "a product description page", "a grant proposal section",
    "a travel guide to {city}", "a eulogy", "the opening of a mystery story", "a LinkedIn article",
    "a white paper", "a cover letter", "a feature for our school magazine", "a long review of {product}"};
constexpr sv kLength[] = {"about {num} words", "around 2,000 words", "at least 1500 words", "three pages",
                          "5 sections with subheadings", "", ""};
constexpr sv kTone[] = {"warm and funny", "formal", "dark but hopeful", "conversational", "persuasive",
                        "in the voice of a 1920s detective", "upbeat", "", ""};
// clang-format on

std::string McItem(Gen& g) {
  Rng& r = g.r;
  const sv(&labels)[4] = kMcLabels[r.Int(0, static_cast<int64_t>(std::size(kMcLabels)) - 1)];
  std::string s = std::string(r.Pick(kMcStem)) + Question(g) + "\n" + std::string(r.Pick(kMcOptionsHead));
  for (const sv label : labels) s += std::string(label) + Fill(g, "{aspect}") + "\n";
  return s + std::string(r.Pick(kMcCue));
}

}  // namespace

std::string ComposedEvalItem(Gen& g) {
  Rng& r = g.r;
  g.tmpl = "mcq-tc";
  if (r.Chance(0.2)) return Fill(g, r.Pick(kShortItem));
  std::string s = Fill(g, r.Pick(kMcHeader));
  // Few-shot: solved items first, as evaluation harnesses send them.
  for (int64_t k = r.Chance(0.3) ? r.Int(1, 3) : 0; k > 0; --k)
    s += McItem(g) + " " + std::string(r.Pick(kMcLetters)) + "\n\n";
  return s + McItem(g);
}

std::string ComposedHarnessItem(Gen& g) {
  Rng& r = g.r;
  g.tmpl = "harness-tc";
  const std::string head = Fill(g, r.Pick(kHarnessHead)), fmt(r.Pick(kFormat));
  const std::string q = r.Chance(0.7) ? HardQuestion(g) : Question(g);
  return r.Chance(0.5) ? head + q + "\n\n" + fmt : head + fmt + "\n\n" + q;
}

std::string ComposedTutoring(Gen& g) {
  Rng& r = g.r;
  g.tmpl = "tutor-tc";
  std::string s = std::string(r.Pick(kTeach)) + " " + std::string(r.Pick(kTask)) + " " +
                  std::string(r.Pick(kAudience)) + ".";
  const sv extra = r.Pick(kTeachExtra);
  if (!extra.empty()) s += " " + std::string(extra);
  return Fill(g, s);
}

std::string ComposedLongform(Gen& g) {
  Rng& r = g.r;
  g.tmpl = "longform-tc";
  std::string s = std::string(r.Pick({"Write ", "Draft ", "Help me write ", "Can you write ", "Please write "})) +
                  std::string(r.Pick(kPiece)) + " about {topic}";
  for (const sv part : {r.Pick(kLength), r.Pick(kTone)})
    if (!part.empty()) s += ", " + std::string(part);
  s += ".";
  if (r.Chance(0.3)) s += " What I have so far:\n{passage}";
  return Fill(g, s);
}

}  // namespace tosgate::sim
