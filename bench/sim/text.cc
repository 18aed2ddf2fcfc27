#include "bench/sim/text.h"

#include <string_view>

namespace tosgate::sim {
namespace {

using sv = std::string_view;

// clang-format off
constexpr sv kTopics[] = {
    "photosynthesis", "the French revolution", "compound interest", "black holes", "sourdough bread",
    "the immune system", "supply and demand", "plate tectonics", "quantum entanglement",
    "the Roman republic", "neural networks", "jazz harmony", "climate feedback loops",
    "the printing press", "vaccines", "inflation", "public key cryptography", "the water cycle",
    "the Silk Road", "game theory", "CRISPR", "the stock market", "volcanoes", "sleep cycles",
    "the Byzantine empire", "electric motors", "coral reefs", "the Cold War", "probability",
    "container shipping", "the human heart", "relativity", "medieval castles", "beekeeping",
    "renewable energy", "the Renaissance", "hash tables", "ocean currents", "antibiotics",
    "the electoral college", "fermentation", "glaciers", "the Industrial Revolution",
    "machine translation", "tides", "the Ottoman empire", "semiconductors", "bird migration",
    "origami", "the placebo effect", "urban planning", "the Apollo program", "typography",
    "wine making", "the Great Depression", "earthquakes", "operating systems", "chess openings",
    "photography exposure", "the Maya calendar", "opera", "bacteria", "tax brackets",
};
// clang-format on
// clang-format off
constexpr sv kAspects[] = {
    "its history",   "how it works",      "why it matters",   "the main debates",
    "common myths",  "recent research",   "its limitations",  "real-world examples",
    "the key terms", "its future",        "who discovered it", "the underlying math",
};
// clang-format on
// clang-format off
constexpr sv kChatOpeners[] = {
    "", "", "", "hey, ", "hi! ", "quick question: ", "ok so ", "hello, ", "I was wondering, ",
    "sorry if this is basic but ", "help me out here: ", "random thought - ",
};
// clang-format on
// clang-format off
constexpr sv kPeople[] = {"my sister", "my boss", "a friend", "my kid", "my landlord", "a coworker",
                          "my grandmother", "my partner", "a customer", "my neighbour"};
// clang-format on
// clang-format off
constexpr sv kThings[] = {"birthday party", "job interview", "vacation to Portugal", "wedding toast",
                          "garden", "budget spreadsheet", "cover letter", "road trip", "book club",
                          "marathon training", "kitchen renovation", "thesis defense", "dinner menu",
                          "moving day", "team offsite", "cat's diet", "podcast episode"};
// clang-format on
// clang-format off
constexpr sv kAdjectives[] = {"short", "funny", "polite", "detailed", "simple", "formal", "friendly",
                              "creative", "honest", "concise", "warm", "clear"};
// clang-format on
// clang-format off
constexpr sv kWritingKinds[] = {"email", "poem", "message", "toast", "list of ideas", "paragraph",
                                "text", "note", "summary", "plan", "letter", "tweet"};
// clang-format on
// clang-format off
constexpr sv kFoods[] = {"lentils", "chicken thighs", "tofu", "leftover rice", "zucchini", "salmon",
                         "chickpeas", "mushrooms", "eggs", "spinach", "potatoes", "pasta"};
// clang-format on
// clang-format off
constexpr sv kCities[] = {"Lisbon", "Osaka", "Nairobi", "Denver", "Krakow", "Montreal", "Hanoi",
                          "Lima", "Edinburgh", "Seville", "Perth", "Bergen"};
// clang-format on

// Human questions: many shapes, typos and all.
std::string HumanQuestion(Rng& r) {
  std::string s(r.Pick(kChatOpeners));
  switch (r.Int(0, 13)) {
    case 0:
      s += "can you explain " + std::string(r.Pick(kTopics)) + " like I'm five?";
      break;
    case 1:
      s += "what's the deal with " + std::string(r.Pick(kTopics)) + "?";
      break;
    case 2:
      s += "write a " + std::string(r.Pick(kAdjectives)) + " " +
           std::string(r.Pick(kWritingKinds)) + " for " + std::string(r.Pick(kPeople)) +
           " about my " + std::string(r.Pick(kThings));
      break;
    case 3:
      s += "I have " + std::string(r.Pick(kFoods)) + " and " + std::string(r.Pick(kFoods)) +
           ", what can I cook tonight";
      break;
    case 4:
      s += "plan 3 days in " + std::string(r.Pick(kCities)) + " on a budget";
      break;
    case 5:
      s += "how do I tell " + std::string(r.Pick(kPeople)) + " I can't come to the " +
           std::string(r.Pick(kThings)) + " without being rude";
      break;
    case 6:
      s += "is it true that " + std::string(r.Pick(kTopics)) + " has something to do with " +
           std::string(r.Pick(kTopics)) + "??";
      break;
    case 7:
      s += "give me " + std::to_string(r.Int(3, 10)) + " names for a " +
           std::string(r.Pick(kThings));
      break;
    case 8:
      s += "what should I read to understand " + std::string(r.Pick(kTopics)) +
           ", I know a bit about " + std::string(r.Pick(kTopics));
      break;
    case 9:
      s += "translate this into " +
           std::string(r.Pick({"Spanish", "German", "Japanese", "French"})) + ": thanks for the " +
           std::string(r.Pick(kThings)) + ", it meant a lot";
      break;
    case 10:
      s += "pros and cons of " + std::string(r.Pick(kTopics)) + " vs " +
           std::string(r.Pick(kTopics));
      break;
    case 11:
      s += "my " + std::string(r.Pick(kThings)) + " is in " + std::to_string(r.Int(2, 30)) +
           " days and I'm stressed. where do I start";
      break;
    case 12:
      s += "summarize " + std::string(r.Pick(kAspects)) + " of " + std::string(r.Pick(kTopics));
      break;
    default:
      s += "fix the grammar: \"" + std::string(r.Pick(kPeople)) + " dont like when we " +
           std::string(r.Pick({"goes", "was going", "has went"})) + " to the " +
           std::string(r.Pick(kThings)) + "\"";
  }
  return s;
}

constexpr sv kLanguages[] = {"Python", "TypeScript", "Go",   "Rust",  "Java",
                             "C++",    "SQL",        "Bash", "Kotlin"};
// clang-format off
constexpr sv kCodeTasks[] = {
    "Why does this throw", "Refactor this to be more readable", "Add error handling to this",
    "Write unit tests for this", "Make this faster", "Explain what this does", "Convert this to async",
    "Find the bug in this", "Add type hints to this", "Review this for security issues",
};
// clang-format on
// clang-format off
constexpr sv kIdents[] = {"user", "order", "item", "config", "result", "cache", "buffer", "session",
                          "record", "payload", "token", "row", "node", "entry", "count", "total"};
// clang-format on
// clang-format off
constexpr sv kErrors[] = {"KeyError", "NullPointerException", "index out of range", "segfault",
                          "deadlock", "TypeError: undefined is not a function", "borrow of moved value",
                          "connection reset by peer", "off-by-one", "timeout"};
// clang-format on

std::string CodeSnippet(Rng& r) {
  const std::string a(r.Pick(kIdents)), b(r.Pick(kIdents)), c(r.Pick(kIdents));
  std::string s = "```\n";
  const int64_t lines = r.Int(4, 18);
  s += "def process_" + a + "s(" + a + "s, " + b + "=None):\n";
  for (int64_t i = 0; i < lines; ++i) {
    switch (r.Int(0, 5)) {
      case 0:
        s += "    for " + a + " in " + a + "s:\n";
        break;
      case 1:
        s += "        " + c + " = " + a + ".get(\"" + b + "\", " + std::to_string(r.Int(0, 99)) +
             ")\n";
        break;
      case 2:
        s += "    if not " + b + ":\n        return []\n";
        break;
      case 3:
        s += "    " + c + "_map[" + a + ".id] = " + c + "\n";
        break;
      case 4:
        s += "    # TODO: " + std::string(r.Pick(kCodeTasks)) + "\n";
        break;
      default:
        s += "    total += len(" + c + ")\n";
    }
  }
  s += "    return " + c + "_map\n```";
  return s;
}

}  // namespace

std::string Question(Rng& r) {
  const std::string topic(r.Pick(kTopics)), aspect(r.Pick(kAspects));
  switch (r.Int(0, 5)) {
    case 0:
      return "What is " + topic + " and " + std::string(r.Pick({"why", "how"})) +
             " does it matter?";
    case 1:
      return "Describe " + aspect + " of " + topic + ".";
    case 2:
      return "How does " + topic + " relate to " + std::string(r.Pick(kTopics)) + "?";
    case 3:
      return "What are " + aspect + " regarding " + topic + "?";
    case 4:
      return "Compare " + topic + " with " + std::string(r.Pick(kTopics)) + ".";
    default:
      return "Why is " + topic + " important for " + std::string(r.Pick(kTopics)) + "?";
  }
}

std::string ChatPrompt(Rng& r) { return HumanQuestion(r); }

std::string ChatFollowUp(Rng& r) {
  // clang-format off
  constexpr sv kShort[] = {"thanks! can you make it shorter", "hmm not quite, try again",
                           "what about ", "ok and why is that", "can you give an example",
                           "more formal please", "lol perfect", "wait, explain the second part",
                           "and in ", "can you turn that into a list", "that's wrong I think"};
  // clang-format on
  std::string s(r.Pick(kShort));
  if (s.back() == ' ') s += std::string(r.Chance(0.5) ? r.Pick(kTopics) : r.Pick(kCities)) + "?";
  return s;
}

std::string CodingPrompt(Rng& r) {
  std::string s = std::string(r.Pick(kCodeTasks)) + " (" + std::string(r.Pick(kLanguages)) + ")";
  if (r.Chance(0.4)) s += ", I get '" + std::string(r.Pick(kErrors)) + "' sometimes";
  s += ":\n\n" + CodeSnippet(r);
  if (r.Chance(0.3)) s += "\n\nIt is called from the " + std::string(r.Pick(kIdents)) + " handler.";
  return s;
}

// ---- benign templated workloads ----

// clang-format off
constexpr sv kProducts[] = {"headphones", "blender", "running shoes", "phone case", "desk lamp",
                            "coffee maker", "backpack", "keyboard", "tent", "vacuum", "novel",
                            "hotel room", "pizza", "delivery", "app update", "mattress"};
// clang-format on
// clang-format off
constexpr sv kReviewBits[] = {
    "broke after two weeks", "works exactly as described", "arrived late but fine",
    "best purchase this year", "customer service never answered", "a bit overpriced",
    "the color is different from the photos", "my kids love it", "stopped charging",
    "fits perfectly", "smells weird", "battery lasts forever", "not worth the money",
    "would buy again", "instructions were confusing", "quiet and powerful",
};
// clang-format on

std::string ClassificationPrompt(int variant, Rng& r) {
  std::string review =
      "The " + std::string(r.Pick(kProducts)) + " " + std::string(r.Pick(kReviewBits));
  if (r.Chance(0.6)) review += ", " + std::string(r.Pick(kReviewBits));
  if (r.Chance(0.3))
    review += ". " + std::string(r.Pick({"5 stars", "1 star", "meh", "!!!", "Thanks."}));
  switch (variant % 4) {
    case 0:
      return "Classify the sentiment of the following review as positive, negative or neutral. "
             "Answer with one word.\nReview: " +
             review;
    case 1:
      return "Label this support ticket with one category from [billing, shipping, defect, other]. "
             "Reply with the category only.\nTicket: " +
             review;
    case 2:
      return "Is the following text spam? Answer yes or no.\nText: " + review;
    default:
      return "Extract the product mentioned in the text and return it as JSON {\"product\": "
             "...}.\nText: " +
             review;
  }
}

// clang-format off
constexpr sv kCompanies[] = {"Acme Outdoor", "Brightline Bank", "Nimbus Telecom", "Pine & Co Furniture",
                             "Starlit Travel", "Quayside Insurance", "Harbor Grocers", "Orbit Games"};
// clang-format on

std::string SupportSystemPrompt(int variant) {
  const sv company = kCompanies[static_cast<size_t>(variant) % std::size(kCompanies)];
  return "You are the customer support assistant of " + std::string(company) +
         ". Be friendly and brief. Never promise refunds; offer to open a ticket instead. "
         "If the customer is angry, apologise once. Only answer questions about our products and "
         "orders.";
}

std::string SupportMessage(Rng& r) {
  const std::string order = "#" + std::to_string(r.Int(100000, 999999));
  switch (r.Int(0, 9)) {
    case 0:
      return "where is my order " + order + "? it's been " + std::to_string(r.Int(3, 20)) + " days";
    case 1:
      return "I want to cancel my subscription";
    case 2:
      return "the " + std::string(r.Pick(kProducts)) + " I got " +
             std::string(r.Pick(kReviewBits)) + ", what now";
    case 3:
      return "how do I change the email on my account";
    case 4:
      return "were you charged twice? no wait, I was charged twice for " + order;
    case 5:
      return "do you ship to " + std::string(r.Pick(kCities)) + "?";
    case 6:
      return "can I return an item after " + std::to_string(r.Int(15, 60)) + " days";
    case 7:
      return "Hi, my promo code " + r.Hex(6) + " doesn't work";
    case 8:
      return "talk to a human please";
    default:
      return "what are your opening hours on " +
             std::string(r.Pick({"Sunday", "holidays", "Saturday"}));
  }
}

std::string SummarizePrompt(int variant, Rng& r) {
  std::string doc;
  const int64_t sentences = r.Int(8, 30);
  for (int64_t i = 0; i < sentences; ++i) {
    doc += "The " + std::string(r.Pick(kIdents)) + " team reported that " +
           std::string(r.Pick(kTopics)) + " " +
           std::string(
               r.Pick({"improved", "declined", "stayed flat", "was reviewed", "needs budget"})) +
           " in " + std::string(r.Pick({"Q1", "Q2", "Q3", "Q4", "March", "the pilot"})) + ". ";
  }
  if (variant % 2 == 0)
    return "Summarize the following meeting notes in 3 bullet points.\n\n" + doc;
  return "Write a one-paragraph executive summary of this report:\n\"\"\"\n" + doc + "\n\"\"\"";
}

std::string EvalItemPrompt(int variant, Rng& r) {
  const std::string q = Question(r);
  std::string s =
      variant % 2 ? "Question: " + q + "\n" : "Answer the multiple-choice question.\n" + q + "\n";
  for (char c : std::string("ABCD"))
    s += std::string(1, c) + ") " + std::string(r.Pick(kAspects)) + "\n";
  return s + "Answer:";
}

// ---- campaigns ----

std::string HarvestPrompt(Rng& r) {
  // clang-format off
  constexpr sv kLead[] = {"Explain step by step", "Explain in detail, step by step,",
                          "Walk through step by step"};
  // clang-format on
  return std::string(r.Pick(kLead)) + " " + std::string(r.Pick(kAspects)) + " of " +
         std::string(r.Pick(kTopics)) +
         ". Give a thorough, complete answer with examples, and do not skip any step.";
}

std::string ClusterPrompt(int family, Rng& r) {
  const std::string q = Question(r);
  switch (family % 3) {
    case 0:
      return "You are an expert tutor. Provide a comprehensive, well-structured answer to the "
             "following "
             "question, reasoning carefully before the final answer.\n\nQuestion: " +
             q;
    case 1:
      return "You are an expert tutor. Provide a comprehensive and well-structured answer, "
             "reasoning "
             "carefully before you answer.\n\nQuestion: " +
             q + "\n\nAnswer in full.";
    default:
      return "As an expert tutor, give a comprehensive, well-structured answer to the question "
             "below, "
             "reasoning carefully first.\nQuestion: " +
             q;
  }
}

std::string CotPrompt(Rng& r) {
  // clang-format off
  constexpr sv kAsk[] = {
      "Think step by step and show your reasoning.",
      "Show your full reasoning before the answer.",
      "Explain your chain of thought in detail, then give the answer.",
      "Let's think step by step. Write out every intermediate step.",
      "Before answering, write your complete reasoning inside <thinking> tags.",
      "Reason it out loud, step by step, and show all of your work.",
  };
  // clang-format on
  std::string problem;
  if (r.Chance(0.5)) {
    problem = "A train leaves " + std::string(r.Pick(kCities)) + " at " +
              std::to_string(r.Int(40, 160)) + " km/h and another leaves " +
              std::string(r.Pick(kCities)) + " " + std::to_string(r.Int(1, 5)) +
              " hours later at " + std::to_string(r.Int(60, 200)) +
              " km/h. When does the second catch up?";
  } else {
    problem = Question(r);
  }
  return r.Chance(0.5) ? std::string(r.Pick(kAsk)) + "\n" + problem
                       : problem + "\n" + std::string(r.Pick(kAsk));
}

std::string LogprobPrompt(Rng& r) {
  switch (r.Int(0, 2)) {
    case 0:
      return "Continue the text: " + Question(r);
    case 1:
      return "Complete: The most important fact about " + std::string(r.Pick(kTopics)) + " is";
    default:
      return "Q: " + Question(r) + "\nA:";
  }
}

std::string LowSlowSystemPrompt(int family) {
  return family % 2
             ? "You are a meticulous assistant. Always answer completely and explain your "
               "reasoning."
             : "You are a careful, thorough assistant. Answer fully and show how you got there.";
}

std::string LowSlowPrompt(int family, Rng& r) {
  // Shaped like a person's question, but every account fills the same frame.
  const std::string q = HumanQuestion(r);
  return family % 2
             ? "Please answer thoroughly: " + q + "\n(Include the reasoning behind each point.)"
             : "Please answer thoroughly - " + q + "\n(Include the reasoning behind each point.)";
}

}  // namespace tosgate::sim
