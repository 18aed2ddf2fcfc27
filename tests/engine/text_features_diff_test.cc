// TextExtractor against the implementation it replaced (kept in
// text_features_reference.cc): the same folded text, fingerprint, edges,
// topic, scripts and word count on generated and adversarial text, in the
// pieces competitor_training feeds it (a folded system text, then the start
// and end of the user text), for every shingle and edge width.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/distill/text_features.h"
#include "tests/engine/text_features_reference.h"

using namespace tosgate;

namespace {

// A small deterministic generator (no <random>: the same bytes everywhere).
struct Gen {
  uint64_t s;
  uint64_t Next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return engine::MixHash(s);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
};

// Pieces of text: words of every class and length, separators, multi-byte
// characters of each script (and broken ones), digits, control bytes.
std::string Text(Gen& g, size_t max_len) {
  static const std::vector<std::string> kPieces = {
      "a", "the", "Step", "BY", "step", "reasoning", "antidisestablishmentarianism",
      "x1", "42", "3.14", "0", "9999999999999999999", "é", "Привет", "мир", "שלום",
      "مرحبا", "नमस्ते", "日本語", "漢字かな", "🙂", "\xC3", "\xE3\x81", "\x80\x80",
      "\xFF", "\x7F", "\x00", " ", "  ", "\n", "\t", "-", "_", "@", "[", "`", "{",
      "/", ":", "...", "ＡＢＣ", "Ǆ", "ß"};
  std::string out;
  const size_t target = g.Below(max_len + 1);
  while (out.size() < target) {
    switch (g.Below(4)) {
      case 0:
        out += kPieces[g.Below(kPieces.size())];
        break;
      case 1:  // a run of letters: words of 1..40 bytes across 16- and 64-byte blocks
        for (size_t n = 1 + g.Below(40); n > 0; --n)
          out += static_cast<char>((g.Below(2) ? 'a' : 'A') + g.Below(26));
        break;
      case 2:
        out += static_cast<char>(g.Below(256));
        break;
      default:
        out += ' ';
    }
  }
  out.resize(target);  // may cut a multi-byte character: so may a request's limits
  return out;
}

struct Out {
  std::string folded;
  uint64_t simhash, head, tail;
  bool has_simhash;
  int words, topic;
  uint8_t scripts;
};

// The rule's way: system text folded, user text hashed in one or two pieces.
template <class Extractor, class Features>
Out Run(int shingle, int edges, bool fold, const std::string& prefilled, std::string_view system,
        const std::vector<std::string_view>& user) {
  Out o;
  o.folded = prefilled;
  Features f;
  Extractor x(shingle, fold ? &o.folded : nullptr, edges);
  x.Fold(system);
  for (std::string_view piece : user) x.Hash(piece);
  x.Finish(&f);
  o.simhash = f.simhash, o.head = f.head, o.tail = f.tail, o.has_simhash = f.has_simhash;
  o.words = f.words, o.topic = f.topic, o.scripts = f.scripts;
  return o;
}

void Same(int shingle, int edges, bool fold, const std::string& prefilled, std::string_view system,
          const std::vector<std::string_view>& user) {
  const Out now = Run<engine::TextExtractor, engine::TextFeatures>(shingle, edges, fold, prefilled,
                                                                   system, user);
  const Out old = Run<engine::text_reference::TextExtractor, engine::text_reference::TextFeatures>(
      shingle, edges, fold, prefilled, system, user);
  INFO("shingle " << shingle << " edges " << edges << " system " << system.size() << " bytes, "
                  << user.size() << " user pieces");
  REQUIRE(now.folded == old.folded);
  REQUIRE(now.simhash == old.simhash);
  REQUIRE(now.has_simhash == old.has_simhash);
  REQUIRE(now.head == old.head);
  REQUIRE(now.tail == old.tail);
  REQUIRE(now.words == old.words);
  REQUIRE(now.topic == old.topic);
  REQUIRE(now.scripts == old.scripts);
}

}  // namespace

TEST_CASE("TextExtractor gives what the implementation it replaced gave, on generated text") {
  Gen g{20};
  for (int trial = 0; trial < 3000; ++trial) {
    // Mostly the rule's sizes (256 bytes of user text, 256 of system), some
    // long enough for more than 255 shingles (the counters' flush).
    const size_t max_len = trial % 10 == 0 ? 4000 : 400;
    const std::string system = g.Below(3) ? "" : Text(g, 300);
    const std::string user = Text(g, max_len);
    std::vector<std::string_view> pieces;
    if (user.size() > 256 && g.Below(2)) {
      pieces = {std::string_view(user).substr(0, 171), std::string_view(user).substr(user.size() - 85)};
    } else {
      pieces = {user};
    }
    const int shingle = static_cast<int>(g.Below(10)) - 1;  // -1..8: none, and wider than kept
    const int edges = static_cast<int>(g.Below(10));        // 0..9: clamped to 1..8
    const std::string prefilled = g.Below(4) ? "" : Text(g, 20);
    Same(shingle, edges, g.Below(5) != 0, prefilled, system, pieces);
  }
}

TEST_CASE("TextExtractor gives what the implementation it replaced gave, on adversarial text") {
  const std::vector<std::string> texts = {
      "",
      " ",
      std::string(1000, ' '),
      std::string(1, '\0'),
      std::string(300, '\0'),
      "a",
      "0123456789 9876543210 00 1 2 3",
      std::string(5000, 'a'),                 // one word far longer than 16 bytes
      std::string(4096, '\xFF'),               // bytes >= 0x80: one long word, no script
      "Think STEP-by-step: 42 ways! Show your reasoning; think carefully.",
      "Привет мир, как дела? 日本語のテキスト 🙂🙂 שלום עולם مرحبا بالعالم नमस्ते",
      "mixed1abc2DEF3ghi émigré naïve café résumé Ǆ ß ＡＢＣ",
      "\xC3\x28 \xA0\xA1 \xE2\x28\xA1 \xF0\x28\x8C\xBC invalid UTF-8",
  };
  std::string many;  // 2,000 words: the counters flush several times
  for (int i = 0; i < 2000; ++i) many += "w" + std::to_string(i % 97) + "x ";
  std::string tokens;  // word boundaries on every byte of 16- and 64-byte blocks
  for (int i = 0; i < 600; ++i) tokens += std::string(static_cast<size_t>(1 + i % 23), 'k') + ".";
  std::vector<std::string> all = texts;
  all.push_back(many);
  all.push_back(tokens);
  for (const std::string& t : all) {
    for (int shingle : {0, 1, 2, 3, 5, 8}) {
      for (int edges : {1, 6, 8}) {
        for (bool fold : {false, true}) {
          Same(shingle, edges, fold, "", "", {t});
          Same(shingle, edges, fold, "prior text", t.substr(0, 256), {t});
          if (t.size() > 256)
            Same(shingle, edges, fold, "", "", {std::string_view(t).substr(0, 171),
                                                std::string_view(t).substr(t.size() - 85)});
        }
      }
    }
  }
}
