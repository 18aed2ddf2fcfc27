// What competitor_training reads from prompt text, cheaply: a 64-bit SimHash
// of word shingles, a topic bucket, the scripts used, and the text folded to
// lower-case ASCII words for the phrase lexicon.
//
// Deliberately not engine::NormalizeForMatch (30-40 MB/s): one pass over at
// most a few KB, ASCII case folding, words hashed 8 bytes at a time. Bytes
// >= 0x80 are word characters, so non-Latin text still makes words (and
// fingerprints); it is only not folded. Pure; no allocation beyond `folded`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tosgate::engine {

struct TextFeatures {
  uint64_t simhash = 0;  // 0 and has_simhash false when there are too few words
  bool has_simhash = false;
  int words = 0;
  int topic = -1;       // 0..63, or -1: no content word
  uint8_t scripts = 0;  // see ScriptBit
};

// Script classes, by UTF-8 lead byte; bit i of TextFeatures::scripts.
enum ScriptBit : uint8_t {
  kLatin = 1,
  kLatinExtended = 2,
  kGreekCyrillic = 4,
  kHebrewArabic = 8,
  kIndic = 16,
  kCjk = 32,
};

// Folds `text` into `*folded` (appended: lower-case words, digits as '0',
// one space between words and before the first when *folded is not empty)
// and, with `shingle_words` > 0, computes the SimHash of its
// `shingle_words`-word shingles (at least shingle_words words are needed)
// and the topic: the min-hash bucket of the last 24 words of 5+ letters,
// where the varying slot of a template usually is.
void ExtractText(std::string_view text, int shingle_words, std::string* folded, TextFeatures* out);

// Bits in which two fingerprints differ.
inline int HammingDistance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

// 64-bit FNV-1a, for ids (rule ids, accounts, fingerprints) - not for text.
uint64_t HashId(std::string_view s);
// splitmix64's finalizer.
uint64_t MixHash(uint64_t x);

}  // namespace tosgate::engine
