// The competitor_training rule through the engine: thresholds to actions and
// headers, exemptions, clusters across accounts, and state across reloads.
#include <doctest/doctest.h>

#include <cmath>

#include "distill_support.h"

using namespace tosgate;
using test::DistillRequest;
using test::DistillRig;
using test::Header;

namespace {

constexpr int64_t kSec = 1'000'000'000;

// Only the logprob signal, at weight w: a request with logit_bias scores 1
// from the first request on, so the risk is exactly w.
engine::DistillConfig LogprobOnly(double w) {
  engine::DistillConfig c = test::TestConfig();
  c.params.weights = {0, 0, w, 0, 0, 0, 0, 0};
  c.params.min_requests = 1;
  c.cluster_ip = c.cluster_payment = c.cluster_device = c.cluster_templates = false;
  return c;
}

Request Harvest(std::string account) {
  Request r = DistillRequest(std::move(account), "Write a poem about the sea in many words please");
  r.body.logprobs = true;
  r.body.top_logprobs = 20;
  r.body.logit_bias_count = 3;
  return r;
}

const RuleMatch* MatchOf(const Decision& d, std::string_view rule) {
  for (const RuleMatch& m : d.matches)
    if (m.rule_id == rule) return &m;
  return nullptr;
}

}  // namespace

TEST_CASE("below the lowest threshold nothing matches, but the risk is reported") {
  DistillRig rig(LogprobOnly(0.3));
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kAllow);
  CHECK(d.matches.empty());
  CHECK(d.risk == doctest::Approx(0.3));
}

TEST_CASE("flag: recorded, allowed, X-Tos-Flag") {
  DistillRig rig(LogprobOnly(0.55));
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kAllow);
  REQUIRE(MatchOf(d, "distill"));
  CHECK(MatchOf(d, "distill")->action == Action::kFlag);
  REQUIRE(Header(d, "X-Tos-Flag"));
  CHECK(*Header(d, "X-Tos-Flag") == "distill");
  CHECK_FALSE(Header(d, "X-Tos-Watermark"));
  CHECK(d.risk == doctest::Approx(0.55));
}

TEST_CASE("watermark: allowed with X-Tos-Watermark for the upstream") {
  DistillRig rig(LogprobOnly(0.65));
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kAllow);
  REQUIRE(MatchOf(d, "distill"));
  CHECK(MatchOf(d, "distill")->action == Action::kWatermark);
  CHECK(ActionName(Action::kWatermark) == "watermark");
  REQUIRE(Header(d, "X-Tos-Watermark"));
  CHECK(*Header(d, "X-Tos-Watermark") == "distill;risk=0.65");
}

TEST_CASE("review: allowed, a review match for the registry, still watermarked") {
  DistillRig rig(LogprobOnly(0.75));
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kAllow);
  REQUIRE(MatchOf(d, "distill"));
  CHECK(ActionName(MatchOf(d, "distill")->action) == "review");
  CHECK(Header(d, "X-Tos-Watermark"));
}

TEST_CASE("throttle: held to the reduced rate, then 429 with Retry-After") {
  DistillRig rig(LogprobOnly(0.85));  // throttle: 2 per minute
  for (int i = 0; i < 2; ++i) {
    const Decision d = rig.Check(Harvest("a1"));
    CHECK(d.effect == Effect::kAllow);
    REQUIRE(MatchOf(d, "distill"));
    CHECK(MatchOf(d, "distill")->action == Action::kReview);  // within the reduced rate
    CHECK(MatchOf(d, "distill")->detail.find("within the reduced rate 2 per 1m") !=
          std::string::npos);
  }
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kThrottle);
  CHECK(d.status == 429);
  CHECK(d.reason == "competitor-training");
  CHECK(Header(d, "Retry-After"));
  CHECK_FALSE(Header(d, "X-Tos-Watermark"));
}

TEST_CASE("deny: 403") {
  DistillRig rig(LogprobOnly(0.97));
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 403);
  CHECK(d.rule_ids == std::vector<std::string>{"distill"});
  CHECK(d.risk == doctest::Approx(0.97));
}

TEST_CASE("the detail lists every signal's contribution") {
  DistillRig rig(LogprobOnly(0.55));
  const Decision d = rig.Check(Harvest("a1"));
  REQUIRE(MatchOf(d, "distill"));
  const std::string& detail = MatchOf(d, "distill")->detail;
  CHECK(detail.rfind("risk 0.55 >= flag 0.50:", 0) == 0);
  for (int i = 0; i < engine::kSignals; ++i)
    CHECK(detail.find(std::string(engine::SignalName(static_cast<engine::Signal>(i))) + " +") !=
          std::string::npos);
  CHECK(detail.find("logprob_harvest +0.55 (score 1.00)") != std::string::npos);
}

TEST_CASE("exempt accounts, orgs and flags are never scored or remembered") {
  engine::DistillConfig c = LogprobOnly(0.97);
  c.exempt_accounts = {"partner"};
  c.exempt_flags = {"research-partner"};
  c.exempt_orgs = {"lab"};
  DistillRig rig(c);
  Request by_id = Harvest("partner");
  Request by_flag = Harvest("f1");
  by_flag.account->flags = {"research-partner"};
  Request by_org = Harvest("o1");
  by_org.account->org = "lab";
  for (const Request* r : {&by_id, &by_flag, &by_org}) {
    const Decision d = rig.Check(*r);
    CHECK(d.effect == Effect::kAllow);
    CHECK(d.matches.empty());
    CHECK(d.risk == 0);
  }
  CHECK(rig.behavior->stats().accounts == 0);
  CHECK(rig.Check(Harvest("other")).effect == Effect::kDeny);
}

TEST_CASE("a single account harvesting with a template and step-by-step prompts is flagged") {
  DistillRig rig(test::TestConfig());
  test::Lcg r(1);
  int first = -1;
  Decision d;
  for (int i = 0; i < 200 && first < 0; ++i) {
    Request req = DistillRequest("bulk", test::TemplatePrompt(r) + " Explain step by step.");
    req.body.max_tokens = 4096;
    d = rig.Check(req);
    if (!d.matches.empty()) first = i;
    rig.clock.advance_ms(3000);
  }
  CHECK(first >= 0);
  CHECK(first < 60);
  CHECK(d.risk >= 0.5);
  // An ordinary user of the same engine is not.
  test::Lcg q(2);
  for (int i = 0; i < 100; ++i) {
    const Decision u = rig.Check(DistillRequest("human", test::RandomPrompt(q)));
    CHECK(u.matches.empty());
    rig.clock.advance_ms(static_cast<int64_t>(5000 + q.Next() % 120000));
  }
}

namespace {

// Only the cluster signal counts: flag at 0.3; a bucket counts from 5
// accounts and fully from 20.
engine::DistillConfig ClusterOnly() {
  engine::DistillConfig c = test::TestConfig();
  c.params.weights = {0, 0, 0, 0, 0, 0, 0, 0.9};
  c.params.cluster_min = 5, c.params.cluster_full = 20;
  c.thresholds = {0.3, -1, -1, -1, -1};
  return c;
}

// Accounts a0..a{n-1}, each sending `each` output-heavy requests made by `make`.
template <class Make>
double WorstRisk(DistillRig& rig, int n, int each, Make make) {
  double risk = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < each; ++j) {
      Request req = make(i, j);
      req.body.max_tokens = 4096;
      risk = std::max(risk, rig.Check(req).risk);
      rig.clock.advance_ms(1000);
    }
  return risk;
}

}  // namespace

TEST_CASE("accounts sharing a payment fingerprint are scored as one cluster") {
  DistillRig rig(ClusterOnly());
  test::Lcg r(4);
  auto same_pf = [&](int i, int) {
    Request q = DistillRequest("a" + std::to_string(i), test::RandomPrompt(r),
                               "192.0.2." + std::to_string(i));
    q.client_ip = std::to_string(10 + i) + ".1.2.3";
    q.account->payment_fingerprint = "pf_shared";
    return q;
  };
  CHECK(WorstRisk(rig, 30, 2, same_pf) >= 0.8);
  const Decision d = rig.Check(same_pf(31, 0));
  REQUIRE(!d.matches.empty());
  CHECK(d.matches[0].detail.find("accounts share a payment fingerprint") != std::string::npos);

  DistillRig apart(ClusterOnly());
  auto own_pf = [&](int i, int j) {
    Request q = same_pf(i, j);
    q.account->payment_fingerprint = "pf_" + std::to_string(i);
    return q;
  };
  CHECK(WorstRisk(apart, 30, 2, own_pf) == 0);
}

TEST_CASE("accounts sharing a device fingerprint or an address range are linked") {
  test::Lcg r(8);
  DistillRig device(ClusterOnly());
  CHECK(WorstRisk(device, 30, 2, [&](int i, int) {
          Request q = DistillRequest("d" + std::to_string(i), test::RandomPrompt(r),
                                     std::to_string(10 + i) + ".9.9.9");
          q.account->device_fingerprint = "dev_1";
          return q;
        }) >= 0.8);
  DistillRig range(ClusterOnly());
  CHECK(WorstRisk(range, 30, 2, [&](int i, int j) {
          return DistillRequest("r" + std::to_string(i), test::RandomPrompt(r),
                                "203.0.113." + std::to_string(i * 3 + j));
        }) >= 0.8);
}

TEST_CASE("accounts sharing a prompt template are linked, rotating addresses or not") {
  DistillRig rig(ClusterOnly());
  test::Lcg r(9);
  CHECK(WorstRisk(rig, 40, 4, [&](int i, int j) {
          return DistillRequest("t" + std::to_string(i), test::TemplatePrompt(r),
                                std::to_string(i + 1) + "." + std::to_string(j) + ".0.1");
        }) >= 0.5);
  // The same number of accounts writing unrelated prompts are not.
  DistillRig apart(ClusterOnly());
  CHECK(WorstRisk(apart, 40, 4, [&](int i, int j) {
          return DistillRequest("u" + std::to_string(i), test::RandomPrompt(r),
                                std::to_string(i + 1) + "." + std::to_string(j) + ".0.1");
        }) == 0);
}

TEST_CASE("a reload that keeps the rule id keeps each account's history") {
  engine::DistillConfig c = LogprobOnly(0.55);
  c.params.min_requests = 10;
  DistillRig rig(c);
  for (int i = 0; i < 5; ++i) rig.Check(Harvest("a1"));  // risk 0.55 * 5/10 < 0.5
  CHECK(rig.Check(Harvest("a1")).matches.empty());       // 6 seen: 0.33
  rig.engine->Publish(test::DistillSnapshot(c));         // the same rule, reloaded
  Decision d;
  for (int i = 0; i < 4; ++i) d = rig.Check(Harvest("a1"));
  REQUIRE(!d.matches.empty());  // 10 seen
  CHECK(d.matches[0].detail.find("10 requests seen") != std::string::npos);
  rig.engine->Publish(test::DistillSnapshot(c, "distill.v2"));  // another rule id starts afresh
  d = rig.Check(Harvest("a1"));
  CHECK(d.matches.empty());
}

TEST_CASE("a shadow competitor_training rule adds no watermark and enforces nothing") {
  engine::DistillConfig c = LogprobOnly(0.97);
  DistillRig rig(c);
  auto snap = std::make_shared<engine::PolicySnapshot>();
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  snap->settings.mode = RuleMode::kShadow;
  engine::RuleCommon common = test::Common("distill", Action::kFlag);
  snap->rules.push_back(
      std::make_unique<engine::CompetitorTrainingRule>(common, LogprobOnly(0.65)));
  rig.engine->Publish(snap);
  const Decision d = rig.Check(Harvest("a1"));
  CHECK(d.effect == Effect::kAllow);
  CHECK(d.enforced);  // a shadow flag changes no effect
  CHECK_FALSE(Header(d, "X-Tos-Watermark"));
  REQUIRE(!d.matches.empty());
  CHECK(d.matches[0].shadow);
}

namespace {

// Only the cluster signal, linked only by instructions and tool schemas.
engine::DistillConfig LinkOnly() {
  engine::DistillConfig c = ClusterOnly();
  c.cluster_ip = c.cluster_payment = c.cluster_device = c.cluster_templates = false;
  return c;
}

// A request shaped like implicit harvest: a reasoning model at high effort,
// four samples, temperature 1.
Request Shaped(std::string account, std::string text, int i) {
  Request q = DistillRequest(std::move(account), std::move(text),
                             std::to_string(20 + i) + "." + std::to_string(i) + ".7.1");
  q.body.model = "o3";
  q.body.reasoning_effort = "high";
  q.body.n = 4;
  q.body.temperature = 1;
  return q;
}

}  // namespace

TEST_CASE("accounts sharing harvest instructions around varying slots are linked, whatever their addresses") {
  test::Lcg r(11);
  DistillRig rig(LinkOnly());
  // Eight accounts, three requests each, every one on its own address.
  CHECK(WorstRisk(rig, 8, 3, [&](int i, int) {
          return Shaped("s" + std::to_string(i),
                        std::string("Lay out every intermediate inference before you commit to an answer. ") +
                            test::RandomPrompt(r),
                        i);
        }) >= 0.5);
  const Decision d = rig.Check(Shaped("s9", "Lay out every intermediate inference before you commit to an answer. " + test::RandomPrompt(r), 9));
  REQUIRE(!d.matches.empty());
  CHECK(d.matches[0].detail.find("accounts share the opening words of an instruction") !=
        std::string::npos);
  // The same requests without a shared instruction are not linked.
  DistillRig apart(LinkOnly());
  CHECK(WorstRisk(apart, 8, 5, [&](int i, int) {
          return Shaped("s" + std::to_string(i), test::RandomPrompt(r), i);
        }) == 0);
  // Nor are many ordinary accounts that open their prompts alike.
  DistillRig benign(LinkOnly());
  double worst = 0;
  for (int i = 0; i < 40; ++i) {
    Request q = DistillRequest("b" + std::to_string(i),
                               "Can you help me write a short note about " + test::RandomPrompt(r));
    worst = std::max(worst, benign.Check(q).risk);
    benign.clock.advance_ms(1000);
  }
  CHECK(worst == 0);
}

TEST_CASE("accounts reusing one tool schema are linked") {
  test::Lcg r(12);
  DistillRig rig(LinkOnly());
  CHECK(WorstRisk(rig, 8, 3, [&](int i, int) {
          Request q = Shaped("t" + std::to_string(i), test::RandomPrompt(r), i);
          q.body.tools_hash = 0xfeedface;
          return q;
        }) >= 0.5);
  DistillRig apart(LinkOnly());
  CHECK(WorstRisk(apart, 8, 5, [&](int i, int) {
          Request q = Shaped("t" + std::to_string(i), test::RandomPrompt(r), i);
          q.body.tools_hash = 0x1000 + static_cast<uint64_t>(i);
          return q;
        }) == 0);
}

namespace {

// Only the sequential signal, with a harvest model that gives every text the
// probability `q` (no features, only the bias) and accounts linked only by
// pooled instructions (instruction skeletons).
engine::DistillConfig PooledOnly(float q) {
  engine::DistillConfig c = LinkOnly();
  c.params.weights = {};
  c.params.weights[static_cast<int>(engine::Signal::kSequential)] = 0.9;
  c.params.link_instructions = c.params.link_tools = false;
  c.params.link_pooled = true;
  c.params.harvest_threshold = 0.85;
  engine::TextModelOptions o;
  o.bits = 4;
  c.model = std::make_shared<engine::TextModel>(o, std::vector<std::string>{"harvest"},
                                                std::vector<float>{std::log(q / (1 - q))},
                                                std::vector<float>(16 * 4, 0.0f));
  c.model_label = 0;
  return c;
}

Request Instructed(int i, const std::string& slot) {
  return DistillRequest("p" + std::to_string(i),
                        slot + " Give the full answer and make every inference explicit.",
                        std::to_string(30 + i) + ".4.5.6");
}

}  // namespace

TEST_CASE("a few accounts sharing an instruction skeleton the model half believes are caught together") {
  test::Lcg r(13);
  // 0.6: below the model threshold (0.85), where one request counts little.
  DistillRig rig(PooledOnly(0.6f));
  CHECK(WorstRisk(rig, 8, 5, [&](int i, int) { return Instructed(i, test::RandomPrompt(r)); }) >=
        0.8);
  // The explanation names the group (an account of the group, whose own
  // skeleton has formed: a newcomer's first request has none yet).
  Request again = Instructed(0, test::RandomPrompt(r));
  again.body.max_tokens = 4096;
  const Decision d = rig.Check(again);
  REQUIRE(!d.matches.empty());
  CHECK(d.matches[0].detail.find("accounts share an instruction skeleton asking for long answers") !=
        std::string::npos);

  // One account alone sending the instruction around varying slots: no
  // group, however often.
  DistillRig alone(PooledOnly(0.6f));
  CHECK(WorstRisk(alone, 1, 24, [&](int, int) { return Instructed(0, test::RandomPrompt(r)); }) <
        0.1);
  // The same words sent in conversations (the first message coming back
  // with every new turn) are no skeleton: one-turn requests only.
  DistillRig turns(PooledOnly(0.6f));
  CHECK(WorstRisk(turns, 8, 5, [&](int i, int) {
          Request q = Instructed(i, test::RandomPrompt(r));
          q.body.message_count = 3;
          return q;
        }) < 0.1);

  // The same accounts and requests, each with its own wording: only their
  // own sequential evidence, which three requests do not build.
  DistillRig apart(PooledOnly(0.6f));
  CHECK(WorstRisk(apart, 8, 5, [&](int i, int) {
          return DistillRequest("p" + std::to_string(i), test::RandomPrompt(r),
                                std::to_string(30 + i) + ".4.5.6");
        }) < 0.1);
  // A shared instruction asking for short answers is not pooled: long
  // outputs are what harvest collects.
  DistillRig short_answers(PooledOnly(0.6f));
  double worst = 0;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 5; ++j) {
      Request q = Instructed(i, test::RandomPrompt(r));
      q.body.max_tokens = 256;
      worst = std::max(worst, short_answers.Check(q).risk);
      short_answers.clock.advance_ms(1000);
    }
  CHECK(worst < 0.1);
  // Nor is one the model does not believe (0.1, an ordinary shared opening).
  DistillRig ordinary(PooledOnly(0.1f));
  CHECK(WorstRisk(ordinary, 8, 5,
                  [&](int i, int) { return Instructed(i, test::RandomPrompt(r)); }) == 0);
}

TEST_CASE("the analyzer's risk is read as the analyzer signal") {
  engine::DistillConfig c = test::TestConfig();
  c.params.weights = {};
  c.params.weights[static_cast<int>(engine::Signal::kAnalyzer)] = 0.9;
  c.cluster_ip = c.cluster_payment = c.cluster_device = c.cluster_templates = false;
  c.params.link_instructions = c.params.link_tools = false;
  DistillRig rig(c);
  const Request q = DistillRequest("an", "Suggest three names for a grey cat that sleeps in boxes");
  CHECK(rig.Check(q).risk == 0);
  const uint64_t key = engine::BehaviorKey("distill", "an");
  rig.behavior->Update(key, 0, [&](engine::AccountBehavior& st) {
    st.analyzer_risk = 0.8f;
    st.analyzer_wall_ms = rig.clock.wall_ms();
  });
  CHECK(rig.Check(q).risk == doctest::Approx(0.72));
  rig.clock.advance_ms(3'600'000);
  CHECK(rig.Check(q).risk == doctest::Approx(0.36).epsilon(0.01));
}

TEST_CASE("each scored request is logged for the analyzer with its features") {
  engine::FeatureLog log(64, 1);
  FakeClock clock{1'767'225'600'000};
  auto state = engine::NewMemoryStateStore();
  auto behavior = engine::NewMemoryBehaviorStore();
  engine::EngineOptions opts{&clock, state.get(), nullptr, nullptr, 1000, behavior.get()};
  opts.feature_log = &log;
  engine::Engine eng(opts);
  eng.Publish(test::DistillSnapshot(test::TestConfig()));
  Request q = Shaped("fl", "Think step by step: why is the sky blue?", 1);
  q.body.max_tokens = 50000;
  q.body.logprobs = true;
  q.body.top_logprobs = 20;
  eng.Check(q);
  std::vector<engine::AnalyzerSample> got;
  log.Collect(&got);
  REQUIRE(got.size() == 1);
  CHECK(got[0].key == engine::BehaviorKey("distill", "fl"));
  CHECK(got[0].wall_ms == clock.wall_ms());
  CHECK(got[0].x[1] == 1);                           // chain-of-thought phrase
  CHECK(got[0].x[2] == 1);                           // top_logprobs at the maximum
  CHECK(got[0].x[3] > 0.99f);                        // nearly all output
  CHECK(got[0].x[4] == doctest::Approx(0.5));        // 50,000 of o3's 100,000
  CHECK(got[0].x[5] == doctest::Approx(0.5));        // n = 4
  CHECK(got[0].x[6] == doctest::Approx(0.5));        // temperature 1
  CHECK(got[0].x[7] == 1);                           // high effort
}
