// competitor_training in the policy language: what compiles, and every
// mistake reported at its file:line:column.
#include <doctest/doctest.h>

#include "engine/rules/competitor_training.h"
#include "test_support.h"

using namespace tosgate;
using test::AllErrors;
using test::HasError;
using test::kHead;
using test::LoadOne;

namespace {

// The rule starts on line 5 ("rules:" is line 4); the keys given here from line 7.
std::string Rule(const std::string& body) {
  return kHead + "rules:\n  - id: distill\n    kind: competitor_training\n" + body;
}

const engine::CompetitorTrainingRule* Compiled(const policies::LoadResult& r) {
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->rules.size() == 1);
  return dynamic_cast<const engine::CompetitorTrainingRule*>(r.snapshot->rules[0].get());
}

}  // namespace

TEST_CASE(
    "a competitor_training rule compiles with its weights, window, thresholds and exemptions") {
  const auto r =
      LoadOne(Rule("    signals: {template_rate: 0.5, cluster: 0.2}\n"
                   "    window: {requests: 16, min_requests: 8}\n"
                   "    template: {max_distance: 10, max_bytes: 2048, shingle_words: 4}\n"
                   "    cot_phrases: [reason aloud]\n"
                   "    cluster: {min_accounts: 20, full_accounts: 200, by: [payment, ip/16]}\n"
                   "    thresholds: {flag: 0.4, watermark: 0.5, throttle: 0.8}\n"
                   "    throttle: {requests: 5, per: 1m}\n"
                   "    exempt: {accounts: [acct_research_1], flags: [research-partner]}\n"
                   "    exempt_accounts: [acct_2]\n"
                   "    sequential: {reference: 0.3, threshold: 40}\n"
                   "    linkage: {min_accounts: 4, full_accounts: 10, floor: 0.2, by: [tools]}\n"
                   "    shape: {default_max_output: 8192}\n"
                   "    analyzer: {half_life: 30m}\n"));
  const auto* rule = Compiled(r);
  REQUIRE(rule);
  const engine::DistillConfig& c = rule->config();
  CHECK(c.params.weights[0] == 0.5);
  CHECK(c.params.weights[7] == 0.2);
  CHECK(c.params.weights[1] == engine::DistillParams{}.weights[1]);  // default kept
  CHECK(c.params.window == 16);
  CHECK(c.params.min_requests == 8);
  CHECK(c.params.max_distance == 10);
  CHECK(c.params.shingle_words == 4);
  CHECK(c.params.cluster_min == 20);
  CHECK(c.cluster_payment);
  CHECK_FALSE(c.cluster_templates);
  CHECK(c.ip_range.v4_bits == 16);
  CHECK(c.thresholds[0] == 0.4);
  CHECK(c.thresholds[2] < 0);  // review not used
  CHECK(c.throttle.amount == 5);
  CHECK(c.exempt_accounts == std::vector<std::string>{"acct_research_1", "acct_2"});
  CHECK(c.exempt_flags == std::vector<std::string>{"research-partner"});
  CHECK(c.lexicon_count > 20);  // the built-in lexicon and the phrase added
  CHECK(rule->common().reason == "competitor-training");
  CHECK(c.params.sequential_reference == 0.3);
  CHECK(c.params.sequential_threshold == 40);
  CHECK(c.params.link_min == 4);
  CHECK(c.params.link_full == 10);
  CHECK(c.params.link_floor == 0.2);
  CHECK(c.params.link_tools);
  CHECK_FALSE(c.params.link_instructions);
  CHECK(c.params.default_max_output == 8192);
  CHECK(c.params.analyzer_half_life_s == 1800);
  CHECK_FALSE(c.model);
}

TEST_CASE("linkage.by: pooled_instructions turns on pooled-instruction buckets alone") {
  const auto r = LoadOne(Rule("    linkage: {by: [pooled_instructions]}\n"
                              "    thresholds: {flag: 0.5}\n"));
  const auto* rule = Compiled(r);
  REQUIRE(rule);
  const engine::DistillParams& p = rule->config().params;
  CHECK(p.link_pooled);
  CHECK_FALSE(p.link_instructions);
  CHECK_FALSE(p.link_tools);
  // Not named: the default links, without pooling.
  const auto d = LoadOne(Rule("    thresholds: {flag: 0.5}\n"));
  REQUIRE(Compiled(d));
  CHECK_FALSE(Compiled(d)->config().params.link_pooled);
}

TEST_CASE("linkage.skeleton sets the instruction skeleton's constants; defaults otherwise") {
  const auto r = LoadOne(Rule(
      "    linkage: {by: [pooled_instructions], skeleton: {words: 5, repeats: 2, of_last: 6,\n"
      "              common_accounts: 64, share_from: 0.1, share_full: 0.4, belief_from: 0.05,\n"
      "              belief_full: 0.3}}\n"
      "    thresholds: {flag: 0.5}\n"));
  const auto* rule = Compiled(r);
  REQUIRE(rule);
  const engine::DistillParams& p = rule->config().params;
  CHECK(p.skeleton_words == 5);
  CHECK(p.skeleton_repeats == 2);
  CHECK(p.skeleton_ring == 6);
  CHECK(p.skeleton_common == 64);
  CHECK(p.pooled_floor == 0.1);
  CHECK(p.pooled_full == 0.4);
  CHECK(p.pooled_cut == 0.05);
  CHECK(p.pooled_sure == 0.3);
  const auto d = LoadOne(Rule("    linkage: {by: [pooled_instructions]}\n    thresholds: {flag: 0.5}\n"));
  REQUIRE(Compiled(d));
  const engine::DistillParams& q = Compiled(d)->config().params;
  const engine::DistillParams defaults;
  CHECK(q.skeleton_words == 6);
  CHECK(q.skeleton_repeats == 3);
  CHECK(q.skeleton_ring == engine::kEdgeRing);
  CHECK(q.skeleton_common == defaults.skeleton_common);
  CHECK(q.pooled_cut == defaults.pooled_cut);
  CHECK(q.pooled_sure == defaults.pooled_sure);
}

TEST_CASE("linkage.skeleton.enter_from sets the ring's entry probability; 0 (every request) by default") {
  const auto r = LoadOne(Rule(
      "    linkage: {by: [pooled_instructions], skeleton: {enter_from: 0.05}}\n"
      "    thresholds: {flag: 0.5}\n"));
  REQUIRE(Compiled(r));
  CHECK(Compiled(r)->config().params.skeleton_enter == 0.05);
  const auto d = LoadOne(Rule("    linkage: {by: [pooled_instructions]}\n    thresholds: {flag: 0.5}\n"));
  REQUIRE(Compiled(d));
  CHECK(Compiled(d)->config().params.skeleton_enter == 0);
  const auto bad = LoadOne(Rule("    linkage: {skeleton: {enter_from: 1.5}}\n    thresholds: {flag: 0.5}\n"));
  CHECK_FALSE(bad.snapshot);
}

TEST_CASE("linkage.skeleton mistakes name file:line:column") {
  struct Case {
    std::string body, error;
  };
  const Case cases[] = {
      {"    linkage: {by: [pooled_instructions], skeleton: {repeats: 5, of_last: 4}}\n",
       "p.yaml:7:62: rules[0].linkage.skeleton.repeats: linkage.skeleton.repeats 5 is more than "
       "of_last 4"},
      {"    linkage: {skeleton: {belief_from: 0.4, belief_full: 0.3}}\n",
       "p.yaml:7:57: rules[0].linkage.skeleton.belief_full: linkage.skeleton.belief_full (0.30) "
       "must be above belief_from (0.40)"},
      {"    linkage: {skeleton: {words: 12}}\n",
       "p.yaml:7:33: rules[0].linkage.skeleton.words: linkage.skeleton.words must be from 2 to 8, "
       "got 12"},
      {"    linkage: {skeleton: {tokens: 6}}\n",
       "p.yaml:7:26: rules[0].linkage.skeleton.tokens: unknown key"},
      {"    linkage: {skeleton: {share_full: 1.5}}\n",
       "p.yaml:7:38: rules[0].linkage.skeleton.share_full: linkage.skeleton.share_full must be from "
       "0.000 to 1.000000, got 1.5"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    const auto r = LoadOne(Rule(c.body + "    thresholds: {flag: 0.5}\n"));
    INFO(AllErrors(r));
    CHECK_FALSE(r.snapshot);
    CHECK(HasError(r, c.error));
  }
}

TEST_CASE("competitor_training errors name file:line:column") {
  struct Case {
    std::string body, error;
  };
  const Case cases[] = {
      {"    signals: {template_rate: 0.3, templates: 0.2}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:35: rules[0].signals.templates: unknown signal \"templates\""},
      {"    signals: {cot_elicitation: -0.2}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:32: rules[0].signals.cot_elicitation: a signal weight must be from 0 to 1"},
      {"    signals: {template_rate: 0, cot_elicitation: 0, logprob_harvest: 0, output_heavy: 0,"
       " volume: 0, timing_regular: 0, spread: 0, cluster: 0, harvest_intent: 0, request_shape: 0,"
       " sequential: 0, analyzer: 0}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:14: rules[0].signals: every signal weight is 0"},
      {"    signals: {template_rate: 0.1, cot_elicitation: 0, logprob_harvest: 0, output_heavy: 0,"
       " volume: 0, timing_regular: 0, spread: 0, cluster: 0, harvest_intent: 0, request_shape: 0,"
       " sequential: 0, analyzer: 0}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:14: rules[0].signals: with these weights the risk reaches at most 0.10, below "
       "the lowest threshold 0.50"},
      {"    thresholds: {flag: 0.6, watermark: 0.5}\n",
       "p.yaml:7:40: rules[0].thresholds.watermark: watermark 0.5 is below flag 0.60"},
      {"    thresholds: {flag: 1.5}\n",
       "p.yaml:7:24: rules[0].thresholds.flag: a threshold is a risk above 0 and at most 1"},
      {"    thresholds: {}\n",
       "p.yaml:7:17: rules[0].thresholds: thresholds needs at least one of"},
      {"    thresholds: {flag: 0.5, block: 0.9}\n",
       "p.yaml:7:29: rules[0].thresholds.block: unknown key"},
      {"    window: {requests: 64}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:24: rules[0].window.requests: window.requests (the fingerprint ring's size bounds "
       "it) must be from 2 to 32, got 64"},
      {"    window: {requests: 8, min_requests: 100}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:41: rules[0].window.min_requests: min_requests 100 is more than four windows"},
      {"    cluster: {by: [payment, phone]}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:29: rules[0].cluster.by[1]: unknown cluster link \"phone\""},
      {"    cluster: {min_accounts: 50, full_accounts: 20}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:14: rules[0].cluster: full_accounts (20) must be above min_accounts (50)"},
      {"    throttle: {requests: 0, per: 1m}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:26: rules[0].throttle.requests: throttle requests must be from 1"},
      {"    signals: {template_rate: 0.3}\n",
       "p.yaml:5:5: rules[0].thresholds: required key is missing"},
      {"    model: {file: models/none.model}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:19: rules[0].model.file: model file \"models/none.model\" not found (paths are "
       "relative to this file)"},
      {"    model: {label: harvest}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:12: rules[0].model.file: required key is missing"},
      {"    sequential: {reference: 1.5}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:29: rules[0].sequential.reference: sequential.reference must be from 0.010 to"},
      {"    linkage: {by: [instructions, emails]}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:34: rules[0].linkage.by[1]:"},
      {"    linkage: {min_accounts: 6, full_accounts: 4}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:14: rules[0].linkage: linkage.full_accounts (4) must not be below min_accounts (6)"},
      {"    analyzer: {half_life: 0s}\n    thresholds: {flag: 0.5}\n",
       "p.yaml:7:27: rules[0].analyzer.half_life: bad duration \"0s\": must be greater than zero"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    const auto r = LoadOne(Rule(c.body));
    INFO(AllErrors(r));
    CHECK_FALSE(r.snapshot);
    CHECK(HasError(r, c.error));
  }
}

TEST_CASE("the distillation pack loads") {
  const auto r = policies::LoadPolicyDir(TOSGATE_SOURCE_DIR "/policies/packs/distillation");
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  bool found = false;
  for (const auto& rule : r.snapshot->rules) {
    const auto* ct = dynamic_cast<const engine::CompetitorTrainingRule*>(rule.get());
    if (!ct) continue;
    found = true;
    CHECK(ct->config().params.link_tools);
  }
  CHECK(found);
}

#include "engine/distill/behavior_store.h"
#include "engine/engine.h"
#include "tosgate/clock.h"

TEST_CASE("competitor_training reads its lexicon from a content rule's scan of the same prompt") {
  // Chain-of-thought wording in the middle of a 3 KB prompt is outside what
  // the rule reads itself (its start and end); a content rule that scans
  // the whole user text sees it, and the rule reuses that scan's hits.
  const std::string distill =
      "  - id: distill\n"
      "    kind: competitor_training\n"
      "    thresholds: {flag: 0.5, throttle: 0.8}\n"
      "    throttle: {requests: 2, per: 1m}\n";
  const std::string content =
      "  - id: content.user\n"
      "    kind: content\n"
      "    fields: [user]\n"
      "    patterns: [{id: never, phrase: qqzx wwvy}]\n";
  const std::string filler(1500, 'x');
  auto risk_after = [&](const std::string& rules) {
    policies::LoadResult r = LoadOne(kHead + "rules:\n" + rules);
    INFO(AllErrors(r));
    REQUIRE(r.snapshot);
    FakeClock clock{1'767'225'600'000};
    auto state = engine::NewMemoryStateStore();
    auto behavior = engine::NewMemoryBehaviorStore();
    engine::Engine e(engine::EngineOptions{&clock, state.get(), nullptr, nullptr, 1000,
                                           behavior.get()});
    e.Publish(r.snapshot);
    Request q;
    q.method = "POST";
    q.path = "/v1/chat/completions";
    q.operation = "chat";  // the set defines no operations: named, not unclassified
    q.client_ip = "198.51.100.7";
    Account a;
    a.id = "acct";
    q.account = a;
    q.body.present = true;
    q.body.api = "chat";
    q.body.max_tokens = 2048;
    q.body.message_count = 1;
    q.body.user_text = filler + " think step by step " + filler;
    q.body.prompt_text = "user: " + q.body.user_text + "\n";
    q.body.prompt_chars = static_cast<int64_t>(q.body.prompt_text.size());
    Decision d;
    for (int i = 0; i < 12; ++i) {
      d = e.Check(q);
      clock.advance_ms(60'000);
    }
    return d.risk;
  };
  const double alone = risk_after(distill);
  const double with_content = risk_after(content + distill);
  CHECK(with_content > alone + 0.1);
}
