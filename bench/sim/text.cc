// Benign text and the slot machinery; campaigns' text is in harvest_text.cc.
// Each generator has a train and an eval list of templates; the lists share
// no wording (see text.h).
#include "bench/sim/text.h"

#include <cctype>
#include <iterator>

#include "bench/sim/bank.h"

namespace tosgate::sim {
namespace {

using sv = std::string_view;

// clang-format off
// Topics: the train bank draws from the first list, the eval bank from the second.
constexpr sv kTopicsTrain[] = {
    "photosynthesis", "compound interest", "sourdough bread", "supply and demand",
    "quantum entanglement", "neural networks", "climate feedback loops", "vaccines",
    "public key cryptography", "the Silk Road", "CRISPR", "volcanoes", "the Byzantine empire",
    "coral reefs", "probability", "the human heart", "medieval castles", "renewable energy",
    "hash tables", "antibiotics", "fermentation", "the Industrial Revolution", "tides",
    "semiconductors", "origami", "urban planning", "typography", "the Great Depression",
    "operating systems", "photography exposure", "opera", "tax brackets", "bird migration",
    "monetary policy", "the Krebs cycle", "database indexing", "Gothic architecture",
};
constexpr sv kTopicsEval[] = {
    "the French revolution", "black holes", "the immune system", "plate tectonics",
    "the Roman republic", "jazz harmony", "the printing press", "inflation", "the water cycle",
    "game theory", "the stock market", "sleep cycles", "electric motors", "the Cold War",
    "container shipping", "relativity", "beekeeping", "the Renaissance", "ocean currents",
    "the electoral college", "glaciers", "machine translation", "the Ottoman empire",
    "the placebo effect", "the Apollo program", "wine making", "earthquakes", "chess openings",
    "the Maya calendar", "bacteria", "garbage collection", "soil erosion", "the Meiji restoration",
    "lithium batteries", "impressionist painting", "the gut microbiome", "carbon pricing",
};
constexpr sv kAspectsTrain[] = {"its history", "how it works", "why it matters", "the main debates",
                                "common myths", "recent research"};
constexpr sv kAspectsEval[] = {"its limitations", "real-world examples", "the key terms",
                               "its future", "who discovered it", "the underlying math"};
constexpr sv kOpenTrain[] = {"", "", "", "hey, ", "quick question: ", "ok so ", "I was wondering, ",
                             "sorry if this is basic but "};
constexpr sv kOpenEval[] = {"", "", "", "hi! ", "hello, ", "help me out here: ", "random thought - ",
                            "question for you: "};
constexpr sv kPeople[] = {"my sister", "my boss", "a friend", "my kid", "my landlord", "a coworker",
                          "my grandmother", "my partner", "a customer", "my neighbour"};
constexpr sv kThings[] = {"birthday party", "job interview", "vacation to Portugal", "wedding toast",
                          "garden", "budget spreadsheet", "cover letter", "road trip", "book club",
                          "marathon training", "kitchen renovation", "thesis defense", "dinner menu",
                          "moving day", "team offsite", "cat's diet", "podcast episode"};
constexpr sv kAdjectives[] = {"short", "funny", "polite", "detailed", "simple", "formal", "friendly",
                              "creative", "honest", "concise", "warm", "clear"};
constexpr sv kWritingKinds[] = {"email", "poem", "message", "toast", "list of ideas", "paragraph",
                                "text", "note", "summary", "plan", "letter", "tweet"};
constexpr sv kFoods[] = {"lentils", "chicken thighs", "tofu", "leftover rice", "zucchini", "salmon",
                         "chickpeas", "mushrooms", "eggs", "spinach", "potatoes", "pasta"};
constexpr sv kCities[] = {"Lisbon", "Osaka", "Nairobi", "Denver", "Krakow", "Montreal", "Hanoi",
                          "Lima", "Edinburgh", "Seville", "Perth", "Bergen"};
constexpr sv kLanguages[] = {"Python", "TypeScript", "Go", "Rust", "Java", "C++", "SQL", "Bash",
                             "Kotlin"};
constexpr sv kProducts[] = {"headphones", "blender", "running shoes", "phone case", "desk lamp",
                            "coffee maker", "backpack", "keyboard", "tent", "vacuum", "novel",
                            "hotel room", "pizza", "delivery", "app update", "mattress"};
constexpr sv kReviewBits[] = {
    "broke after two weeks", "works exactly as described", "arrived late but fine",
    "best purchase this year", "customer service never answered", "a bit overpriced",
    "the color is different from the photos", "my kids love it", "stopped charging",
    "fits perfectly", "smells weird", "battery lasts forever", "not worth the money",
    "would buy again", "instructions were confusing", "quiet and powerful"};
constexpr sv kIdents[] = {"user", "order", "item", "config", "result", "cache", "buffer", "session",
                          "record", "payload", "token", "row", "node", "entry", "count", "total"};
constexpr sv kAnswers[] = {"42", "x = 3", "about 2.4 hours", "No", "17/64", "O(n log n)", "B",
                           "the second one", "12 km", "Yes, under the 1978 statute", "0.35",
                           "It converges", "$1,284.50", "mitochondria", "3:40 pm"};

// A person's questions: many shapes, typos and all.
constexpr sv kChatTrain[] = {
    "{open}can you explain {topic} like I'm five?",
    "{open}what's the deal with {topic}?",
    "{open}write a {adj} {kind} for {person} about my {thing}",
    "{open}I have {food} and {food}, what can I cook tonight",
    "{open}plan 3 days in {city} on a budget",
    "{open}how do I tell {person} I can't come to the {thing} without being rude",
    "{open}is it true that {topic} has something to do with {topic2}??",
    "{open}give me {n} names for a {thing}",
    "{open}what should I read to understand {topic}, I know a bit about {topic2}",
    "{open}translate this into Spanish: thanks for the {thing}, it meant a lot",
    "{open}pros and cons of {topic} vs {topic2}",
    "{open}my {thing} is in {n} days and I'm stressed. where do I start",
    "{open}summarize {aspect} of {topic}",
    "{open}fix the grammar: \"{person} dont like when we goes to the {thing}\"",
    "{open}hola, me puedes recomendar un libro sobre {topic}?",
    "{open}can you tighten this paragraph for me: {passage}",
    "{open}rewrite my {kind} so it sounds more {adj}:\n{passage}",
    "{open}what's a good gift for {person} who likes {topic}",
    "{open}is {n} hours of sleep enough if I nap in the afternoon",
    "{open}my {code} script prints nothing, no error. what do I check first",
    "{open}how long do I boil {food}",
    "{open}write a limerick about {topic}",
    "{open}what time is it in {city} right now, roughly, is it too late to call",
    "{open}recommend a podcast about {topic}",
    "{open}how do i split rent fairly with {person} when the rooms are different sizes",
    "{open}what does 'amortization' mean in plain words",
    "{open}I need {n} icebreaker questions for a {thing}",
    "{open}convert {num} fahrenheit to celsius",
    "{open}explain the rules of cricket quickly",
    "{open}my {thing} budget is {num} dollars, is that realistic",
    "{open}was {topic} a big deal historically or is it overhyped",
    "{open}cual es la mejor epoca para visitar {city}?",
    "{open}so {person} keeps asking me about {topic} and I honestly don't know what to say. {passage} any advice?",
    "{open}wie funktioniert {topic} eigentlich? kurz bitte",
};
constexpr sv kChatEval[] = {
    "{open}ELI5 {topic} please",
    "{open}I keep hearing about {topic} at work and nodding along. what is it actually",
    "{open}draft a {adj} {kind} to {person} - it's about the {thing}",
    "{open}dinner ideas? fridge has {food}, {food} and not much else",
    "{open}{n} day itinerary for {city}, we like food and walking, not museums",
    "{open}need a nice way to say no to {person} about the {thing}",
    "{open}does {topic} actually connect to {topic2} or is that a myth",
    "{open}brainstorm {n} titles for my {thing} thing",
    "{open}best intro book on {topic} for someone who already gets {topic2}?",
    "{open}how would I say 'see you at the {thing}' in Japanese, casual",
    "{open}{topic} or {topic2} - which should I learn about first",
    "{open}ok {thing} in {n} days. panic. checklist?",
    "{open}tl;dr of {topic}, {aspect} mostly",
    "{open}proofread: \"me and {person} was planning the {thing} but it got cancel\"",
    "{open}salut, tu peux m'expliquer {topic} simplement ?",
    "{open}qual a diferenca entre {topic} e {topic2}?",
    "{open}does this read ok? be honest\n\n{passage}",
    "{open}make this {kind} less awkward, keep my voice\n---\n{passage}",
    "{open}gift ideas for {person}, budget {num}, they're into {topic}",
    "{open}can you nap instead of sleeping a full night? asking for a friend",
    "{open}{code} loop never ends, what am I missing",
    "{open}oven temp for {food}?",
    "{open}a haiku about {topic} please",
    "{open}is it rude to call someone in {city} at 9pm their time",
    "{open}any good documentaries on {topic}",
    "{open}{person} and I share a car. fair way to split the costs?",
    "{open}what's the difference between APR and APY, simply",
    "{open}fun team games for a {thing}, {n} people",
    "{open}{num} km in miles?",
    "{open}how does scoring work in tennis, I always get lost",
    "{open}is {num} euros enough for a {thing}",
    "{open}why do people say {topic} changed everything",
    "{open}wann ist die beste Reisezeit fuer {city}?",
    "{open}long story short: {passage}\n\nwhat would you do in my place?",
};
constexpr sv kFollowTrain[] = {"thanks! can you make it shorter", "hmm not quite, try again",
                               "what about {topic}?", "ok and why is that", "can you give an example",
                               "more formal please", "lol perfect", "wait, explain the second part",
                               "and in {city}?", "can you turn that into a list", "that's wrong I think"};
constexpr sv kFollowEval[] = {"shorter pls", "nope, different angle", "how does {topic} fit in?",
                              "source?", "example?", "make it sound less like a robot", "great, thx",
                              "I don't get point 2", "same but for {city}", "bullet points please",
                              "are you sure? I read otherwise"};
constexpr sv kCodeTasksTrain[] = {
    "Why does this throw", "Refactor this to be more readable", "Add error handling to this",
    "Write unit tests for this", "Make this faster", "Explain what this does"};
constexpr sv kCodeTasksEval[] = {
    "Convert this to async", "Find the bug in this", "Add type hints to this",
    "Review this for security issues", "Port this to {code}", "Why is this so slow on big inputs"};
constexpr sv kErrors[] = {"KeyError", "NullPointerException", "index out of range", "segfault",
                          "deadlock", "TypeError: undefined is not a function", "borrow of moved value",
                          "connection reset by peer", "off-by-one", "timeout"};
// clang-format on

std::string CodeSnippet(Gen& g) {
  Rng& r = g.r;
  const std::string a(r.Pick(kIdents)), b(r.Pick(kIdents)), c(r.Pick(kIdents));
  const bool py = g.bank == Bank::kTrain;  // the eval bank's code is JavaScript
  std::string s = "```\n";
  s += py ? "def process_" + a + "s(" + a + "s, " + b + "=None):\n"
          : "function load" + a + "s(" + a + "s, " + b + " = null) {\n";
  for (int64_t i = 0, lines = r.Int(4, 18); i < lines; ++i) {
    switch (r.Int(0, 4)) {
      case 0:
        s += py ? "    for " + a + " in " + a + "s:\n" : "  for (const " + a + " of " + a + "s) {\n";
        break;
      case 1:
        s += "    " + c + " = " + a + ".get(\"" + b + "\", " + std::to_string(r.Int(0, 99)) +
             (py ? ")\n" : ");\n");
        break;
      case 2:
        s += py ? "    if not " + b + ":\n        return []\n" : "  if (!" + b + ") return [];\n";
        break;
      case 3:
        s += "    " + c + "Map[" + a + ".id] = " + c + (py ? "\n" : ";\n");
        break;
      default:
        s += py ? "    total += len(" + c + ")\n" : "  total += " + c + ".length;\n";
    }
  }
  return s + (py ? "    return " + c + "_map\n```" : "  return " + c + "Map;\n}\n```");
}

}  // namespace

std::string_view BankName(Bank b) { return b == Bank::kTrain ? "train" : "eval"; }
bool BankByName(std::string_view name, Bank* out) {
  if (name != "train" && name != "eval") return false;
  *out = name == "train" ? Bank::kTrain : Bank::kEval;
  return true;
}

std::string Fill(Gen& g, sv tmpl) {
  Rng& r = g.r;
  const bool t = g.bank == Bank::kTrain;
  auto topic = [&] { return std::string(t ? r.Pick(kTopicsTrain) : r.Pick(kTopicsEval)); };
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    const size_t close = tmpl[i] == '{' ? tmpl.find('}', i) : sv::npos;
    if (close == sv::npos) {
      out += tmpl[i++];
      continue;
    }
    const sv slot = tmpl.substr(i + 1, close - i - 1);
    i = close + 1;
    if (slot == "topic" || slot == "topic2") out += topic();
    else if (slot == "aspect") out += t ? r.Pick(kAspectsTrain) : r.Pick(kAspectsEval);
    else if (slot == "open") out += t ? r.Pick(kOpenTrain) : r.Pick(kOpenEval);
    else if (slot == "person") out += r.Pick(kPeople);
    else if (slot == "thing") out += r.Pick(kThings);
    else if (slot == "adj") out += r.Pick(kAdjectives);
    else if (slot == "kind") out += r.Pick(kWritingKinds);
    else if (slot == "food") out += r.Pick(kFoods);
    else if (slot == "city") out += r.Pick(kCities);
    else if (slot == "n") out += std::to_string(r.Int(2, 12));
    else if (slot == "num") out += std::to_string(r.Int(13, 999));
    else if (slot == "order") out += "#" + std::to_string(r.Int(100000, 999999));
    else if (slot == "hex") out += r.Hex(6);
    else if (slot == "resp") out += CandidateAnswer(g);
    else if (slot == "code") out += r.Pick(kLanguages);
    else if (slot == "product") out += r.Pick(kProducts);
    else if (slot == "review") out += r.Pick(kReviewBits);
    else if (slot == "ans") out += r.Pick(kAnswers);
    else if (slot == "q") out += Question(g);
    else if (slot == "hq") out += HardQuestion(g);
    else if (slot == "passage") out += Passage(g, r.Int(2, 7));
    else if (slot == "snippet") out += CodeSnippet(g);
    else if (slot == "longpassage") out += Passage(g, r.Int(8, 20));
    else out += "{" + std::string(slot) + "}";
  }
  return out;
}

std::string Passage(Gen& g, int64_t sentences) {
  // clang-format off
  constexpr sv kTrain[] = {
      "In {n}0 years {topic} went from a curiosity to something {person} deals with daily.",
      "Most accounts of {topic} skip {aspect}, which is where the interesting part is.",
      "We tried it during the {thing} and it went about as well as you'd expect.",
      "The numbers were {num} in the first quarter and roughly half that by summer.",
      "Critics say {topic} is overrated; supporters point to {topic2}.",
      "Nobody at the {thing} had heard of it, which surprised me."};
  constexpr sv kEval[] = {
      "By the time {person} noticed, {topic} had already changed how the {thing} worked.",
      "There is a long-running argument about {aspect} of {topic}.",
      "The report counted {num} cases, up from {n} the year before.",
      "It rained for most of the {thing}, so plans moved indoors.",
      "{topic2} gets the headlines, but {topic} does most of the work.",
      "Looking back, the turning point was a small decision about the {thing}."};
  // clang-format on
  std::string out;
  for (int64_t i = 0; i < sentences; ++i) {
    out += (i == 0 ? "" : g.r.Chance(0.2) ? "\n\n" : " ");
    out += Fill(g, PickTemplate(g, nullptr, kTrain, kEval));
  }
  return out;
}

std::string Roughen(Gen& g, std::string s) {
  Rng& r = g.r;
  if (r.Chance(0.15))
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int64_t k = r.Chance(0.2) ? r.Int(1, 3) : 0; k > 0 && s.size() > 8; --k) {
    const size_t i = static_cast<size_t>(r.Int(1, static_cast<int64_t>(s.size()) - 3));
    if (std::isalpha(static_cast<unsigned char>(s[i])) &&
        std::isalpha(static_cast<unsigned char>(s[i + 1])))
      std::swap(s[i], s[i + 1]);
  }
  if (r.Chance(0.15) && !s.empty() && (s.back() == '.' || s.back() == '?')) s.pop_back();
  return s;
}

std::string Question(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {"What is {topic} and why does it matter?", "Describe {aspect} of {topic}.",
                           "How does {topic} relate to {topic2}?", "What are {aspect} regarding {topic}?"};
  constexpr sv kEval[] = {"Compare {topic} with {topic2}.", "Why is {topic} important for {topic2}?",
                          "In what ways did {topic} shape {topic2}?", "Give an overview of {topic}: {aspect}."};
  // clang-format on
  return Fill(g, PickTemplate(g, nullptr, kTrain, kEval));
}

// Everyday requests put together from parts, for wording no template list
// has: household, errands, things that broke.
std::string FreeChat(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {"how do I {verb} {obj}", "can you help me {verb} {obj}",
                           "what's the best way to {verb} {obj}", "any tips to {verb} {obj}",
                           "I want to {verb} {obj}, where do I start", "is it normal that my {noun} {symptom}",
                           "why does my {noun} {symptom}"};
  constexpr sv kEval[] = {"best method to {verb} {obj}?", "struggling to {verb} {obj}. advice?",
                          "quickest way to {verb} {obj}", "{obj} - how would you {verb} it",
                          "my {noun} {symptom}, worth worrying about?", "{noun} {symptom} since yesterday, what could cause that",
                          "need to {verb} {obj} today"};
  constexpr sv kVerbT[] = {"clean", "fix", "organize", "paint", "sell", "store", "repair", "set up", "learn", "improve", "pack", "choose"};
  constexpr sv kVerbE[] = {"descale", "patch", "declutter", "insulate", "mount", "ship", "waterproof", "upgrade", "calibrate", "label", "wash", "donate"};
  constexpr sv kObjT[] = {"a cast iron pan", "my bike chain", "a small balcony garden", "old photos", "a used car", "my resume",
                          "a home network", "a sourdough starter", "a standing desk", "winter clothes", "a fish tank", "my sleep schedule"};
  constexpr sv kObjE[] = {"a kettle", "a leaky tap", "the garage", "a drafty window", "a TV on drywall", "a fragile vase",
                          "hiking boots", "my laptop's RAM", "a 3D printer", "spice jars", "a wool sweater", "old furniture"};
  constexpr sv kNounT[] = {"fridge", "laptop", "car", "washing machine", "router", "basil plant"};
  constexpr sv kNounE[] = {"dishwasher", "phone", "scooter", "boiler", "monitor", "printer"};
  constexpr sv kSymptomT[] = {"makes a clicking noise", "smells like burning", "keeps restarting", "turns yellow", "won't start in the cold", "leaks a little"};
  constexpr sv kSymptomE[] = {"beeps every few minutes", "runs hot", "drains the battery overnight", "has white spots", "rattles at speed", "flickers"};
  constexpr sv kTailT[] = {"", "", " - I'm a beginner", " on a tight budget", ", no car", " this weekend", " without special tools", " in a rented flat"};
  constexpr sv kTailE[] = {"", "", " (first time doing this)", " with basically no money", " while living in a dorm", " before guests arrive", " with two cats around", " in winter"};
  constexpr sv kCloseT[] = {"", "", " thanks", " pls", " :)", " any ideas?", " asap"};
  constexpr sv kCloseE[] = {"", "", " cheers", " thx!!", " :/", " help", " lol"};
  // clang-format on
  const bool t = g.bank == Bank::kTrain;
  Rng& r = g.r;
  const sv tmpl = PickTemplate(g, "free", kTrain, kEval);
  std::string s;
  for (size_t i = 0; i < tmpl.size();) {
    const size_t close = tmpl[i] == '{' ? tmpl.find('}', i) : sv::npos;
    if (close == sv::npos) {
      s += tmpl[i++];
      continue;
    }
    const sv slot = tmpl.substr(i + 1, close - i - 1);
    i = close + 1;
    if (slot == "verb") s += t ? r.Pick(kVerbT) : r.Pick(kVerbE);
    else if (slot == "obj") s += t ? r.Pick(kObjT) : r.Pick(kObjE);
    else if (slot == "noun") s += t ? r.Pick(kNounT) : r.Pick(kNounE);
    else s += t ? r.Pick(kSymptomT) : r.Pick(kSymptomE);
  }
  s += t ? r.Pick(kTailT) : r.Pick(kTailE);
  s += t ? r.Pick(kCloseT) : r.Pick(kCloseE);
  return Fill(g, "{open}") + s;
}

std::string ChatPrompt(Gen& g) {
  if (g.r.Chance(0.35)) return Roughen(g, FreeChat(g));
  return Roughen(g, Fill(g, PickTemplate(g, "chat", kChatTrain, kChatEval)));
}

std::string ChatFollowUp(Gen& g) {
  return Fill(g, PickTemplate(g, nullptr, kFollowTrain, kFollowEval));
}

std::string CodingSystemPrompt(Gen& g, int variant) {
  constexpr sv kTrain[] = {"You are an expert software engineer helping inside an IDE.",
                           "You are a coding assistant. Prefer minimal diffs and explain briefly."};
  constexpr sv kEval[] = {"You pair-program with the user. Keep answers focused on the code shown.",
                          "Act as a senior reviewer. Point out problems first, then suggest fixes."};
  const size_t i = static_cast<size_t>(variant) % 2;
  return std::string(g.bank == Bank::kTrain ? kTrain[i] : kEval[i]);
}

std::string CodingPrompt(Gen& g) {
  Rng& r = g.r;
  std::string s = Fill(g, PickTemplate(g, "code", kCodeTasksTrain, kCodeTasksEval)) + " (" +
                  std::string(r.Pick(kLanguages)) + ")";
  if (r.Chance(0.4)) s += ", I get '" + std::string(r.Pick(kErrors)) + "' sometimes";
  s += ":\n\n" + CodeSnippet(g);
  if (r.Chance(0.3)) s += "\n\nIt is called from the " + std::string(r.Pick(kIdents)) + " handler.";
  return s;
}

// ---- benign templated workloads ----

std::string ClassificationPrompt(Gen& g, int variant) {
  Rng& r = g.r;
  std::string review = "The " + std::string(r.Pick(kProducts)) + " " + std::string(r.Pick(kReviewBits));
  if (r.Chance(0.6)) review += ", " + std::string(r.Pick(kReviewBits));
  if (r.Chance(0.3)) review += ". " + std::string(r.Pick({"5 stars", "1 star", "meh", "!!!", "Thanks."}));
  // clang-format off
  constexpr sv kTrain[] = {
      "Classify the sentiment of the following review as positive, negative or neutral. Answer with one word.\nReview: ",
      "Label this support ticket with one category from [billing, shipping, defect, other]. Reply with the category only.\nTicket: ",
      "Is the following text spam? Answer yes or no.\nText: ",
      "Extract the product mentioned in the text and return it as JSON {\"product\": ...}.\nText: "};
  constexpr sv kEval[] = {
      "Sentiment (pos/neg/neutral), one token, no explanation:\n",
      "Route this message to a queue. Queues: refunds, logistics, quality, misc. Output the queue name.\n---\n",
      "Spam filter. Output 1 for spam, 0 otherwise.\nInput: ",
      "Return {\"item\": <product>, \"mood\": <happy|unhappy>} for this review, JSON only.\n"};
  // clang-format on
  const size_t i = static_cast<size_t>(variant) % 4;
  g.tmpl = std::string("classify-") + (g.bank == Bank::kTrain ? "t" : "e") + std::to_string(i);
  return std::string(g.bank == Bank::kTrain ? kTrain[i] : kEval[i]) + review;
}

constexpr sv kCompanies[] = {"Acme Outdoor",   "Brightline Bank",    "Nimbus Telecom",
                             "Pine & Co Furniture", "Starlit Travel", "Quayside Insurance",
                             "Harbor Grocers", "Orbit Games"};

std::string SupportSystemPrompt(Gen& g, int variant) {
  const std::string company(kCompanies[static_cast<size_t>(variant) % std::size(kCompanies)]);
  if (g.bank == Bank::kTrain)
    return "You are the customer support assistant of " + company +
           ". Be friendly and brief. Never promise refunds; offer to open a ticket instead. If the "
           "customer is angry, apologise once. Only answer questions about our products and orders.";
  return company + " help desk bot. Rules: short replies, no legal or medical advice, escalate "
         "billing disputes to a human agent, do not discuss competitors, sign off with the "
         "ticket number if one exists.";
}

std::string SupportMessage(Gen& g) {
  // clang-format off
  constexpr sv kTrain[] = {"where is my order {order}? it's been {n} days", "I want to cancel my subscription",
                           "the {product} I got {review}, what now", "how do I change the email on my account",
                           "were you charged twice? no wait, I was charged twice for {order}",
                           "do you ship to {city}?", "can I return an item after {num} days",
                           "Hi, my promo code {hex} doesn't work", "talk to a human please",
                           "what are your opening hours on Saturday", "my {product} from order {order} {review}"};
  constexpr sv kEval[] = {"order {order} still says processing??", "how do i stop the monthly plan",
                          "got the {product} and it {review}. refund?", "forgot my password and the reset mail never comes",
                          "there are two charges on my card from you, ref {hex}", "delivery to {city} possible?",
                          "what's the return window for {order}", "AGENT", "opening hours on sunday?",
                          "coupon {hex} says expired but it's valid till {n}/{n}", "{product} arrived damaged, box was crushed"};
  // clang-format on
  return Roughen(g, Fill(g, PickTemplate(g, nullptr, kTrain, kEval)));
}

std::string SummarizePrompt(Gen& g, int variant) {
  Rng& r = g.r;
  std::string doc;
  for (int64_t i = 0, n = r.Int(4, 22); i < n; ++i)
    doc += "The " + std::string(r.Pick(kIdents)) + " team reported that " +
           Fill(g, "{topic}") + " " +
           std::string(r.Pick({"improved", "declined", "stayed flat", "was reviewed", "needs budget"})) +
           " in " + std::string(r.Pick({"Q1", "Q2", "Q3", "Q4", "March", "the pilot"})) + ". ";
  // clang-format off
  constexpr sv kTrain[] = {"Summarize the following meeting notes in 3 bullet points.\n\n",
                           "Write a one-paragraph executive summary of this report:\n\"\"\"\n"};
  constexpr sv kEval[] = {"Condense these notes into action items with owners:\n\n",
                          "TL;DR for leadership, max 60 words. Source text follows.\n###\n"};
  // clang-format on
  const size_t i = static_cast<size_t>(variant) % 2;
  g.tmpl = std::string("summarize-") + (g.bank == Bank::kTrain ? "t" : "e") + std::to_string(i);
  return std::string(g.bank == Bank::kTrain ? kTrain[i] : kEval[i]) + doc;
}

std::string EvalItemPrompt(Gen& g, int variant) {
  // The train bank's corpus: most items composed from parts (composed_benign.cc).
  if (g.compose && g.r.Chance(0.7)) return ComposedEvalItem(g);
  const bool t = g.bank == Bank::kTrain;
  std::string s = variant % 2 ? (t ? "Question: " : "Item: ") + Question(g) + "\n"
                              : (t ? "Answer the multiple-choice question.\n"
                                   : "Pick the best option.\n") + Question(g) + "\n";
  for (char c : std::string("ABCD")) s += std::string(1, c) + ") " + Fill(g, "{aspect}") + "\n";
  g.tmpl = std::string("mcq-") + (t ? "t" : "e") + std::to_string(variant % 2);
  return s + (t ? "Answer:" : "Best option:");
}

}  // namespace tosgate::sim
