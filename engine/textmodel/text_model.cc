#include "engine/textmodel/text_model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "engine/distill/text_features.h"  // MixHash
#include "engine/normalize.h"

namespace tosgate::engine {

namespace internal {
// Tests only (declared there, not in the header): true makes Score use the
// 4-float adds even where the CPU has AVX2, so that both paths are checked
// against the reference. Set it before scoring, never while a thread scores.
extern bool g_text_model_no_avx2;
bool g_text_model_no_avx2 = false;
}  // namespace internal

namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

inline uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The bytes of s from i (1 to 7 of them) as a little-endian number, zero
// above: what memcpy into a zeroed uint64_t gives, without the byte-wise
// copy whose result the next read would wait for (a store-forwarding stall,
// a tenth of a text's scoring time).
inline uint64_t Tail(std::string_view s, size_t i) {
  const size_t r = s.size() - i;
  if constexpr (std::endian::native != std::endian::little) {
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, r);
    return tail;
  }
  const char* p = s.data() + i;
  if (s.size() >= 8) {
    // The last 8 bytes of s, shifted down to its last r.
    uint64_t last;
    std::memcpy(&last, s.data() + s.size() - 8, 8);
    return last >> (8 * (8 - r));
  }
  if (r >= 4) {
    // Two overlapping 4-byte reads: the overlap holds the same bytes twice.
    return uint64_t{Load32(p)} | (uint64_t{Load32(p + r - 4)} << (8 * (r - 4)));
  }
  const auto byte = [&](size_t k) { return uint64_t{static_cast<unsigned char>(p[k])} << (8 * k); };
  return byte(0) | byte(r >> 1) | byte(r - 1);
}

// A word's 64-bit hash: a multiply per 8 bytes, one full mix at the end.
// Seeds keep the feature kinds apart.
inline uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = seed ^ (s.size() * kGolden);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kGolden;
    h ^= h >> 32;
  }
  if (i < s.size()) h = (h ^ Tail(s, i) ^ 0x5555) * kGolden;
  return MixHash(h);
}

constexpr uint64_t kWordSeed = 0x77ULL << 56, kBigramSeed = 0x62ULL << 56,
                   kCharSeed = 0x63ULL << 56;

uint32_t Bucket(uint64_t h, int bits) { return static_cast<uint32_t>(h >> (64 - bits)); }

// A character n-gram (n <= 4 bytes, packed little-endian) to its bucket:
// one multiply (Fibonacci hashing) spreads 32 bits over the buckets.
uint32_t CharBucket(uint32_t packed, size_t n, int bits) {
  return Bucket((kCharSeed ^ (uint64_t{n} << 32) ^ packed) * kGolden, bits);
}

float Logistic(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// Character n-grams are taken from a word's first kMaxCharWord bytes: a
// 10 KB "word" (base64, a minified line) costs no more than a long word.
constexpr size_t kMaxCharWord = 40;

// Calls f(bucket, word) for every feature of normalized text, in order of
// their words (a bigram is anchored at its second word), so that a scorer
// can sum one word's features in registers;
// with `names`, also records each feature's name. A template, so that the
// scoring loop inlines f.
// With `names`, only the features of words [name_begin, name_end) are
// named (Explain names a window's, not the text's).
template <typename F>
void VisitFeatures(const TextModelOptions& o, std::string_view text,
                   std::vector<TextFeature>* all_names, F&& f, int name_begin = 0,
                   int name_end = std::numeric_limits<int>::max()) {
  int word = 0;
  uint64_t prev_hash = 0;
  std::string_view prev;
  char framed[kMaxCharWord + 8];
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view w = text.substr(i, j - i);
    i = j + 1;
    if (w.empty()) continue;
    std::vector<TextFeature>* names = word >= name_begin && word < name_end ? all_names : nullptr;
    uint64_t h = HashBytes(w, kWordSeed);
    if (o.words) {
      uint32_t b = Bucket(h, o.bits);
      f(b, word);
      if (names) names->push_back({"w:" + std::string(w), b, word});
    }
    if (o.bigrams && word > 0) {
      uint32_t b = Bucket(MixHash(prev_hash * kGolden + h + kBigramSeed), o.bits);
      f(b, word);
      if (names) names->push_back({"b:" + std::string(prev) + " " + std::string(w), b, word});
    }
    if (o.chars) {
      // "^word$" in 4-byte windows; a word of two bytes or fewer is one
      // feature, its framed self.
      const size_t len = std::min(w.size(), kMaxCharWord);
      const size_t n = len + 2;
      framed[0] = '^';
      std::memcpy(framed + 1, w.data(), len);
      framed[n - 1] = '$';
      std::memset(framed + n, 0, 4);
      if (n < 4) {
        uint32_t packed;
        std::memcpy(&packed, framed, 4);
        uint32_t b = CharBucket(packed, n, o.bits);
        f(b, word);
        if (names) names->push_back({"c:" + std::string(framed, n), b, word});
      } else {
        for (size_t k = 0; k + 4 <= n; ++k) {
          if (o.char_edges && k != 0 && k + 4 != n) continue;
          uint32_t packed;
          std::memcpy(&packed, framed + k, 4);
          uint32_t b = CharBucket(packed, 4, o.bits);
          f(b, word);
          if (names) names->push_back({"c:" + std::string(framed + k, 4), b, word});
        }
      }
    }
    prev_hash = h;
    prev = w;
    ++word;
  }
}

// The word ranges [begin, end) scored: one window when the text fits, else
// windows of `window` words every window/2 words, the last one ending at the
// last word.
template <typename F>
void ForEachWindow(int words, int window, F f) {
  if (words <= window) {
    f(0, words);
    return;
  }
  int stride = std::max(1, window / 2);
  for (int b = 0;; b += stride) {
    if (b + window >= words) {
      f(words - window, words);
      return;
    }
    f(b, b + window);
  }
}

}  // namespace

void ForEachTextFeature(const TextModelOptions& o, std::string_view text,
                        std::vector<TextFeature>* names,
                        void (*f)(void* ctx, uint32_t bucket, int word), void* ctx) {
  VisitFeatures(o, text, names, [&](uint32_t b, int word) { f(ctx, b, word); });
}

namespace {

// Rows of weights are padded to a multiple of 4 labels (one label: no
// padding), so that a row of up to 16 is summed by fixed-width vector adds.
size_t RowStride(size_t labels) { return labels == 1 ? 1 : (labels + 3) / 4 * 4; }

// Four labels of a row: the GCC/Clang vector extension, so that a row of up
// to 16 labels is summed by a few vector adds held in registers on any
// target (SSE2 on x86-64, NEON on ARM).
typedef float Lanes __attribute__((vector_size(16)));

inline Lanes LoadLanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One bit per byte of text, set where it is a space: 64 bytes per word,
// the last word's bits past the end clear. Words are found from it by
// counting zero bits, a few instructions per word instead of a compare per
// byte (the byte loop was an eighth of the scoring time).
void SpaceBits(std::string_view text, std::vector<uint64_t>* out) {
  const size_t n = text.size();
  out->resize(n / 64 + 1);
  uint64_t* bits = out->data();
  const char* p = text.data();
  size_t i = 0;
#ifdef __SSE2__
  const __m128i space = _mm_set1_epi8(' ');
  for (; i + 64 <= n; i += 64) {
    uint64_t m = 0;
    for (int k = 0; k < 4; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16 * k));
      m |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)))} << (16 * k);
    }
    bits[i / 64] = m;
  }
#endif
  for (; i < n; i += 64) {
    uint64_t m = 0;
    size_t k = i;
#ifdef __SSE2__
    // The last, partial 64 bytes: whole 16-byte blocks first (the byte loop
    // alone was 1k instructions on a 1 KB text).
    for (; k + 16 <= n; k += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k));
      m |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)))} << (k - i);
    }
#endif
    for (; k < n && k < i + 64; ++k) m |= uint64_t{p[k] == ' '} << (k - i);
    bits[i / 64] = m;
  }
  if (n % 64 == 0) bits[n / 64] = 0;
}

// The first space at or after i, or n.
inline size_t NextSpace(const uint64_t* bits, size_t i, size_t n) {
  size_t w = i / 64;
  const uint64_t m = bits[w] >> (i % 64);
  if (m) return i + static_cast<size_t>(std::countr_zero(m));
  for (++w; w <= n / 64; ++w) {
    if (bits[w]) return w * 64 + static_cast<size_t>(std::countr_zero(bits[w]));
  }
  return n;
}

// Pass 1: every feature's bucket, word by word (word w's are
// buckets[begin[w], begin[w + 1])), prefetching each bucket's row so that
// pass 2 finds it in cache. Returns the number of words (one more than the
// spaces, as the windows count them). The same features in the same order
// as VisitFeatures (a test holds them equal), in one loop written for
// speed: character 4-grams are read from the text itself, the frame's '^'
// and '$' put in by shifts, instead of copying each word into a frame.
// Used where the row adds cannot be fused into the loop (FusedWords below
// is the same loop summing rows as it goes).
typedef float Lanes8 __attribute__((vector_size(32)));

int CollectFeatures(const TextModelOptions& o, std::string_view text, const float* weights,
                    size_t stride, TextModelScratch* s) {
  // A word of n bytes has at most max(n - 1, 1) character 4-grams, a word
  // and a pair: at most 3 features per byte of text. Words (one more than
  // the spaces) are at most one more than the bytes.
  s->buckets.resize(text.size() * 3 + 3);
  s->begin.resize(text.size() + 3);
  uint32_t* buckets = s->buckets.data();
  uint32_t* begin = s->begin.data();
  uint32_t n = 0;
  int word = 0;
  if constexpr (std::endian::native != std::endian::little) {
    // The shifts below assume VisitFeatures' little-endian packing.
    const int words =
        text.empty() ? 0 : static_cast<int>(std::count(text.begin(), text.end(), ' ')) + 1;
    int filled = 0;
    VisitFeatures(o, text, nullptr, [&](uint32_t b, int w) {
      while (filled <= w) begin[filled++] = n;
      buckets[n++] = b;
    });
    while (filled <= words) begin[filled++] = n;
    return words;
  }
  const int shift = 64 - o.bits;
  const auto put = [&](uint64_t h) {
    const auto b = static_cast<uint32_t>(h >> shift);
    __builtin_prefetch(weights + static_cast<size_t>(b) * stride);
    buckets[n++] = b;
  };
  // CharBucket's hash of a 4-gram and of a framed word of 3 bytes. Their
  // seeds' low 32 bits are zero, so (seed ^ packed) * kGolden is
  // packed * kGolden + seed * kGolden (packed < 2^32): the same hash, the
  // seed's product folded into a constant.
  constexpr uint64_t kChar4 = kCharSeed ^ (uint64_t{4} << 32), kChar3 = kCharSeed ^ (uint64_t{3} << 32);
  static_assert((kChar4 & 0xffffffffu) == 0 && (kChar3 & 0xffffffffu) == 0);
  constexpr uint64_t kChar4G = kChar4 * kGolden, kChar3G = kChar3 * kGolden;
  constexpr uint32_t kOpen = '^', kClose = '$';
  SpaceBits(text, &s->spaces);
  const uint64_t* spaces = s->spaces.data();
  uint64_t prev_hash = 0;
  int segments = 0;  // words as the windows count them, empty ones too
  size_t i = 0;
  while (i < text.size()) {
    ++segments;
    const size_t j = NextSpace(spaces, i, text.size());
    std::string_view w = text.substr(i, j - i);
    i = j + 1;
    if (w.empty()) continue;
    begin[word] = n;
    const uint64_t h = HashBytes(w, kWordSeed);
    if (o.words) put(h);
    if (o.bigrams && word > 0) put(MixHash(prev_hash * kGolden + h + kBigramSeed));
    if (o.chars) {
      const char* p = w.data();
      const size_t len = std::min(w.size(), kMaxCharWord);
      const auto u = [&](size_t k) { return uint32_t{static_cast<unsigned char>(p[k])}; };
      if (len == 1) {
        put(uint64_t{kOpen | u(0) << 8 | kClose << 16} * kGolden + kChar3G);
      } else if (len == 2) {
        put(uint64_t{kOpen | u(0) << 8 | u(1) << 16 | kClose << 24} * kGolden + kChar4G);
      } else if (len == 3) {
        put(uint64_t{kOpen | u(0) << 8 | u(1) << 16 | u(2) << 24} * kGolden + kChar4G);
        put(uint64_t{u(0) | u(1) << 8 | u(2) << 16 | kClose << 24} * kGolden + kChar4G);
      } else {
        // Four or more bytes: the framed ends from one 4-byte read each
        // (inside the word), the frame shifted in.
        put(uint64_t{kOpen | Load32(p) << 8} * kGolden + kChar4G);
        if (!o.char_edges) {
          for (size_t k = 0; k + 4 <= len; ++k) put(uint64_t{Load32(p + k)} * kGolden + kChar4G);
        }
        put(uint64_t{Load32(p + len - 4) >> 8 | kClose << 24} * kGolden + kChar4G);
      }
    }
    prev_hash = h;
    ++word;
  }
  // Words without a feature (empty ones between two spaces; the first one
  // of a bigram-only model has an empty range by its begin) get empty ranges.
  const int words = segments + (!text.empty() && text.back() == ' ' ? 1 : 0);
  for (int w = word; w <= words; ++w) begin[w] = n;
  return words;
}

// Pass 2: each word's features summed into per_word (rows of S floats), in
// feature order from zero, the sum held in registers (S / 4 vectors).
template <size_t S>
void SumWords(const TextModelScratch& s, int words, const float* weights, float* per_word) {
  const uint32_t* buckets = s.buckets.data();
  const uint32_t* begin = s.begin.data();
  if constexpr (S == 1) {
    for (int w = 0; w < words; ++w) {
      float acc = 0;
      for (uint32_t i = begin[w]; i < begin[w + 1]; ++i) acc += weights[buckets[i]];
      per_word[w] = acc;
    }
  } else {
    constexpr size_t V = S / 4;
    for (int w = 0; w < words; ++w) {
      Lanes acc[V] = {};
      for (uint32_t i = begin[w]; i < begin[w + 1]; ++i) {
        const float* row = weights + static_cast<size_t>(buckets[i]) * S;
        _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v) acc[v] += LoadLanes(row + 4 * v);
      }
      std::memcpy(per_word + static_cast<size_t>(w) * S, acc, sizeof acc);
    }
  }
}

// WordHash's tables: HashBytes' starting value for a word of n < 16 bytes,
// and the mask keeping the low r bytes of a load (r = 1 to 7).
struct WordHashTables {
  uint64_t start[16];
  uint64_t tail_mask[8];
};
constexpr WordHashTables MakeWordHashTables() {
  WordHashTables t{};
  for (uint64_t n = 0; n < 16; ++n) t.start[n] = kWordSeed ^ (n * kGolden);
  for (unsigned r = 1; r < 8; ++r) t.tail_mask[r] = (uint64_t{1} << (8 * r)) - 1;
  return t;
}
alignas(64) constexpr WordHashTables kWordHash = MakeWordHashTables();

// HashBytes(word, kWordSeed) for the word of n bytes at p inside a text
// ending at end. A word of 1 to 15 bytes (nearly every word) with 16 bytes
// of text from its start is read with one or two 8-byte loads, its tail
// masked to its length, instead of the loop and Tail's overlapping loads
// and shifts: the same bytes in the same order, so the same hash.
[[gnu::always_inline]] inline uint64_t WordHash(const char* p, size_t n, const char* end) {
  if (n < 16 && end - p >= 16) [[likely]] {
    uint64_t h = kWordHash.start[n];
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (n < 8) [[likely]] return MixHash((h ^ (w & kWordHash.tail_mask[n]) ^ 0x5555) * kGolden);
    h = (h ^ w) * kGolden;
    h ^= h >> 32;
    if (n == 8) return MixHash(h);
    std::memcpy(&w, p + 8, 8);
    return MixHash((h ^ (w & kWordHash.tail_mask[n - 8]) ^ 0x5555) * kGolden);
  }
  return HashBytes(std::string_view(p, n), kWordSeed);
}

// The feature kinds of a model, as template flags of the fused loop (the
// shipped models' kinds compiled in; others read at run time).
enum : unsigned { kKindWords = 1, kKindBigrams = 2, kKindChars = 4, kKindEdges = 8, kKindsAtRunTime = 16 };

unsigned KindsOf(const TextModelOptions& o) {
  return (o.words ? kKindWords : 0u) | (o.bigrams ? kKindBigrams : 0u) | (o.chars ? kKindChars : 0u) |
         (o.chars && o.char_edges ? kKindEdges : 0u);
}

// The fused loop (CollectFeatures, summing rows as it goes):
// each word's features found and their rows summed into per_word at once,
// in the same order from zero, so the same sums bit for bit. Little-endian
// only (the 4-grams are packed by loads). Against CollectFeatures: the
// feature kinds are template flags (no tests per word); words are found by
// taking the space bitmap's set bits in turn, and counted at the end from
// its population count (spaces + 1); the word's hash reads its tail with
// one masked load (WordHash); nothing but per_word is written (no begin[]
// or buckets[]: the fused scorer reads neither); a word's inner 4-grams go
// two at a time. Fewer values live in the loop, so fewer spilled to the
// stack. per_word must hold text.size() + 3 rows of S floats.
template <size_t S, unsigned K>
[[gnu::always_inline]] inline int FusedWords(const TextModelOptions& o, std::string_view text,
                                             const float* weights, TextModelScratch* s,
                                             float* per_word) {
  static_assert(S == 1 || S == 8 || S == 16);
  const unsigned kinds = (K & kKindsAtRunTime) ? KindsOf(o) : K;
  const bool words_on = kinds & kKindWords, bigrams_on = kinds & kKindBigrams,
             chars_on = kinds & kKindChars, edges_on = kinds & kKindEdges;
  constexpr unsigned kRowShift = S == 16 ? 6 : S == 8 ? 5 : 0;
  // The row's byte offset is the hash's top `bits` bits shifted down less
  // far, the bits below masked (bits <= 24, the loader's limit).
  const unsigned row_shift = 64u - static_cast<unsigned>(o.bits) - kRowShift;
  constexpr uint64_t kRowMask = ~uint64_t{(1u << kRowShift) - 1};
  const char* const rows = reinterpret_cast<const char*>(weights);
  float acc = 0;
  Lanes8 acc0{}, acc1{};
  const auto put = [&](uint64_t h) {
    if constexpr (S == 1) {
      acc += weights[h >> row_shift];
    } else {
      const char* row = rows + ((h >> row_shift) & kRowMask);
      Lanes8 x;
      std::memcpy(&x, row, sizeof x);
      acc0 += x;
      if constexpr (S == 16) {
        std::memcpy(&x, row + 32, sizeof x);
        acc1 += x;
      }
    }
  };
  // CharBucket's hashes, as in CollectFeatures.
  constexpr uint64_t kChar4 = kCharSeed ^ (uint64_t{4} << 32), kChar3 = kCharSeed ^ (uint64_t{3} << 32);
  constexpr uint64_t kChar4G = kChar4 * kGolden, kChar3G = kChar3 * kGolden;
  constexpr uint32_t kOpen = '^', kClose = '$';
  const auto gram = [&](const char* q) { return uint64_t{Load32(q)} * kGolden + kChar4G; };
  SpaceBits(text, &s->spaces);
  const uint64_t* spaces = s->spaces.data();
  const size_t size = text.size();
  const size_t blocks = size / 64 + 1;  // SpaceBits' words
  const char* const base = text.data();
  const char* const end = base + size;
  float* out = per_word;
  uint64_t prev_hash = 0;
  size_t block = 0;
  uint64_t m = spaces[0];  // block's spaces not yet taken
  size_t start = 0;
  for (;;) {
    // The word [start, j): j the next space, or the end.
    while (m == 0 && ++block < blocks) m = spaces[block];
    size_t j = size;
    if (m != 0) {
      j = block * 64 + static_cast<size_t>(std::countr_zero(m));
      m &= m - 1;
    }
    const char* p = base + start;
    const size_t n = j - start;
    if (n != 0) {
      if constexpr (S == 1) acc = 0;
      else acc0 = acc1 = Lanes8{};
      const uint64_t h = WordHash(p, n, end);
      if (words_on) put(h);
      if (bigrams_on && out != per_word) put(MixHash(prev_hash * kGolden + h + kBigramSeed));
      if (chars_on) {
        const size_t len = std::min(n, kMaxCharWord);
        const auto u = [&](size_t k) { return uint32_t{static_cast<unsigned char>(p[k])}; };
        if (len >= 4) {
          put(uint64_t{kOpen | Load32(p) << 8} * kGolden + kChar4G);
          if (!edges_on) {
            size_t k = 0;
            for (; k + 5 <= len; k += 2) {
              put(gram(p + k));
              put(gram(p + k + 1));
            }
            if (k + 4 <= len) put(gram(p + k));
          }
          put(uint64_t{Load32(p + len - 4) >> 8 | kClose << 24} * kGolden + kChar4G);
        } else if (len == 3) {
          put(uint64_t{kOpen | u(0) << 8 | u(1) << 16 | u(2) << 24} * kGolden + kChar4G);
          put(uint64_t{u(0) | u(1) << 8 | u(2) << 16 | kClose << 24} * kGolden + kChar4G);
        } else if (len == 2) {
          put(uint64_t{kOpen | u(0) << 8 | u(1) << 16 | kClose << 24} * kGolden + kChar4G);
        } else {
          put(uint64_t{kOpen | u(0) << 8 | kClose << 16} * kGolden + kChar3G);
        }
      }
      if constexpr (S == 1) {
        *out = acc;
      } else {
        std::memcpy(out, &acc0, sizeof acc0);
        if constexpr (S == 16) std::memcpy(out + 8, &acc1, sizeof acc1);
      }
      out += S;
      prev_hash = h;
    }
    if (j >= size) break;
    start = j + 1;
  }
  // Words as the windows count them: one more than the spaces (the empty
  // ones between two spaces, and after a last space, too). Those without a
  // feature score zero: their rows, after the others', are zeros.
  int words = 0;
  if (size != 0) {
    for (size_t b = 0; b < blocks; ++b) words += std::popcount(spaces[b]);
    ++words;
  }
  std::fill(out, per_word + static_cast<size_t>(std::max(words, 1)) * S, 0.0f);
  return words;
}

// FusedWords for the model's kinds: the shipped models' compiled in.
template <size_t S>
[[gnu::always_inline]] inline int FusedAnyKinds(const TextModelOptions& o, std::string_view text,
                                                const float* weights, TextModelScratch* s,
                                                float* per_word) {
  switch (KindsOf(o)) {
    case kKindWords | kKindBigrams | kKindChars:
      return FusedWords<S, kKindWords | kKindBigrams | kKindChars>(o, text, weights, s, per_word);
    case kKindWords | kKindBigrams | kKindChars | kKindEdges:
      return FusedWords<S, kKindWords | kKindBigrams | kKindChars | kKindEdges>(o, text, weights, s, per_word);
    case kKindWords:
      return FusedWords<S, kKindWords>(o, text, weights, s, per_word);
    case kKindWords | kKindBigrams:
      return FusedWords<S, kKindWords | kKindBigrams>(o, text, weights, s, per_word);
    default:
      return FusedWords<S, kKindsAtRunTime>(o, text, weights, s, per_word);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// SumWords for rows of 8 or 16 floats in 8-float (AVX2) adds, half the adds
// and loads of the 4-float ones: each lane still sums its label's weights in
// the same order, so the scores are the same bit for bit. Chosen at run time
// on CPUs that have AVX2 (builds target generic x86-64).

template <size_t S>
__attribute__((target("avx2"))) void SumWordsAvx2(const TextModelScratch& s, int words,
                                                  const float* weights, float* per_word) {
  constexpr size_t V = S / 8;
  const uint32_t* buckets = s.buckets.data();
  const uint32_t* begin = s.begin.data();
  for (int w = 0; w < words; ++w) {
    Lanes8 acc[V] = {};
    for (uint32_t i = begin[w]; i < begin[w + 1]; ++i) {
      const float* row = weights + static_cast<size_t>(buckets[i]) * S;
      for (size_t v = 0; v < V; ++v) {
        Lanes8 x;
        std::memcpy(&x, row + 8 * v, sizeof x);
        acc[v] += x;
      }
    }
    std::memcpy(per_word + static_cast<size_t>(w) * S, acc, sizeof acc);
  }
}

bool UseAvx2() {
  // BMI2 too: the fused loop shifts by a register (shrx); every AVX2 CPU
  // has it.
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
  return yes && !internal::g_text_model_no_avx2;
}

// Passes 1 and 2 in one (FusedWords<S>), in 8-float adds.
template <size_t S>
__attribute__((target("avx2,bmi2"))) int FusedAvx2(const TextModelOptions& o, std::string_view text,
                                              const float* weights, TextModelScratch* s,
                                              float* per_word) {
  return FusedAnyKinds<S>(o, text, weights, s, per_word);
}
constexpr bool kFused = std::endian::native == std::endian::little;
#else
constexpr bool kFused = false;
bool UseAvx2() { return false; }
template <size_t S>
void SumWordsAvx2(const TextModelScratch& s, int words, const float* weights, float* per_word) {
  SumWords<S>(s, words, weights, per_word);
}
template <size_t S>
int FusedAvx2(const TextModelOptions&, std::string_view, const float*, TextModelScratch*, float*) {
  return 0;  // never called: kFused is false
}
#endif

// Each window's sum per label (bias first, then its words in order) and the
// highest window's into out[0, S): S / 4 vectors, no memory round trips.
template <size_t S>
void MaxWindows(const float* bias_padded, const float* per_word, int words, int window, float* out) {
  constexpr size_t V = S < 4 ? 1 : S / 4;
  if constexpr (S == 1) {
    float best = -1e30f;
    ForEachWindow(words, window, [&](int b, int e) {
      float sum = bias_padded[0];
      for (int w = b; w < e; ++w) sum += per_word[w];
      best = std::max(best, sum);
    });
    out[0] = best;
  } else {
    Lanes best[V];
    _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v) best[v] = Lanes{} - 1e30f;
    ForEachWindow(words, window, [&](int b, int e) {
      Lanes sum[V];
      _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v) sum[v] = LoadLanes(bias_padded + 4 * v);
      for (int w = b; w < e; ++w) {
        const float* pw = per_word + static_cast<size_t>(w) * S;
        _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v) sum[v] += LoadLanes(pw + 4 * v);
      }
      _Pragma("GCC unroll 4") for (size_t v = 0; v < V; ++v) best[v] = best[v] < sum[v] ? sum[v] : best[v];
    });
    std::memcpy(out, best, sizeof best);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// MaxWindows for rows of 8 or 16 floats in 8-float adds: each lane sums its
// label in the same order (bias, then the words), so the same bits.
template <size_t S>
__attribute__((target("avx2"))) void MaxWindowsAvx2(const float* bias_padded, const float* per_word,
                                                    int words, int window, float* out) {
  constexpr size_t V = S / 8;
  Lanes8 best[V], bias[V];
  for (size_t v = 0; v < V; ++v) {
    best[v] = Lanes8{} - 1e30f;
    std::memcpy(&bias[v], bias_padded + 8 * v, sizeof bias[v]);
  }
  ForEachWindow(words, window, [&](int b, int e) {
    Lanes8 sum[V];
    for (size_t v = 0; v < V; ++v) sum[v] = bias[v];
    // Unrolled: the loop's own counting was a third of its instructions
    // (the adds stay in order).
    _Pragma("GCC unroll 4") for (int w = b; w < e; ++w) {
      const float* pw = per_word + static_cast<size_t>(w) * S;
      for (size_t v = 0; v < V; ++v) {
        Lanes8 x;
        std::memcpy(&x, pw + 8 * v, sizeof x);
        sum[v] += x;
      }
    }
    for (size_t v = 0; v < V; ++v) best[v] = best[v] < sum[v] ? sum[v] : best[v];
  });
  std::memcpy(out, best, sizeof best);
}
#else
template <size_t S>
void MaxWindowsAvx2(const float* bias_padded, const float* per_word, int words, int window, float* out) {
  MaxWindows<S>(bias_padded, per_word, words, window, out);
}
#endif

}  // namespace

TextModel::TextModel(TextModelOptions options, std::vector<std::string> labels,
                     std::vector<float> bias, std::vector<float> weights)
    : options_(options), labels_(std::move(labels)), bias_(std::move(bias)) {
  const size_t k = labels_.size();
  stride_ = RowStride(k);
  bias_padded_ = bias_;
  bias_padded_.resize(stride_, 0.0f);
  if (stride_ == k) {
    weights_ = std::move(weights);
    return;
  }
  weights_.assign(buckets() * stride_, 0.0f);
  for (size_t b = 0; b < buckets(); ++b)
    std::copy_n(weights.data() + b * k, k, weights_.data() + b * stride_);
}

int TextModel::LabelIndex(std::string_view label) const {
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i] == label) return static_cast<int>(i);
  }
  return -1;
}

void TextModel::Score(std::string_view text, TextModelScratch* s, std::vector<float>* out) const {
  s->normalized = NormalizeForMatch(text);
  ScoreNormalized(s->normalized, s, out);
}

void TextModel::ScoreNormalized(std::string_view text, TextModelScratch* s,
                                std::vector<float>* out) const {
  const size_t k = labels_.size();
  const size_t stride = stride_;
  const float* weights = weights_.data();
  // One pass where the row adds can be fused into it (one label, or 8 or 16
  // on AVX2); else features first, then their rows (SumWords).
  const bool fused = kFused && (stride == 1 || ((stride == 8 || stride == 16) && UseAvx2()));
  int words = 0;
  if (fused) {
    const size_t need = (text.size() + 3) * stride;
    if (s->per_word.size() < need) s->per_word.resize(need);
    float* pw = s->per_word.data();
    words = stride == 1   ? FusedAnyKinds<1>(options_, text, weights, s, pw)
            : stride == 8 ? FusedAvx2<8>(options_, text, weights, s, pw)
                          : FusedAvx2<16>(options_, text, weights, s, pw);
  } else {
    words = CollectFeatures(options_, text, weights, stride, s);
    s->per_word.resize(static_cast<size_t>(std::max(words, 1)) * stride);
  }
  const int rows = std::max(words, 1);
  float* per_word = s->per_word.data();
  if (words == 0) std::fill(per_word, per_word + stride, 0.0f);  // the empty text: the biases
  s->window.resize(stride);
  float* best = s->window.data();
  switch (stride) {
#define TOSGATE_SCORE_CASE(S, SUM, MAX)                                              \
  case S:                                                                            \
    if (!fused) SUM(*s, words, weights, per_word);                                   \
    MAX(bias_padded_.data(), per_word, rows, options_.window, best);                 \
    break;
    TOSGATE_SCORE_CASE(1, SumWords<1>, MaxWindows<1>)
    TOSGATE_SCORE_CASE(4, SumWords<4>, MaxWindows<4>)
    TOSGATE_SCORE_CASE(8, (UseAvx2() ? SumWordsAvx2<8> : SumWords<8>),
                       (UseAvx2() ? MaxWindowsAvx2<8> : MaxWindows<8>))
    TOSGATE_SCORE_CASE(12, SumWords<12>, MaxWindows<12>)
    TOSGATE_SCORE_CASE(16, (UseAvx2() ? SumWordsAvx2<16> : SumWords<16>),
                       (UseAvx2() ? MaxWindowsAvx2<16> : MaxWindows<16>))
#undef TOSGATE_SCORE_CASE
    default: {
      // More than 16 labels: the same sums, one label at a time.
      std::fill(per_word, per_word + static_cast<size_t>(rows) * stride, 0.0f);
      const uint32_t* buckets = s->buckets.data();
      const uint32_t* begin = s->begin.data();
      for (int w = 0; w < words; ++w) {
        float* dst = per_word + static_cast<size_t>(w) * stride;
        for (uint32_t i = begin[w]; i < begin[w + 1]; ++i) {
          const float* src = weights + static_cast<size_t>(buckets[i]) * stride;
          for (size_t l = 0; l < k; ++l) dst[l] += src[l];
        }
      }
      std::fill(best, best + stride, -1e30f);
      std::vector<float> sum(stride);
      ForEachWindow(rows, options_.window, [&](int b, int e) {
        std::copy(bias_padded_.begin(), bias_padded_.end(), sum.begin());
        for (int w = b; w < e; ++w) {
          const float* pw = per_word + static_cast<size_t>(w) * stride;
          for (size_t l = 0; l < k; ++l) sum[l] += pw[l];
        }
        for (size_t l = 0; l < k; ++l) best[l] = std::max(best[l], sum[l]);
      });
    }
  }
  out->resize(k);
  for (size_t l = 0; l < k; ++l) (*out)[l] = Logistic(best[l]);
}

std::string TextModel::Explain(std::string_view text, int label, int top) const {
  if (label < 0 || label >= static_cast<int>(labels_.size())) return "";
  std::string normalized = NormalizeForMatch(text);
  int words = normalized.empty() ? 1 : static_cast<int>(std::count(normalized.begin(), normalized.end(), ' ')) + 1;
  std::vector<float> per_word(static_cast<size_t>(words), 0.0f);
  // The label's sum per word without naming any feature; only the best
  // window's features are named below (naming every feature of a 1 KB
  // text was most of an explanation's 470k instructions).
  VisitFeatures(options_, normalized, nullptr,
                [&](uint32_t b, int word) { per_word[static_cast<size_t>(word)] += weight(b, label); });
  int best_b = 0, best_e = words;
  float best = -1e30f;
  ForEachWindow(words, options_.window, [&](int b, int e) {
    float sum = 0;
    for (int w = b; w < e; ++w) sum += per_word[static_cast<size_t>(w)];
    if (sum > best) best = sum, best_b = b, best_e = e;
  });
  std::vector<TextFeature> feats;
  VisitFeatures(options_, normalized, &feats, [](uint32_t, int) {}, best_b, best_e);
  std::map<std::string, float> by_name;
  for (const auto& f : feats) {
    if (f.word >= best_b && f.word < best_e) by_name[f.name] += weight(f.bucket, label);
  }
  std::vector<std::pair<float, std::string>> ranked;
  for (auto& [name, w] : by_name) {
    if (w > 0) ranked.emplace_back(w, name);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string out;
  char num[32];
  for (int i = 0; i < top && i < static_cast<int>(ranked.size()); ++i) {
    std::snprintf(num, sizeof num, " %+.2f", ranked[i].first);
    if (!out.empty()) out += ", ";
    out += ranked[i].second + num;
  }
  return out;
}

}  // namespace tosgate::engine
