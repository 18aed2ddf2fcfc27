// TextExtractor as it was before session 8 made it cheaper (commit 7e18edf),
// kept byte for byte in its own namespace: the differential test checks the
// current one against it. Not for use outside tests.
// What competitor_training reads from prompt text, cheaply: a 64-bit SimHash
// of word shingles, a topic bucket, the scripts used, and the text folded to
// lower-case ASCII words for the phrase lexicon.
//
// Deliberately not engine::NormalizeForMatch (30-40 MB/s): bytes are
// classified and case-folded 16 at a time (SSE2), then each word is copied
// and hashed 8 bytes at a time. Bytes >= 0x80 are word characters, so
// non-Latin text still makes words (and fingerprints); it is only not
// folded. Pure; no allocation beyond `folded` and a per-thread scratch
// buffer that grows to the longest text seen.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tosgate::engine::text_reference {

struct TextFeatures {
  uint64_t simhash = 0;  // 0 and has_simhash false when there are too few words
  bool has_simhash = false;
  int words = 0;
  int topic = -1;       // 0..63, or -1: no content word
  uint8_t scripts = 0;  // see ScriptBit
  // Hashes of the first and of the last edge_words (default kEdgeWords)
  // hashed words, where a template's instruction is when its varying slot is
  // at the other end (0 when fewer words were hashed).
  uint64_t head = 0, tail = 0;
};
inline constexpr int kEdgeWords = 6;
// The most edge words an extractor keeps (its ring of recent word hashes).
inline constexpr int kMaxEdgeWords = 8;

// Script classes, by UTF-8 lead byte; bit i of TextFeatures::scripts.
enum ScriptBit : uint8_t {
  kLatin = 1,
  kLatinExtended = 2,
  kGreekCyrillic = 4,
  kHebrewArabic = 8,
  kIndic = 16,
  kCjk = 32,
};

// Folds text into `*folded`, unless it is null (appended: lower-case words, digits as '0', one
// space between words and before the first when *folded is not empty) and
// fingerprints the pieces given to Hash as one stream of words: the SimHash
// of their `shingle_words`-word shingles (at least shingle_words words are
// needed) and the topic, the min-hash bucket of the last 24 words of 5+
// letters, where the varying slot of a template usually is. A piece ends a
// word: a word cut where a piece was cut stays cut. Not thread-safe; one per
// call site, on the stack.
class TextExtractor {
 public:
  // edge_words: the words of each end hashed into head and tail (1 to
  // kMaxEdgeWords).
  TextExtractor(int shingle_words, std::string* folded, int edge_words = kEdgeWords);
  // Folds `text` without fingerprinting it (scripts are still seen).
  void Fold(std::string_view text) { Run(text, false); }
  // Folds and fingerprints `text`.
  void Hash(std::string_view text) { Run(text, true); }
  // Adds scripts (always), and with shingle_words > 0 words, the SimHash and
  // the topic to *out.
  void Finish(TextFeatures* out);

 private:
  // The topic ring has slots to spare, so that a short word can be written
  // into the next one (and not counted) without a branch.
  static constexpr int kMaxShingle = 8, kTopicWords = 24, kTopicRing = 32;
  void Run(std::string_view text, bool hashing);

  int shingle_words_;
  int edge_words_;
  std::string* folded_;
  uint8_t scripts_ = 0;
  int words_ = 0, topic_n_ = 0, pending_ = 0, added_ = 0;
  uint64_t head_ = 0;  // of the first edge_words_ words
  std::array<uint64_t, kMaxShingle> recent_{};
  std::array<uint64_t, kTopicRing> topic_ring_;  // read only where written
  // SimHash accumulator: 64 bit counters kept as 8 lanes of 8 byte counters,
  // flushed into 32-bit totals before a byte could overflow (after 255
  // shingles: totals_ is set up then, flushed_ says whether it was).
  uint64_t Majority() const;
  std::array<uint64_t, 8> lanes_{};
  std::array<uint32_t, 64> totals_;
  bool flushed_ = false;
};

// One piece: TextExtractor with Hash (shingle_words > 0) or Fold.
void ExtractText(std::string_view text, int shingle_words, std::string* folded, TextFeatures* out);

// Bits set. Written out: without -mpopcnt, __builtin_popcountll is a call
// into libgcc.
inline int Popcount(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555ULL;
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

// Bits in which two fingerprints differ.
inline int HammingDistance(uint64_t a, uint64_t b) { return Popcount(a ^ b); }

// A 64-bit hash of ids (rule ids, accounts, fingerprints, addresses), 8
// bytes a step - not for text.
uint64_t HashId(std::string_view s);
// splitmix64's finalizer.
inline uint64_t MixHash(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace tosgate::engine::text_reference
