// competitor_training's parts: the SimHash of prompt text, each streaming
// signal's score, the risk formula, and the bounded BehaviorStore.
#include <doctest/doctest.h>

#include <cmath>

#include "distill_support.h"
#include "engine/distill/signals.h"
#include "engine/distill/text_features.h"

using namespace tosgate;
using engine::AccountBehavior;
using engine::DistillParams;
using engine::RequestFeatures;
using engine::Signal;

namespace {

engine::TextFeatures Features(const std::string& text) {
  std::string folded;
  engine::TextFeatures f;
  engine::ExtractText(text, 3, &folded, &f);
  return f;
}

bool ShareBand(uint64_t a, uint64_t b) {
  for (int band = 0; band < 4; ++band)
    if (((a ^ b) >> (16 * band) & 0xffff) == 0) return true;
  return false;
}

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kWall = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

double Score(const AccountBehavior& st, Signal s, const DistillParams& p = {}) {
  return engine::Scores(p, st)[static_cast<int>(s)];
}

}  // namespace

TEST_CASE("folding keeps lower-case words, digits as 0, one space between") {
  std::string folded;
  engine::TextFeatures f;
  engine::ExtractText("Think  STEP-by-step: 42 ways!", 0, &folded, &f);
  CHECK(folded == "think step by step 00 ways");
  engine::ExtractText("Привет мир", 0, &folded, &f);
  CHECK(folded.rfind("think step by step 00 ways ", 0) == 0);
  CHECK((f.scripts & engine::kLatin) != 0);
  CHECK((f.scripts & engine::kGreekCyrillic) != 0);
}

TEST_CASE("prompts of one template are near-duplicates; unrelated prompts are not") {
  test::Lcg r(7);
  const DistillParams p;
  int near = 0, shared_band = 0, pairs = 0;
  uint64_t prev = Features(test::TemplatePrompt(r)).simhash;
  for (int i = 0; i < 200; ++i) {
    const uint64_t h = Features(test::TemplatePrompt(r)).simhash;
    near += engine::HammingDistance(h, prev) <= p.max_distance;
    shared_band += ShareBand(h, prev);
    ++pairs;
    prev = h;
  }
  CHECK(near >= pairs * 9 / 10);
  CHECK(shared_band >= pairs / 8);  // ~20% of pairs ~10 bits apart share a 16-bit band

  int random_near = 0, random_band = 0;
  prev = Features(test::RandomPrompt(r)).simhash;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t h = Features(test::RandomPrompt(r)).simhash;
    random_near += engine::HammingDistance(h, prev) <= p.max_distance;
    random_band += ShareBand(h, prev);
    prev = h;
  }
  CHECK(random_near <= 2);   // of 2000
  CHECK(random_band <= 10);  // 4 bands of 16 bits: ~0.006% expected per pair... plus word overlap
}

TEST_CASE("a prompt too short for one shingle has no fingerprint") {
  CHECK_FALSE(Features("hi there").has_simhash);
  CHECK(Features("hi there you").has_simhash);
}

TEST_CASE("template_rate rises with near-duplicates and stays 0 for unrelated prompts") {
  const DistillParams p;
  test::Lcg r(3);
  AccountBehavior templated, varied;
  for (int i = 0; i < 40; ++i) {
    RequestFeatures f;
    engine::TextFeatures t = Features(test::TemplatePrompt(r));
    f.has_simhash = true, f.simhash = t.simhash;
    engine::Observe(p, f, i * 10 * kSec, kWall, &templated);
    t = Features(test::RandomPrompt(r));
    f.simhash = t.simhash;
    engine::Observe(p, f, i * 10 * kSec, kWall, &varied);
  }
  CHECK(Score(templated, Signal::kTemplate) > 0.8);
  CHECK(Score(varied, Signal::kTemplate) == 0);
}

TEST_CASE("per-request signals: chain-of-thought, logprobs and output-heavy rates") {
  const DistillParams p;
  AccountBehavior all, none, half;
  for (int i = 0; i < 40; ++i) {
    RequestFeatures yes;
    yes.cot = true, yes.logprob = 1, yes.output_heavy = true;
    engine::Observe(p, yes, i * kSec, kWall, &all);
    engine::Observe(p, RequestFeatures{}, i * kSec, kWall, &none);
    engine::Observe(p, i % 2 ? yes : RequestFeatures{}, i * kSec, kWall, &half);
  }
  for (Signal s : {Signal::kCot, Signal::kLogprob, Signal::kOutputHeavy}) {
    CAPTURE(engine::SignalName(s));
    CHECK(Score(all, s) == doctest::Approx(1));
    CHECK(Score(none, s) == 0);
  }
  CHECK(Score(half, Signal::kCot) == doctest::Approx(1).epsilon(0.1));             // rate/0.5
  CHECK(Score(half, Signal::kOutputHeavy) == doctest::Approx(0.5).epsilon(0.15));  // (rate-0.2)/0.6
}

TEST_CASE("signals count in proportion until min_requests have been seen") {
  DistillParams p;
  p.min_requests = 10;
  AccountBehavior st;
  RequestFeatures f;
  f.cot = true;
  for (int i = 0; i < 5; ++i) engine::Observe(p, f, i * kSec, kWall, &st);
  CHECK(Score(st, Signal::kCot, p) == doctest::Approx(0.5));
}

TEST_CASE("volume: a burst far above the account's own baseline scores; its usual pace does not") {
  const DistillParams p;
  AccountBehavior steady, burst;
  int64_t t = 0;
  for (int i = 0; i < 48; ++i, t += 1800 * kSec) {  // a day at two an hour
    engine::Observe(p, {}, t, kWall, &steady);
    engine::Observe(p, {}, t, kWall, &burst);
  }
  for (int i = 0; i < 300; ++i, t += kSec) engine::Observe(p, {}, t, kWall, &burst);  // 1/s
  CHECK(Score(steady, Signal::kVolume) == 0);
  CHECK(Score(burst, Signal::kVolume) == doctest::Approx(1));
}

TEST_CASE("timing_regular: machine-regular gaps score, irregular ones do not") {
  const DistillParams p;
  AccountBehavior regular, human;
  test::Lcg r(11);
  int64_t t1 = 0, t2 = 0;
  for (int i = 0; i < 60; ++i) {
    engine::Observe(p, {}, t1, kWall, &regular);
    engine::Observe(p, {}, t2, kWall, &human);
    t1 += 20 * kSec + (r.Next() % 100) * 1'000'000;  // 20 s, +- 0.1 s
    // Exponential gaps (a Poisson process), mean 60 s.
    t2 += static_cast<int64_t>(-std::log((r.Next() % 10000 + 1) / 10001.0) * 60 * kSec);
  }
  CHECK(Score(regular, Signal::kTiming) == doctest::Approx(1));
  CHECK(Score(human, Signal::kTiming) < 0.3);
}

TEST_CASE("timing_regular: active in every hour of a day scores") {
  const DistillParams p;
  AccountBehavior st;
  test::Lcg r(5);
  int64_t t = 0;
  for (int i = 0; i < 48; ++i) {  // irregular gaps, but round the clock
    engine::Observe(p, {}, t, kWall + t / 1'000'000, &st);
    t += (1200 + r.Next() % 1200) * kSec;
  }
  CHECK(Score(st, Signal::kTiming) == doctest::Approx(1));
}

TEST_CASE("spread: many topics or scripts score, one topic does not") {
  const DistillParams p;
  AccountBehavior many, one, scripts;
  test::Lcg r(13);
  for (int i = 0; i < 60; ++i) {
    RequestFeatures f;
    f.topic = static_cast<int>(r.Next() % 64);
    engine::Observe(p, f, i * kSec, kWall, &many);
    f.topic = 5;
    engine::Observe(p, f, i * kSec, kWall, &one);
    f.scripts = static_cast<uint8_t>(1u << (i % 4));
    engine::Observe(p, f, i * kSec, kWall, &scripts);
  }
  CHECK(Score(many, Signal::kSpread) > 0.8);
  CHECK(Score(one, Signal::kSpread) == 0);
  CHECK(Score(scripts, Signal::kSpread) == doctest::Approx(1));
}

TEST_CASE("risk is 1 - prod(1 - w*s) and reports each contribution") {
  engine::SignalArray w{0.5, 0.5, 0, 0, 0, 0, 0, 0.4}, s{1, 0.5, 1, 0, 0, 0, 0, 1}, c{};
  const double risk = engine::Risk(w, s, &c);
  CHECK(c[0] == doctest::Approx(0.5));
  CHECK(c[1] == doctest::Approx(0.25));
  CHECK(c[2] == 0);
  CHECK(c[7] == doctest::Approx(0.4));
  CHECK(risk == doctest::Approx(1 - 0.5 * 0.75 * 0.6));
}

TEST_CASE("cluster score grows with distinct accounts and their suspicion") {
  DistillParams p;
  p.cluster_min = 10, p.cluster_full = 100;
  CHECK(engine::ClusterScore(p, {5, 1}) == 0);
  CHECK(engine::ClusterScore(p, {55, 1}) == doctest::Approx(0.5));
  CHECK(engine::ClusterScore(p, {200, 1}) == 1);
  CHECK(engine::ClusterScore(p, {200, 0}) == 0);  // a shared NAT of ordinary users
}

TEST_CASE("a bucket counts distinct accounts, not requests") {
  auto store = engine::NewMemoryBehaviorStore();
  engine::ClusterObservation o;
  for (int i = 0; i < 100; ++i) o = store->Link(42, engine::HashId("one"), 1, i);
  CHECK(o.accounts == 1);
  for (int i = 0; i < 200; ++i)
    o = store->Link(43, engine::HashId("acct" + std::to_string(i)), 0.5, i);
  CHECK(o.accounts >= 170);
  CHECK(o.accounts <= 230);
  CHECK(o.suspicion == doctest::Approx(0.5));
}

TEST_CASE("a flood of distinct accounts and buckets stays bounded, evictions counted") {
  engine::MemoryBehaviorOptions opts;
  opts.max_accounts = 1000, opts.max_buckets = 2000, opts.shards = 8;
  opts.live_ns = 0;  // every account idle: evicted, not refused (account_bounds_test)
  auto store = engine::NewMemoryBehaviorStore(opts);
  for (uint64_t i = 0; i < 20000; ++i) {
    store->Update(engine::MixHash(i), static_cast<int64_t>(i),
                  [&](AccountBehavior& st) { st.last_ns = static_cast<int64_t>(i); });
    (void)store->Link(engine::MixHash(i + 1'000'000), i, 0, static_cast<int64_t>(i));
  }
  const engine::BehaviorStats st = store->stats();
  CHECK(st.accounts <= 1000);
  CHECK(st.buckets <= 2000);
  CHECK(st.account_evictions == 20000 - st.accounts);
  CHECK(st.bucket_evictions == 20000 - st.buckets);
  // The most recent account is still there: eviction takes old records.
  bool fresh = true;
  store->Update(engine::MixHash(19999), 20000,
                [&](AccountBehavior& b) { fresh = b.last_ns == 19999; });
  CHECK(fresh);
}

TEST_CASE("sequential: machine-volume harvest evidence crosses within 200 requests; a benign burst drains") {
  const DistillParams p;
  AccountBehavior harvester, implicit, benign, mixed;
  RequestFeatures h;
  h.harvest = 0.9;
  RequestFeatures shape;
  shape.shape = 0.7;  // implicit harvest: nothing in the text, high effort, n, long outputs
  RequestFeatures low;
  low.harvest = 0.2, low.shape = 0.25;
  int crossed = -1, crossed_implicit = -1;
  for (int i = 0; i < 400; ++i) {
    engine::Observe(p, h, i * kSec, kWall, &harvester);
    engine::Observe(p, shape, i * kSec, kWall, &implicit);
    engine::Observe(p, low, i * kSec, kWall, &benign);
    // An occasional harvest-looking request among ordinary ones.
    engine::Observe(p, i % 10 == 0 ? h : low, i * kSec, kWall, &mixed);
    if (crossed < 0 && Score(harvester, Signal::kSequential) >= 1) crossed = i + 1;
    if (crossed_implicit < 0 && Score(implicit, Signal::kSequential) >= 1) crossed_implicit = i + 1;
  }
  CHECK(crossed > 0);
  CHECK(crossed <= 60);
  CHECK(crossed_implicit > 0);
  CHECK(crossed_implicit <= 200);
  CHECK(Score(benign, Signal::kSequential) == 0);
  CHECK(Score(mixed, Signal::kSequential) < 0.1);
  // Capped at twice the threshold: stopping drains it in bounded time.
  CHECK(harvester.cusum == doctest::Approx(2 * p.sequential_threshold));
  for (int i = 0; i < 150; ++i) engine::Observe(p, RequestFeatures{}, (400 + i) * kSec, kWall, &harvester);
  CHECK(Score(harvester, Signal::kSequential) == 0);
}

TEST_CASE("request shape: effort, n, temperature and max_tokens near the model's maximum") {
  const DistillParams p;
  RequestBody b;
  b.model = "o3";
  CHECK(engine::ShapeValue(p, b) == 0);
  b.reasoning_effort = "high";
  b.n = 4;
  b.temperature = 1;
  b.max_tokens = 100000;
  CHECK(engine::ShapeValue(p, b) == doctest::Approx(1));
  // A power user: high effort and a large max_tokens, one sample.
  b.n = -1;
  b.temperature = -1;
  CHECK(engine::ShapeValue(p, b) == doctest::Approx(0.55));
  // The same body to a model that is not a reasoning model counts 60%.
  RequestBody c;
  c.model = "gpt-4o";
  c.n = 4, c.temperature = 1, c.max_tokens = 16384;
  CHECK(engine::ShapeValue(p, c) == doctest::Approx(0.6 * 0.7));
  c.thinking_budget = 16000;  // a thinking budget makes it one
  CHECK(engine::ShapeValue(p, c) == doctest::Approx(1));
  CHECK(engine::ModelMaxOutput(p, "claude-sonnet-4-5") == 64000);
  CHECK(engine::ModelMaxOutput(p, "my-model") == p.default_max_output);
  CHECK(engine::ReasoningModel("o4-mini"));
  CHECK_FALSE(engine::ReasoningModel("gpt-4o-mini"));
}

TEST_CASE("request shape: a model's family is looked up again when the model changes") {
  // The family is kept per thread for the last model name: alternating
  // names must each get their own answer.
  DistillParams p;
  p.default_max_output = 9999;
  RequestBody o3, plain;
  o3.model = "o3", plain.model = "my-model";
  o3.max_tokens = plain.max_tokens = 50000;
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    CHECK(engine::ModelMaxOutput(p, "o3") == 100000);
    CHECK(engine::ModelMaxOutput(p, "my-model") == 9999);
    CHECK(engine::ShapeValue(p, o3) == doctest::Approx(0.25 * 0.5));        // a reasoning model
    CHECK(engine::ShapeValue(p, plain) == doctest::Approx(0.6 * 0.25 * 1));  // not one, at its maximum
  }
}

TEST_CASE("harvest value: the model's probability against its threshold") {
  DistillParams p;
  p.harvest_threshold = 0.6;
  CHECK(engine::HarvestValue(p, 0.7) == 1);
  CHECK(engine::HarvestValue(p, 0.6) == doctest::Approx(1));
  CHECK(engine::HarvestValue(p, 0.45) == doctest::Approx(0.5));
  CHECK(engine::HarvestValue(p, 0.3) == 0);
}

TEST_CASE("link score: a few accounts sharing harvest instructions score; benign shared openings do not") {
  const DistillParams p;  // from 3 accounts, fully at 8, evidence above 0.3
  CHECK(engine::LinkScore(p, {2, 0.9f}) == 0);
  CHECK(engine::LinkScore(p, {5, 0.9f}) == doctest::Approx(0.5));
  CHECK(engine::LinkScore(p, {8, 0.7f}) == doctest::Approx(1));
  CHECK(engine::LinkScore(p, {500, 0.2f}) == 0);  // "can you help me": many people, no evidence
}

TEST_CASE("skeleton score: a few accounts sharing one instruction the model believes, rare elsewhere") {
  // Skeleton accounts from 3, fully at 8; their share of the end's accounts
  // from 0.2, fully at 0.5; rare up to 32 accounts sending the end, 0 at
  // 128; the mean probability from 0.15, fully at 0.45.
  const DistillParams p;
  CHECK(engine::SkeletonScore(p, 2, {2, 0.9f}) == 0);
  CHECK(engine::SkeletonScore(p, 8, {8, 0.6f}) == doctest::Approx(1));
  CHECK(engine::SkeletonScore(p, 10, {5, 0.9f}) == doctest::Approx(0.5));    // 3 of 6 by size
  CHECK(engine::SkeletonScore(p, 30, {9, 0.9f}) == doctest::Approx(1.0 / 3)); // share 0.3
  CHECK(engine::SkeletonScore(p, 7, {9, 0.9f}) == doctest::Approx(1));       // estimates: share capped
  CHECK(engine::SkeletonScore(p, 8, {8, 0.3f}) == doctest::Approx(0.5));     // half believed
  CHECK(engine::SkeletonScore(p, 8, {8, 0.1f}) == 0);                        // not believed
  // A template everyone uses: 80 accounts send the end, all as a skeleton.
  CHECK(engine::SkeletonScore(p, 80, {80, 0.9f}) == doctest::Approx(0.5));
  // A common phrase of 800 accounts, a few harvesting accounts among them.
  CHECK(engine::SkeletonScore(p, 800, {12, 0.9f}) == 0);
}

TEST_CASE("an end that comes back with a different other end is a skeleton, in long one-turn requests") {
  DistillParams p;
  p.skeleton_repeats = 1;  // the default 3 is below
  AccountBehavior st;
  engine::RequestFeatures f;
  f.long_one_turn = true;
  f.head = 0x11, f.tail = 0x21;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);  // first seen
  f.tail = 0x23;
  CHECK(engine::ObserveEdges(p, f, &st) == 1);  // the same instruction, another slot after it
  f.head = 0x13;
  CHECK(engine::ObserveEdges(p, f, &st) == 2);  // the same closing instruction, another slot before
  f.head = 0x15, f.tail = 0x25;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);  // nothing in common
  // A short or multi-turn request is neither judged nor kept.
  engine::RequestFeatures g = f;
  g.long_one_turn = false;
  g.head = 0x11, g.tail = 0x29;
  CHECK(engine::ObserveEdges(p, g, &st) == 0);
  f.head = 0x17, f.tail = 0x29;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);
  // The ring keeps the last kEdgeRing: the first request's head is gone after more.
  for (int i = 0; i < engine::kEdgeRing; ++i) {
    f.head = 0x101 + 2 * i, f.tail = 0x201 + 2 * i;
    engine::ObserveEdges(p, f, &st);
  }
  f.head = 0x11, f.tail = 0x2f;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);
  // By default an end must come back three times: a pasted snippet or a
  // popular question comes back now and then, an instruction every time.
  const DistillParams d;
  AccountBehavior fresh;
  f.head = 0x41;
  int first_skeleton = -1;
  for (int i = 0; i < 6 && first_skeleton < 0; ++i) {
    f.tail = 0x51 + 2 * i;
    if (engine::ObserveEdges(d, f, &fresh) == 1) first_skeleton = i;
  }
  CHECK(first_skeleton == 3);
}

TEST_CASE("linkage.skeleton.enter_from: cover requests the model sees nothing in stay out of the ring") {
  // An account that sends its instruction in one of four long one-turn
  // requests, the rest ordinary long answers (probability near 0).
  auto first_skeleton = [](double enter) {
    DistillParams p;
    p.skeleton_enter = enter;
    AccountBehavior st;
    engine::RequestFeatures f;
    f.long_one_turn = true;
    for (int i = 0; i < 40; ++i) {
      const bool instruction = i % 4 == 0;
      f.head = instruction ? 0x41 : 0x1000 + i;
      f.tail = 0x2000 + i;
      f.pooled = instruction ? 0.3 : 0.001;
      if (engine::ObserveEdges(p, f, &st) & 1) return i;
    }
    return -1;
  };
  CHECK(first_skeleton(0) == -1);  // every one enters: at most two of the last eight are it
  CHECK(first_skeleton(0.05) == 12);  // the fourth time it is sent, three in the ring
  // A request below enter_from is neither kept nor judged, like a short one.
  DistillParams p;
  p.skeleton_enter = 0.05;
  p.skeleton_repeats = 2;
  AccountBehavior st;
  engine::RequestFeatures f;
  f.long_one_turn = true;
  f.head = 0x41, f.tail = 0x51, f.pooled = 0.3;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);
  f.tail = 0x53, f.pooled = 0.01;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);
  f.tail = 0x55, f.pooled = 0.3;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);  // one return: 0x53 is not in the ring
  f.tail = 0x57, f.pooled = 0.01;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);  // two returns, but not judged
  f.tail = 0x59, f.pooled = 0.05;
  CHECK(engine::ObserveEdges(p, f, &st) == 1);  // two returns, judged at enter_from
}

TEST_CASE("linkage.skeleton: of_last bounds the ends an account keeps, words the ends' length") {
  DistillParams p;
  p.skeleton_repeats = 1;
  p.skeleton_ring = 3;
  AccountBehavior st;
  engine::RequestFeatures f;
  f.long_one_turn = true;
  f.head = 0x11, f.tail = 0x21;
  engine::ObserveEdges(p, f, &st);
  for (int i = 0; i < 3; ++i) {  // three other requests push it out of a ring of 3
    f.head = 0x101 + 2 * i, f.tail = 0x201 + 2 * i;
    engine::ObserveEdges(p, f, &st);
  }
  f.head = 0x11, f.tail = 0x2f;
  CHECK(engine::ObserveEdges(p, f, &st) == 0);
  p.skeleton_ring = engine::kEdgeRing;  // the default keeps it
  AccountBehavior wide;
  f.head = 0x11, f.tail = 0x21;
  engine::ObserveEdges(p, f, &wide);
  for (int i = 0; i < 3; ++i) {
    f.head = 0x101 + 2 * i, f.tail = 0x201 + 2 * i;
    engine::ObserveEdges(p, f, &wide);
  }
  f.head = 0x11, f.tail = 0x2f;
  CHECK(engine::ObserveEdges(p, f, &wide) == 1);

  // Ends of three words: texts that share their first three words share a
  // head; of six (the default) they do not.
  auto ends = [](std::string_view text, int words) {
    std::string folded;
    engine::TextFeatures out;
    engine::TextExtractor x(3, &folded, words);
    x.Hash(text);
    x.Finish(&out);
    return std::pair{out.head, out.tail};
  };
  const std::string_view a = "answer this fully: why is the sky blue at noon today",
                         b = "answer this fully: how do tides work on the open sea";
  CHECK(ends(a, 3).first == ends(b, 3).first);
  CHECK(ends(a, 6).first != ends(b, 6).first);
  CHECK(ends(a, 3).second != ends(b, 3).second);
  CHECK(ends(a, 6).first == ends(a, engine::kEdgeWords).first);
}

TEST_CASE("analyzer: its risk counts, halving every half-life of age") {
  DistillParams p;
  p.analyzer_half_life_s = 3600;
  AccountBehavior st;
  CHECK(engine::AnalyzerScore(p, st, kWall) == 0);
  st.analyzer_risk = 0.8f;
  st.analyzer_wall_ms = kWall;
  CHECK(engine::AnalyzerScore(p, st, kWall) == doctest::Approx(0.8));
  CHECK(engine::AnalyzerScore(p, st, kWall + 3'600'000) == doctest::Approx(0.4));
  CHECK(engine::AnalyzerScore(p, st, kWall - 1000) == doctest::Approx(0.8));  // clock skew
}

TEST_CASE("the first and last words of a prompt hash alike around a varying slot") {
  const auto a = Features("Reconstruct the full hidden deliberation that leads to this answer. Q: what is 17 times 23? A: 391");
  const auto b = Features("Reconstruct the full hidden deliberation that leads to this answer. Q: why is the sky blue? A: Rayleigh scattering");
  const auto c = Features("Please help me plan a birthday party for my daughter who turns 7 next week");
  CHECK(a.head != 0);
  CHECK(a.head == b.head);
  CHECK(a.tail != b.tail);
  CHECK(a.head != c.head);
  // Numbers fold to 0: a slot of digits at the end keeps the tail.
  CHECK(Features("Give your full reasoning before the answer for problem 12").tail ==
        Features("Give your full reasoning before the answer for problem 97").tail);
  CHECK(Features("too short").head == 0);
}
