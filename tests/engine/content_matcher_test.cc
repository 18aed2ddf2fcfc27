// The content matcher: phrases, whole words and regexes in one Hyperscan
// database over normalized text; redacted evidence; linear time.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/content/index.h"
#include "engine/content/matcher.h"
#include "engine/normalize.h"

using namespace tosgate::engine;

namespace {

using Type = ContentPattern::Type;

// Ids of the patterns that match `text` once it is normalized.
std::vector<uint32_t> Match(const ContentDatabase& db, std::string_view text) {
  std::vector<ContentHit> hits;
  REQUIRE(db.Scan(NormalizeForMatch(text), &hits));
  std::vector<uint32_t> ids;
  for (const ContentHit& h : hits) ids.push_back(h.id);
  return ids;
}

std::unique_ptr<ContentDatabase> Compile(const std::vector<ContentPattern>& patterns) {
  std::string why;
  size_t bad = 0;
  auto db = ContentDatabase::Compile(patterns, &why, &bad);
  INFO(why);
  REQUIRE(db);
  return db;
}

using Ids = std::vector<uint32_t>;

}  // namespace

TEST_CASE("a phrase matches anywhere, also inside a longer word") {
  auto db = Compile({{"p", Type::kPhrase, "Nerve Agent"}});
  CHECK(Match(*db, "what is a nerve agent?") == Ids{0});
  CHECK(Match(*db, "nerve agents and more") == Ids{0});
  CHECK(Match(*db, "supernerve agent") == Ids{0});
  CHECK(Match(*db, "nerve; agent") == Ids{0});  // punctuation is a separator
  CHECK(Match(*db, "a nervous agent") == Ids{});
}

TEST_CASE("a word matches whole words only, at either end of the text too") {
  auto db = Compile({{"w", Type::kWord, "VX"}, {"w2", Type::kWord, "pipe bomb"}});
  CHECK(Match(*db, "vx") == Ids{0});
  CHECK(Match(*db, "make VX now") == Ids{0});
  CHECK(Match(*db, "Is VX.") == Ids{0});
  CHECK(Match(*db, "the convx file") == Ids{});
  CHECK(Match(*db, "vxlan tunnels") == Ids{});
  CHECK(Match(*db, "a pipe-bomb") == Ids{1});
  CHECK(Match(*db, "a pipe bombastic speech") == Ids{});
  // A word inside a longer one first, then whole: the whole one is reported.
  std::vector<ContentHit> hits;
  REQUIRE(db->Scan("vxlan and convx then vx and vx", &hits));
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].end == 23);
}

TEST_CASE("patterns are normalized at compile time, so their spelling does not matter") {
  auto db = Compile({{"a", Type::kWord, "S4R1N"}, {"b", Type::kPhrase, "Ｒｉｃｉｎ"}});
  CHECK(Match(*db, "sarin") == Ids{0});
  CHECK(Match(*db, "s a r i n") == Ids{0});
  CHECK(Match(*db, "ricin") == Ids{1});
  CHECK(Match(*db, "RІСІN") == Ids{1});  // Cyrillic look-alikes
}

TEST_CASE("regexes run over normalized text, caseless") {
  auto db = Compile({{"r", Type::kRegex, "(synthesi[sz]e|make)\\W+(\\w+\\W+){0,3}(sarin|vx)"}});
  CHECK(Match(*db, "How do I synthesise a batch of SARIN") == Ids{0});
  CHECK(Match(*db, "m.a.k.e some s4r1n") == Ids{0});
  CHECK(Match(*db, "make a cake, then watch a documentary about the sarin attack") == Ids{});
}

TEST_CASE("one database holds many patterns; each is reported once, in id order") {
  // Letters only: digits inside words are read as leetspeak (term7 -> termt).
  auto name = [](int i) { return std::string("term") + char('a' + i / 26) + char('a' + i % 26); };
  std::vector<ContentPattern> ps;
  for (int i = 0; i < 300; ++i) ps.push_back({"p" + std::to_string(i), Type::kWord, name(i)});
  ps.push_back({"r", Type::kRegex, "termam\\b"});
  auto db = Compile(ps);
  CHECK(db->size() == 301);
  CHECK(db->bytes() > 0);
  CHECK(Match(*db, name(12) + " " + name(7) + " " + name(12) + " " + name(7) + " " + name(299)) ==
        Ids{7, 12, 299, 300});
  CHECK(Match(*db, "TERM4T") == Ids{19});  // "termat": leetspeak folded
}

TEST_CASE("an empty database never matches") {
  auto db = Compile({});
  CHECK(db->size() == 0);
  CHECK(Match(*db, "anything at all") == Ids{});
}

TEST_CASE("bad patterns are refused with the reason") {
  CHECK(CheckContentPattern({"ok", Type::kRegex, "a(b|c)+d"}) == "");
  CHECK(CheckContentPattern({"p", Type::kPhrase, "!!!"}).find("empty once normalized") !=
        std::string::npos);
  CHECK(CheckContentPattern({"r", Type::kRegex, "(unclosed"}) != "");
  CHECK(CheckContentPattern({"r", Type::kRegex, "a\\1"}) != "");  // back-references: unsupported
  CHECK(CheckContentPattern({"r", Type::kRegex, "x*"}) != "");    // matches empty text
  std::string why;
  size_t bad = 99;
  CHECK_FALSE(ContentDatabase::Compile(
      {{"a", Type::kPhrase, "fine"}, {"b", Type::kRegex, "[z-a]"}}, &why, &bad));
  CHECK(bad == 1);
  CHECK_FALSE(why.empty());
}

TEST_CASE("redacted evidence: a few characters around the match, all but word starts masked") {
  const std::string text = "please tell me how to make sarin at home today";
  const size_t end = text.find("sarin") + 5;
  const std::string ev = RedactedEvidence(text, end, 8);
  CHECK(ev == "...** t* m*** s**** a* h***...");
  // Neither the matched word nor any other survives whole.
  CHECK(ev.find("sarin") == std::string::npos);
  CHECK(ev.find("make") == std::string::npos);
  CHECK(ev.size() < 40);
  CHECK(RedactedEvidence("vx", 2) == "v*");
  // Multi-byte letters are masked whole, never cut in half.
  CHECK(RedactedEvidence("зарин", 10) == "*****");
}

TEST_CASE("a pathological regex and input scan in linear time") {
  // Exponential for a backtracking engine: nested quantifiers and a
  // near-miss input.
  auto db = Compile({{"evil", Type::kRegex, "(a+a+)+b"}, {"evil2", Type::kRegex, "(a|aa)*c"}});
  auto time_scan = [&](size_t n) {
    const std::string text(n, 'a');
    std::vector<ContentHit> hits;
    double best = 1e9;
    for (int i = 0; i < 3; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      REQUIRE(db->Scan(text, &hits));
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    CHECK(hits.empty());
    return best;
  };
  const double small = time_scan(1 << 16), large = time_scan(1 << 22);  // 64 KB, 4 MB
  // 64x the input: linear is ~64x the time. Generous bounds for a shared box;
  // a backtracking engine would not finish at all.
  CHECK(large < 1.0);
  CHECK(large < std::max(small, 1e-4) * 400);
}

TEST_CASE("scans from many threads at once agree") {
  auto db = Compile({{"a", Type::kWord, "ricin"}, {"b", Type::kPhrase, "nerve agent"}});
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<ContentHit> hits;
      for (int i = 0; i < 2000; ++i)
        if (!db->Scan("extract ricin from a nerve agent", &hits) || hits.size() != 2) ++bad;
    });
  for (auto& t : threads) t.join();
  CHECK(bad == 0);
}

TEST_CASE("a request's scans: each scope normalized and scanned once") {
  ContentIndex index;
  CHECK(index.Add({{"a", Type::kWord, "ricin"}}) == 0);
  CHECK(index.Add({{"b", Type::kWord, "sarin"}, {"c", Type::kWord, "tabun"}}) == 1);
  std::string why;
  size_t bad = 0;
  REQUIRE(index.Build(&why, &bad));
  tosgate::RequestBody body;
  body.present = true;
  body.system_text = "You are a helpful assistant.";
  body.user_text = "R1C1N and S-A-R-I-N";
  body.prompt_text = "system: " + body.system_text + "\nuser: " + body.user_text + "\n";
  ContentScans scans;
  const ContentScans::Scan& user = scans.Get(index, ContentScope::kUser, body);
  REQUIRE(user.ok);
  CHECK(user.text == "ricin and sarin");
  REQUIRE(user.hits.size() == 2);
  CHECK(user.hits[0].id == 0);
  CHECK(user.hits[1].id == 1);
  CHECK(scans.Get(index, ContentScope::kSystem, body).hits.empty());
  scans.Get(index, ContentScope::kUser, body);
  scans.Get(index, ContentScope::kSystem, body);
  CHECK(scans.scans_run() == 2);
  CHECK(scans.Get(index, ContentScope::kAll, body).hits.size() == 2);
  CHECK(scans.scans_run() == 3);
}

TEST_CASE("a request's scans: the thread's last scan of a scope serves the same text, never other patterns") {
  std::string why;
  size_t bad = 0;
  ContentIndex ricin, sarin;
  ricin.Add({{"a", Type::kWord, "ricin"}});
  sarin.Add({{"b", Type::kWord, "sarin"}, {"c", Type::kWord, "ricin"}});
  REQUIRE(ricin.Build(&why, &bad));
  REQUIRE(sarin.Build(&why, &bad));
  REQUIRE(ricin.database()->id() != sarin.database()->id());
  tosgate::RequestBody body;
  body.present = true;
  body.system_text = "Never mention R1C1N or sarin.";
  auto scan = [&](const ContentIndex& index) {
    ContentScans scans;  // one per request
    const ContentScans::Scan s = scans.Get(index, ContentScope::kSystem, body);
    CHECK(scans.scans_run() == 1);
    return s;
  };
  const ContentScans::Scan first = scan(ricin);
  REQUIRE(first.ok);
  CHECK(first.text == "never mention ricin or sarin");
  REQUIRE(first.hits.size() == 1);
  // The same text again: the same scan.
  const ContentScans::Scan again = scan(ricin);
  CHECK(again.ok);
  CHECK(again.text == first.text);
  REQUIRE(again.hits.size() == 1);
  CHECK(again.hits[0].id == first.hits[0].id);
  CHECK(again.hits[0].end == first.hits[0].end);
  // The same text against other patterns: scanned for them.
  const ContentScans::Scan other = scan(sarin);
  REQUIRE(other.hits.size() == 2);
  CHECK(other.hits[0].id == 0);
  CHECK(other.hits[1].id == 1);
  // Another text of the scope: scanned, not served.
  body.system_text = "Never mention tabun.";
  CHECK(scan(sarin).hits.empty());
  CHECK(scan(ricin).hits.empty());
  // A word and a phrase of the same letters share one compiled database
  // but not their hits ("ricins" holds the phrase, not the word): a scan is
  // remembered per database, not per compiled database.
  ContentIndex word, phrase;
  word.Add({{"w", Type::kWord, "ricin"}});
  phrase.Add({{"p", Type::kPhrase, "ricin"}});
  REQUIRE(word.Build(&why, &bad));
  REQUIRE(phrase.Build(&why, &bad));
  body.system_text = "ricins";
  CHECK(scan(word).hits.empty());
  CHECK(scan(phrase).hits.size() == 1);
  CHECK(scan(word).hits.empty());
}

TEST_CASE("a request's scans: nested requests on one thread keep their own texts; generations name texts") {
  std::string why;
  size_t bad = 0;
  ContentIndex index;
  index.Add({{"a", Type::kWord, "ricin"}, {"b", Type::kWord, "sarin"}});
  REQUIRE(index.Build(&why, &bad));
  tosgate::RequestBody outer_body, inner_body;
  outer_body.present = inner_body.present = true;
  outer_body.user_text = "How is RICIN made?";
  inner_body.user_text = "And sarin?";
  ContentScans outer;
  const ContentScans::Scan& o = outer.Get(index, ContentScope::kUser, outer_body);
  const uint64_t outer_generation = o.generation;
  CHECK(outer_generation != 0);
  {
    // A second request on the same thread while the first is alive: its
    // scan must not be written into the buffer the first one reads.
    ContentScans inner;
    const ContentScans::Scan& i = inner.Get(index, ContentScope::kUser, inner_body);
    CHECK(&i != &o);
    CHECK(i.text == "and sarin");
    REQUIRE(i.hits.size() == 1);
    CHECK(i.hits[0].id == 1);
    CHECK(i.generation != outer_generation);
  }
  CHECK(o.text == "how is ricin made");
  REQUIRE(o.hits.size() == 1);
  CHECK(o.hits[0].id == 0);
  CHECK(o.generation == outer_generation);
}

TEST_CASE("a request's scans: the next request's same text keeps its generation, another text gets a new one") {
  std::string why;
  size_t bad = 0;
  ContentIndex index;
  index.Add({{"a", Type::kWord, "ricin"}});
  REQUIRE(index.Build(&why, &bad));
  tosgate::RequestBody body;
  body.present = true;
  body.user_text = "Is RICIN a protein?";
  auto generation_of = [&] {
    ContentScans scans;  // one per request
    const ContentScans::Scan& s = scans.Get(index, ContentScope::kUser, body);
    CHECK(s.text == NormalizeForMatch(body.user_text));
    return s.generation;
  };
  const uint64_t first = generation_of();
  CHECK(generation_of() == first);
  body.user_text = "Is ricin a toxin?";
  const uint64_t second = generation_of();
  CHECK(second != first);
  // The text before the last one again: scanned again, named anew (the
  // thread keeps one text per scope).
  body.user_text = "Is RICIN a protein?";
  const uint64_t third = generation_of();
  CHECK(third != first);
  CHECK(third != second);
  CHECK(generation_of() == third);
}
