// competitor_training's fast paths: the SIMD folding and word walk of
// TextExtractor against a byte-at-a-time reference, the flat table of the
// cluster index (bounds, eviction, deletion), LinkMany against Link, and the
// bounded read of long prompts.
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "distill_support.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/flat_table.h"
#include "engine/distill/text_features.h"

using namespace tosgate;

namespace {

// The folding rule, one byte at a time: ASCII letters lower-cased, digits as
// '0', bytes >= 0x80 kept, anything else separates words.
std::string ReferenceFold(const std::string& text) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += ' ';
    out += word;
    word.clear();
  };
  for (unsigned char c : text) {
    if (c >= 'A' && c <= 'Z')
      word += static_cast<char>(c + 32);
    else if ((c >= 'a' && c <= 'z') || c >= 0x80)
      word += static_cast<char>(c);
    else if (c >= '0' && c <= '9')
      word += '0';
    else
      flush();
  }
  flush();
  return out;
}

struct Rec {
  int64_t last_ns = 0;
  uint64_t payload = 0;
};

}  // namespace

TEST_CASE("folding matches a byte-at-a-time reference at every length and word position") {
  test::Lcg r(11);
  // Bytes chosen to hit every class and both SIMD range edges.
  const std::string alphabet = "aZz@[`{09/:- \n\t.\x80\xC3\xA9\xD0\xFF\x7F";
  for (int len = 0; len < 300; ++len) {
    for (int trial = 0; trial < 4; ++trial) {
      std::string text;
      for (int i = 0; i < len; ++i) {
        // Long runs of letters too, so that words of 1..40 bytes cross 16- and 64-byte blocks.
        if (r.Next() % 3 == 0)
          text += alphabet[r.Next() % alphabet.size()];
        else
          text += static_cast<char>('a' + r.Next() % 26);
      }
      std::string folded;
      engine::TextFeatures f;
      engine::ExtractText(text, 3, &folded, &f);
      REQUIRE(folded == ReferenceFold(text));
      if (f.words >= 3) CHECK(f.has_simhash);
    }
  }
}

TEST_CASE("fingerprints are the same as before the fast path (values pinned)") {
  // These values are what the byte-at-a-time implementation gave; a change
  // here changes which stored prompts count as near-duplicates.
  std::string folded;
  engine::TextFeatures f;
  engine::ExtractText(
      "You are a careful tutor. Answer the question below step by step. river market engine "
      "garden planet violin harbor protein window silver forest algebra Think  STEP-by-step: 42 "
      "ways!",
      3, &folded, &f);
  CHECK(f.simhash == 0xa4cd3716c29a25e0ULL);
  CHECK(f.topic == 3);
  CHECK(f.words == 30);
}

TEST_CASE("past 255 shingles the counts carry over into wider totals") {
  // "a b c" repeated has three shingles (a b c, b c a, c a b) in equal
  // numbers, so its SimHash is their bitwise majority: that of "a b c a b",
  // which has each once. 600 of them, then 180 of another block's, still
  // give the first block's majority - if every count is kept: the byte
  // counters pass 255 three times. Had the first 510 been lost, the second
  // block would win.
  auto simhash = [](const std::string& text) {
    std::string folded;
    engine::TextFeatures f;
    engine::ExtractText(text, 3, &folded, &f);
    REQUIRE(f.has_simhash);
    return f.simhash;
  };
  const uint64_t first = simhash("river market engine river market");
  const uint64_t second = simhash("violin harbor protein violin harbor");
  REQUIRE(first != second);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "river market engine ";
  for (int i = 0; i < 60; ++i) text += "violin harbor protein ";
  CHECK(simhash(text) == first);
}

TEST_CASE("a word of more than 16 bytes is hashed whole") {
  std::string a, b;
  engine::TextFeatures fa, fb;
  engine::ExtractText("one two antidisestablishmentarianism three four", 3, &a, &fa);
  engine::ExtractText("one two antidisestablishmentarianisn three four", 3, &b, &fb);
  CHECK(a == "one two antidisestablishmentarianism three four");
  CHECK(fa.simhash != fb.simhash);  // the last letter of a 28-byte word counts
}

TEST_CASE("pieces given to Hash continue one stream of words; Fold adds no words") {
  std::string whole, pieces;
  engine::TextFeatures fw, fp;
  engine::ExtractText("alpha bravo charlie delta echo foxtrot", 3, &whole, &fw);
  engine::TextExtractor x(3, &pieces);
  x.Fold("System Text");
  x.Hash("alpha bravo charlie");
  x.Hash("delta echo foxtrot");
  x.Finish(&fp);
  CHECK(pieces == "system text alpha bravo charlie delta echo foxtrot");
  CHECK(fp.words == 6);
  CHECK(fp.simhash == fw.simhash);  // shingles span the cut between pieces
}

TEST_CASE("near-duplicates stay within max_distance and unrelated prompts far apart") {
  test::Lcg r(5);
  const engine::DistillParams p;
  std::string folded;
  auto hash = [&](const std::string& s) {
    folded.clear();
    engine::TextFeatures f;
    engine::ExtractText(s, p.shingle_words, &folded, &f);
    return f.simhash;
  };
  int near = 0, far = 0;
  for (int i = 0; i < 200; ++i) {
    near += engine::HammingDistance(hash(test::TemplatePrompt(r)), hash(test::TemplatePrompt(r))) <=
            p.max_distance;
    far += engine::HammingDistance(hash(test::RandomPrompt(r)), hash(test::RandomPrompt(r))) >
           p.max_distance;
  }
  CHECK(near >= 180);
  CHECK(far >= 198);
}

TEST_CASE("Popcount and HammingDistance count bits") {
  CHECK(engine::Popcount(0) == 0);
  CHECK(engine::Popcount(~uint64_t{0}) == 64);
  CHECK(engine::Popcount(0x8000000000000001ULL) == 2);
  CHECK(engine::HammingDistance(0xF0F0, 0x0FF0) == 8);
}

TEST_CASE("flat table: finds what it holds, grows, and never holds more than its bound") {
  engine::FlatTable<Rec> t(1000);
  std::unordered_map<uint64_t, uint64_t> live;
  test::Lcg r(3);
  uint64_t evictions = 0;
  for (int i = 0; i < 20'000; ++i) {
    const uint64_t key = engine::MixHash(r.Next() % 3000);
    bool inserted = false, evicted = false;
    Rec* rec = t.FindOrInsert(key, &inserted, &evicted);
    if (evicted) ++evictions;
    if (inserted) CHECK(rec->payload == 0);
    rec->last_ns = i;
    rec->payload = key ^ 1;
    REQUIRE(t.size() <= 1000);
  }
  CHECK(t.size() == 1000);
  CHECK(t.capacity() * 3 >= t.size() * 4);  // at most 3/4 full
  CHECK(evictions > 0);
  // Backward-shift deletion moved records around; each one left must still
  // be found under its own key, with its own payload.
  size_t found = 0;
  for (uint32_t k = 0; k < 3000; ++k) {
    const uint64_t key = engine::MixHash(k);
    if (Rec* rec = t.Find(key)) {
      CHECK(rec->payload == (key ^ 1));
      ++found;
    }
  }
  CHECK(found == t.size());
}

TEST_CASE("flat table: grown to its bound it is 3/4 full, and never under half full after growing") {
  engine::FlatTable<Rec> t(1000);
  bool ins = false, ev = false;
  size_t capacity = t.capacity();
  for (uint64_t k = 1; k <= 1000; ++k) {
    t.FindOrInsert(engine::MixHash(k), &ins, &ev);
    REQUIRE(t.size() * 4 <= t.capacity() * 3);
    if (t.capacity() != capacity) {
      CHECK(t.size() * 2 >= t.capacity() - 1);  // grew by half
      capacity = t.capacity();
    }
  }
  CHECK_FALSE(ev);
  CHECK(t.capacity() == 1334);  // 1000 at 3/4, not a power of two
  for (uint64_t k = 1; k <= 1000; ++k) CHECK(t.Find(engine::MixHash(k)) != nullptr);
}

TEST_CASE("flat table: a full table evicts the least recently seen record of its sample") {
  // Eight records: the sample of eight covers them all, so the oldest goes.
  engine::FlatTable<Rec> t(8);
  bool ins = false, ev = false;
  for (uint64_t k = 1; k <= 8; ++k) {
    t.FindOrInsert(engine::MixHash(k), &ins, &ev)->last_ns =
        k == 5 ? 0 : static_cast<int64_t>(100 + k);
    CHECK_FALSE(ev);
  }
  t.FindOrInsert(engine::MixHash(99), &ins, &ev)->last_ns = 200;
  CHECK(ins);
  CHECK(ev);
  CHECK(t.size() == 8);
  CHECK(t.Find(engine::MixHash(5)) == nullptr);
  for (uint64_t k : {1, 2, 3, 4, 6, 7, 8, 99}) CHECK(t.Find(engine::MixHash(k)) != nullptr);
}

TEST_CASE("flat table: key 0 is a key like any other") {
  engine::FlatTable<Rec> t(8);
  bool ins = false, ev = false;
  t.FindOrInsert(0, &ins, &ev)->payload = 42;
  CHECK(ins);
  REQUIRE(t.Find(0) != nullptr);
  CHECK(t.Find(0)->payload == 42);
}

TEST_CASE("LinkMany answers what Link per bucket answers") {
  auto a = engine::NewMemoryBehaviorStore();
  auto b = engine::NewMemoryBehaviorStore();
  const uint64_t buckets[] = {11, 22, 33, 11};
  for (int acct = 0; acct < 40; ++acct) {
    engine::ClusterObservation many[4];
    a->LinkMany(buckets, 4, engine::HashId("a" + std::to_string(acct)), 0.5f, acct, many);
    for (int i = 0; i < 4; ++i) {
      const engine::ClusterObservation one =
          b->Link(buckets[i], engine::HashId("a" + std::to_string(acct)), 0.5f, acct);
      CHECK(many[i].accounts == one.accounts);
      CHECK(many[i].suspicion == doctest::Approx(one.suspicion));
    }
  }
  CHECK(a->stats().buckets == 3);
}

TEST_CASE("a long prompt is read at its start and its end, not its middle") {
  // Chain-of-thought wording in the middle of a 3 KB prompt is not seen;
  // at its start it is (TestConfig's lexicon has "step by step").
  const std::string filler(1500, 'x');
  auto risk_after = [&](const std::string& text) {
    test::DistillRig rig(test::TestConfig());
    Decision d;
    for (int i = 0; i < 12; ++i) {
      d = rig.Check(test::DistillRequest("acct", text));
      rig.clock.advance_ms(60'000);
    }
    return d.risk;
  };
  CHECK(risk_after(filler + " think step by step " + filler) < 0.1);
  CHECK(risk_after("think step by step " + filler + " " + filler) > 0.3);
  CHECK(risk_after(filler + " " + filler + " think step by step") > 0.3);
}

TEST_CASE("competitor_training from 8 threads: no record update or account link is lost") {
  // Every thread sends requests of the same 16 accounts, which share one
  // card: each request updates a record other threads update too and links
  // into the bucket every request links into. (Under TSan this also checks
  // the locking of records, buckets and the flat table.)
  test::DistillRig rig(test::TestConfig());
  constexpr int kThreads = 8, kAccounts = 16, kRequests = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&rig, t] {
      test::Lcg r(static_cast<uint64_t>(t) + 1);
      for (int i = 0; i < kRequests; ++i) {
        Request q = test::DistillRequest(
            "a" + std::to_string((i + t) % kAccounts),
            test::TemplatePrompt(r), "10.0." + std::to_string(t) + "." + std::to_string(i % 250));
        q.account->payment_fingerprint = "pf_shared";
        (void)rig.Check(q);
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t requests = 0;
  for (int a = 0; a < kAccounts; ++a)
    rig.behavior->Update(engine::BehaviorKey("distill", "a" + std::to_string(a)), 0,
                         [&](engine::AccountBehavior& st) { requests += st.requests; });
  CHECK(requests == uint64_t{kThreads} * kRequests);
  CHECK(rig.behavior->stats().accounts == kAccounts);
}
