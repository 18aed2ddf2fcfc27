#include "engine/distill/text_features.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace tosgate::engine {
namespace {

// 0: a separator; otherwise the byte as it goes into the folded text.
constexpr std::array<uint8_t, 256> kFold = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (c >= 'a' && c <= 'z')
      t[c] = static_cast<uint8_t>(c);
    else if (c >= 'A' && c <= 'Z')
      t[c] = static_cast<uint8_t>(c + 32);
    else if (c >= '0' && c <= '9')
      t[c] = '0';  // numbers in a template's slot do not count
    else if (c >= 0x80)
      t[c] = static_cast<uint8_t>(c);
  }
  return t;
}();

// The script class of a UTF-8 lead byte (0: ASCII, continuation, symbols).
constexpr std::array<uint8_t, 256> kScript = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLatin, t[c - 32] = kLatin;
  for (int c = 0xC3; c <= 0xC9; ++c) t[c] = kLatinExtended;  // U+00C0-027F
  for (int c = 0xCE; c <= 0xD3; ++c) t[c] = kGreekCyrillic;  // U+0380-04FF
  for (int c = 0xD6; c <= 0xDB; ++c) t[c] = kHebrewArabic;   // U+0580-06FF
  t[0xE0] = kIndic;                                          // U+0800-0FFF
  for (int c = 0xE3; c <= 0xED; ++c) t[c] = kCjk;            // U+3000-DFFF
  return t;
}();

// Byte i of kSpread[v] is bit i of v: eight bit counters advanced by one add.
constexpr std::array<uint64_t, 256> kSpread = [] {
  std::array<uint64_t, 256> t{};
  for (int v = 0; v < 256; ++v)
    for (int i = 0; i < 8; ++i)
      if (v >> i & 1) t[v] |= uint64_t{1} << (8 * i);
  return t;
}();

uint64_t Rotl(uint64_t x, int r) { return r == 0 ? x : (x << r) | (x >> (64 - r)); }

uint64_t WordHash(const char* p, size_t n) {
  uint64_t h = n * 0x9E3779B97F4A7C15ULL;
  for (size_t off = 0; off < n; off += 8) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, p + off, n - off < 8 ? n - off : 8);
    h = (h ^ chunk) * 0xff51afd7ed558ccdULL;
  }
  return h ^ (h >> 32);
}

// SimHash accumulator: 64 bit counters kept as 8 lanes of 8 byte counters,
// flushed into 16-bit totals before a byte could overflow.
struct SimHasher {
  std::array<uint64_t, 8> lanes{};
  std::array<uint32_t, 64> totals{};
  int pending = 0, count = 0;

  void Add(uint64_t h) {
    for (int i = 0; i < 8; ++i) lanes[i] += kSpread[(h >> (8 * i)) & 0xff];
    ++count;
    if (++pending == 255) Flush();
  }
  void Flush() {
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 8; ++j) totals[8 * i + j] += (lanes[i] >> (8 * j)) & 0xff;
      lanes[i] = 0;
    }
    pending = 0;
  }
  uint64_t Finish() {
    Flush();
    uint64_t out = 0;
    for (int b = 0; b < 64; ++b)
      if (2 * totals[b] > static_cast<uint32_t>(count)) out |= uint64_t{1} << b;
    return out;
  }
};

constexpr int kTopicWords = 24;
constexpr int kMaxShingle = 8;

}  // namespace

uint64_t HashId(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

uint64_t MixHash(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void ExtractText(std::string_view text, int shingle_words, std::string* folded, TextFeatures* out) {
  const size_t start = folded->size();
  folded->resize(start + text.size() + 1);
  char* const base = folded->data();
  char* w = base + start;
  if (shingle_words > kMaxShingle) shingle_words = kMaxShingle;
  const bool hashing = shingle_words > 0;
  // One pass: fold, and hash each word as it ends while its bytes are hot.
  SimHasher sim;
  uint64_t recent[kMaxShingle] = {};
  uint64_t topic_ring[kTopicWords];
  int topic_n = 0, words = 0;
  const char* word = nullptr;  // start of the word being folded
  uint8_t scripts = 0;
  auto end_word = [&] {
    const auto n = static_cast<size_t>(w - word);
    const uint64_t h = WordHash(word, n);
    recent[words % kMaxShingle] = h;
    ++words;
    if (n >= 5) topic_ring[topic_n++ % kTopicWords] = h;
    if (words >= shingle_words) {
      uint64_t sh = 0;
      for (int i = 0; i < shingle_words; ++i)
        sh ^= Rotl(recent[(words - 1 - i) % kMaxShingle], (i * 21) & 63);
      sim.Add(MixHash(sh));
    }
  };
  for (unsigned char c : text) {
    scripts |= kScript[c];
    const uint8_t f = kFold[c];
    if (f) {
      if (!word) {
        if (w != base) *w++ = ' ';
        word = w;
      }
      *w++ = static_cast<char>(f);
    } else if (word) {
      if (hashing) end_word();
      word = nullptr;
    }
  }
  if (word && hashing) end_word();
  folded->resize(static_cast<size_t>(w - base));
  out->scripts |= scripts;
  if (!hashing) return;
  out->words += words;
  if (words >= shingle_words) {
    out->simhash = sim.Finish();
    out->has_simhash = true;
  }
  if (topic_n > 0) {
    uint64_t best = ~uint64_t{0};
    for (int i = 0; i < topic_n && i < kTopicWords; ++i)
      best = std::min(best, MixHash(topic_ring[i]));
    out->topic = static_cast<int>(best >> 58);
  }
}

}  // namespace tosgate::engine
