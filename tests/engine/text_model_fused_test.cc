// The fused scorer (engine/textmodel/text_model.cc, FusedWords) against a
// plain reference, on texts written to reach its edges: words of every
// length from 1 to 72 bytes ending 0 to 18 bytes before the end of the text
// (its word hash reads 8 or 16 bytes from a word's start only where the text
// holds them), bytes 0x00, 0x80 and 0xff beside a word (its loads are
// masked to the word), doubled, leading and trailing spaces, the empty text,
// 40 KB of text, and every combination of feature kinds at 1 to 17 labels,
// with and without the 8-float adds. Each text is scored from a heap buffer
// of its exact size, so that a read past it is a read past the allocation
// (the sanitizer build reports it).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/normalize.h"
#include "engine/textmodel/text_model.h"
#include "tests/engine/text_model_reference.h"

namespace tosgate::engine {
namespace internal {
extern bool g_text_model_no_avx2;  // engine/textmodel/text_model.cc, for tests
}  // namespace internal
namespace {


std::string Word(std::mt19937& rng, size_t len) {
  // Letters, digits, the frame's own characters, bytes a mask must clear
  // (0x00, 0xff, 0x80) and UTF-8 letters.
  static const char kBytes[] = "abcdefghijklmnopqrstuvwxyz0123456789^$\x00\xff\x80\xc3\xa9\xe4\xb8\xad";
  std::string w;
  for (size_t i = 0; i < len; ++i) w += kBytes[rng() % (sizeof kBytes - 1)];
  return w;
}

std::vector<std::string> EdgeTexts(std::mt19937& rng) {
  std::vector<std::string> texts = {"", " ", "  ", "a", " a ", "ab", "abc", "abcd", "a  b", " x"};
  for (size_t len = 1; len <= 72; ++len) {
    for (size_t after = 0; after <= 18; ++after) {
      // The word of `len` bytes ends `after` bytes before the end.
      std::string t = Word(rng, 3) + " " + Word(rng, len);
      if (after > 0) t += " " + Word(rng, after - 1);
      texts.push_back(t);
      texts.push_back(Word(rng, len) + std::string(after, ' '));
    }
  }
  for (int i = 0; i < 60; ++i) {
    std::string t = rng() % 8 == 0 ? " " : "";
    const int words = static_cast<int>(rng() % 200);
    for (int w = 0; w < words; ++w) {
      if (w > 0) t += rng() % 15 == 0 ? "  " : " ";
      t += Word(rng, rng() % 10 == 0 ? rng() % 70 + 1 : rng() % 12 + 1);
    }
    if (rng() % 8 == 0) t += " ";
    texts.push_back(t);
  }
  std::string big;
  while (big.size() < 40000) big += Word(rng, rng() % 12 + 1) + " ";
  texts.push_back(big);
  texts.push_back(std::string(10000, 'x'));
  return texts;
}

// Scores `text` from a heap buffer of exactly its size.
void ScoreExact(const TextModel& m, const std::string& text, TextModelScratch* s, std::vector<float>* out) {
  std::unique_ptr<char[]> buf(new char[std::max<size_t>(text.size(), 1)]);
  std::memcpy(buf.get(), text.data(), text.size());
  m.ScoreNormalized(std::string_view(buf.get(), text.size()), s, out);
}

std::shared_ptr<const TextModel> RandomModel(TextModelOptions o, size_t labels, std::mt19937& rng) {
  std::normal_distribution<float> d(0, 0.5f);
  std::vector<std::string> names;
  for (size_t i = 0; i < labels; ++i) names.push_back("l" + std::to_string(i));
  std::vector<float> bias(labels), w((size_t{1} << o.bits) * labels);
  for (auto& b : bias) b = d(rng) - 2;
  for (auto& x : w) x = rng() % 3 == 0 ? 0.0f : d(rng);
  return std::make_shared<TextModel>(o, names, bias, w);
}

TEST_CASE("text model: the fused scorer gives the plain scores bit for bit at the text's edges") {
  std::mt19937 rng(1208);
  const std::vector<std::string> texts = EdgeTexts(rng);
  long compared = 0;
  int id = 0;
  for (size_t labels : {size_t{1}, size_t{5}, size_t{8}, size_t{9}, size_t{13}, size_t{16}, size_t{17}}) {
    // Every combination of words, pairs, 4-grams and edge 4-grams: the
    // shipped kinds are compiled in, the others read at run time.
    for (unsigned kinds = 1; kinds < 16; ++kinds) {
      TextModelOptions o;
      o.words = kinds & 1;
      o.bigrams = kinds & 2;
      o.chars = kinds & 4;
      o.char_edges = kinds & 8;
      if (!o.words && !o.bigrams && !o.chars) continue;
      o.bits = id % 2 == 0 ? 8 : 12;  // 8: the smallest the loader takes
      o.window = id % 3 == 0 ? 4 : id % 3 == 1 ? 16 : 64;
      ++id;
      auto m = RandomModel(o, labels, rng);
      TextModelScratch s;
      std::vector<float> got;
      for (int narrow = 0; narrow < 2; ++narrow) {
        internal::g_text_model_no_avx2 = narrow == 1;
        // Every other edge text per model (all of them for the shipped
        // models below): the test stays a few seconds.
        for (size_t i = (id + narrow) % 2; i < texts.size(); i += 2) {
          ScoreExact(*m, texts[i], &s, &got);
          const std::vector<float> want = ReferenceScores(*m, texts[i]);
          REQUIRE(got.size() == labels);
          bool same = true;
          for (size_t l = 0; l < labels; ++l) same = same && got[l] == want[l];
          INFO("labels " << labels << ", kinds " << kinds << ", narrow " << narrow << ", text #" << i);
          CHECK(same);
          ++compared;
        }
      }
      internal::g_text_model_no_avx2 = false;
    }
  }
  CHECK(compared > 100000);
}

TEST_CASE("text model: the shipped models score the edge texts and the corpora as the plain scorer does") {
  std::mt19937 rng(2612);
  std::vector<std::string> texts = EdgeTexts(rng);
  {
    // A few real prompts, normalized as the rules read them.
    std::ifstream in(std::string(TOSGATE_SOURCE_DIR) + "/tests/corpora/prohibited/dev2.jsonl");
    std::string line;
    for (int i = 0; i < 300 && std::getline(in, line); ++i) texts.push_back(NormalizeForMatch(line));
  }
  for (const char* file : {"/policies/packs/prohibited-use/models/prohibited.model",
                           "/policies/packs/distillation/models/harvest.model"}) {
    std::shared_ptr<const TextModel> m;
    REQUIRE(TextModel::Load(std::string(TOSGATE_SOURCE_DIR) + file, &m).ok());
    TextModelScratch s;
    std::vector<float> got;
    int differ = 0;
    for (const std::string& t : texts) {
      ScoreExact(*m, t, &s, &got);
      if (got != ReferenceScores(*m, t)) ++differ;
    }
    INFO(file);
    CHECK(differ == 0);
  }
}

}  // namespace
}  // namespace tosgate::engine
