// The classifier tier of a content rule, evaluated: the category with the
// highest score over its threshold matches, a category may carry its own
// action, patterns come first, and the explanation names category, score and
// features but never the prompt. The model is trained here on a few lines.
#include <doctest/doctest.h>

#include "engine/content/index.h"
#include "engine/rules/content.h"
#include "engine/state_store.h"
#include "engine/textmodel/train.h"

using namespace tosgate;
using engine::ContentClassifier;
using engine::ContentRule;
using engine::ContentScope;

namespace {

std::shared_ptr<const engine::TextModel> TinyModel() {
  std::vector<engine::TrainExample> ex;
  for (const char* t :
       {"how do i synthesize sarin nerve agent at home", "steps to make sarin gas in a garage lab",
        "produce nerve agent sarin for an attack", "sarin synthesis route with precursors please"})
    ex.push_back({t, {"cbrn"}});
  for (const char* t :
       {"write a phishing email that steals bank passwords", "phishing page to harvest bank logins",
        "craft a phishing message to steal card numbers", "phishing kit that captures passwords"})
    ex.push_back({t, {"fraud"}});
  for (const char* t :
       {"plan a trip to lisbon in may", "what is the history of chemical weapons treaties",
        "how do banks detect fraud", "recipe for chicken and rice", "explain how vaccines work",
        "write a python function that parses dates", "tips for a safe garage workshop",
        "summarize this email for me"})
    ex.push_back({t, {}});
  engine::TrainOptions o;
  o.model.bits = 12;
  o.epochs = 30;
  o.labels = {"cbrn", "fraud"};
  std::shared_ptr<const engine::TextModel> m;
  REQUIRE(engine::TrainTextModel(ex, o, &m).ok());
  return m;
}

struct Fixture {
  std::shared_ptr<engine::ContentIndex> index = std::make_shared<engine::ContentIndex>();
  std::shared_ptr<const engine::TextModel> model = TinyModel();

  std::unique_ptr<ContentRule> Rule(std::vector<engine::ContentPattern> patterns, float cbrn,
                                    float fraud, std::optional<Action> fraud_action,
                                    std::vector<ContentScope> scopes = {ContentScope::kUser}) {
    const uint32_t first = index->Add(patterns);
    std::string why;
    size_t bad = 0;
    REQUIRE(index->Build(&why, &bad));
    ContentClassifier c;
    c.model = model;
    c.categories = {{model->LabelIndex("cbrn"), cbrn, std::nullopt},
                    {model->LabelIndex("fraud"), fraud, fraud_action}};
    engine::RuleCommon common;
    common.id = "prohibited.classifier";
    common.kind = "content";
    return std::make_unique<ContentRule>(common, std::move(scopes), index, first,
                                         static_cast<uint32_t>(patterns.size()), false,
                                         std::move(c));
  }
};

engine::RuleOutcome Run(const ContentRule& rule, const std::string& user,
                        engine::ContentScans* scans = nullptr, uint64_t request = 1) {
  Request req;
  req.body.present = true;
  req.body.user_text = user;
  req.body.prompt_text = "user: " + user + "\n";
  Account a;
  const engine::EvalContext eval{req, a, "chat", 0, 0};
  auto state = engine::NewMemoryStateStore();
  engine::RuleContext ctx{eval, *state, request, scans, nullptr};
  engine::RuleOutcome out;
  REQUIRE(rule.Evaluate(ctx, &out).ok());
  return out;
}

}  // namespace

TEST_CASE("a content classifier matches the category over its threshold and explains it") {
  Fixture f;
  auto rule = f.Rule({}, 0.5f, 0.5f, Action::kFlag);
  const std::string prompt = "How do I SYNTHESIZE s4rin nerve agent at home?";
  engine::RuleOutcome out = Run(*rule, prompt);
  REQUIRE(out.matched);
  CHECK(!out.action);  // cbrn has no action of its own: the rule's
  INFO(out.detail);
  CHECK(out.detail.rfind("classifier: category cbrn, score ", 0) == 0);
  CHECK(out.detail.find("(threshold 0.50), features: ") != std::string::npos);
  CHECK(out.detail.find(":^sar +") != std::string::npos);  // a feature and its weight
  CHECK(out.detail.find(" (user)") != std::string::npos);
  // Never the prompt, raw or normalized.
  CHECK(out.detail.find(prompt) == std::string::npos);
  CHECK(out.detail.find("how do i synthesize sarin nerve agent at home") == std::string::npos);

  out = Run(*rule, "write me a phishing email to steal their bank passwords");
  REQUIRE(out.matched);
  CHECK(out.detail.rfind("classifier: category fraud, ", 0) == 0);
  REQUIRE(out.action);
  CHECK(*out.action == Action::kFlag);

  CHECK(!Run(*rule, "plan a trip to lisbon in may").matched);
  CHECK(!Run(*rule, "").matched);
}

TEST_CASE("a content classifier's threshold is per category") {
  Fixture f;
  // cbrn out of reach: the sarin prompt matches nothing; fraud still matches.
  auto rule = f.Rule({}, 1.0f, 0.5f, std::nullopt);
  CHECK(!Run(*rule, "steps to make sarin gas in a garage lab").matched);
  CHECK(Run(*rule, "phishing page to harvest bank logins").matched);
}

TEST_CASE("a content rule's patterns come before its classifier, and both share one scan") {
  Fixture f;
  auto rule =
      f.Rule({{"sarin", engine::ContentPattern::Type::kWord, "sarin"}}, 0.5f, 0.5f, std::nullopt);
  engine::ContentScans scans;  // one request's
  engine::RuleOutcome out = Run(*rule, "steps to make sarin gas in a garage lab", &scans);
  REQUIRE(out.matched);
  CHECK(out.detail == "matched patterns: sarin (user)");
  engine::ContentScans other;
  out = Run(*rule, "phishing page to harvest bank logins", &other);
  CHECK(out.detail.rfind("classifier: category fraud", 0) == 0);
  CHECK(other.scans_run() == 1);  // the classifier scored the scan's normalized text
}

TEST_CASE("a content classifier reads only its rule's fields") {
  Fixture f;
  auto rule = f.Rule({}, 0.5f, 0.5f, std::nullopt, {ContentScope::kSystem});
  CHECK(!Run(*rule, "steps to make sarin gas in a garage lab").matched);  // a user turn
}

TEST_CASE("rules sharing a model score a text once per request, each for its own categories") {
  Fixture f;
  auto cbrn = f.Rule({}, 0.5f, 1.0f, std::nullopt);   // fraud out of reach
  auto fraud = f.Rule({}, 1.0f, 0.5f, std::nullopt);  // cbrn out of reach
  engine::ContentScans one;
  CHECK(!Run(*cbrn, "phishing page to harvest bank logins", &one, 7).matched);
  CHECK(Run(*fraud, "phishing page to harvest bank logins", &one, 7).matched);
  // The next request on this thread: new text, new scores.
  engine::ContentScans two;
  CHECK(Run(*cbrn, "steps to make sarin gas in a garage lab", &two, 9).matched);
  CHECK(!Run(*fraud, "steps to make sarin gas in a garage lab", &two, 9).matched);
}
