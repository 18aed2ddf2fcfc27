#include "engine/distill/text_features.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tosgate::engine {
namespace {

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

// 64 byte counters, byte i (of lanes_ read as bytes) for bit i of the
// shingle hashes added. With SSE2, 16 counters a register: a hash's bits are
// spread over bytes by unpacking, picked out by a mask and added, without
// table loads.
struct ByteCounters {
#if defined(__SSE2__)
  // Four named registers, not an array indexed in a loop: the compiler then
  // keeps them in registers across the word loop.
  __m128i c0, c1, c2, c3;
  void Load(const std::array<uint64_t, 8>& lanes) {
    const auto* p = reinterpret_cast<const __m128i*>(lanes.data());
    c0 = _mm_loadu_si128(p), c1 = _mm_loadu_si128(p + 1);
    c2 = _mm_loadu_si128(p + 2), c3 = _mm_loadu_si128(p + 3);
  }
  void Store(std::array<uint64_t, 8>* lanes) const {
    auto* p = reinterpret_cast<__m128i*>(lanes->data());
    _mm_storeu_si128(p, c0), _mm_storeu_si128(p + 1, c1);
    _mm_storeu_si128(p + 2, c2), _mm_storeu_si128(p + 3, c3);
  }
  void Add(uint64_t h) {
    const __m128i bit = _mm_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
    const __m128i x = _mm_cvtsi64_si128(static_cast<long long>(h));
    const __m128i b2 = _mm_unpacklo_epi8(x, x);     // b0 b0 b1 b1 .. b7 b7
    const __m128i lo = _mm_unpacklo_epi16(b2, b2);  // b0 x4 .. b3 x4
    const __m128i hi = _mm_unpackhi_epi16(b2, b2);  // b4 x4 .. b7 x4
    // Byte j of a register holds byte j / 8 of its two; a set bit's byte
    // becomes -1, and subtracting it adds 1.
    auto add = [&](__m128i c, __m128i spread) {
      return _mm_sub_epi8(c, _mm_cmpeq_epi8(_mm_and_si128(spread, bit), bit));
    };
    c0 = add(c0, _mm_unpacklo_epi32(lo, lo));
    c1 = add(c1, _mm_unpackhi_epi32(lo, lo));
    c2 = add(c2, _mm_unpacklo_epi32(hi, hi));
    c3 = add(c3, _mm_unpackhi_epi32(hi, hi));
  }
#else
  std::array<uint64_t, 8> l;
  void Load(const std::array<uint64_t, 8>& lanes) { l = lanes; }
  void Store(std::array<uint64_t, 8>* lanes) const { *lanes = l; }
  void Add(uint64_t h) {
    for (int i = 0; i < 8; ++i) l[i] += kSpread[(h >> (8 * i)) & 0xff];
  }
#endif
};

uint64_t Rotl(uint64_t x, int r) { return r == 0 ? x : (x << r) | (x >> (64 - r)); }

uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The low n bytes (0..8) of a word.
constexpr std::array<uint64_t, 9> kLowBytes = [] {
  std::array<uint64_t, 9> t{};
  for (int n = 0; n < 8; ++n) t[n] = (uint64_t{1} << (8 * n)) - 1;
  t[8] = ~uint64_t{0};
  return t;
}();

constexpr uint64_t kWordMul = 0xff51afd7ed558ccdULL;

// The hash of a folded word, 8 bytes at a time. `p` may be read up to 15
// bytes past the word (the scratch buffer has the slack). Words of up to 16
// bytes, nearly all, take no branch: whether a word is longer than 8 bytes
// is a coin flip to the branch predictor.
uint64_t WordHash(const char* p, size_t n) {
  uint64_t h = n * 0x9E3779B97F4A7C15ULL;
  if (n > 16) [[unlikely]] {
    size_t off = 0;
    for (; off + 8 <= n; off += 8) h = (h ^ Load8(p + off)) * kWordMul;
    if (off < n) h = (h ^ (Load8(p + off) & kLowBytes[n - off])) * kWordMul;
    return h ^ (h >> 32);
  }
  h = (h ^ (Load8(p) & kLowBytes[n < 8 ? n : 8])) * kWordMul;
  const uint64_t second = (h ^ (Load8(p + 8) & kLowBytes[n > 8 ? n - 8 : 0])) * kWordMul;
  h = n > 8 ? second : h;
  return h ^ (h >> 32);
}

// Per thread: the text with each byte folded (separators as spaces) and a
// bit per byte that is a word character.
struct Scratch {
  std::string bytes;
  std::vector<uint64_t> word_bits;
};

// Classifies and folds `text` into s->bytes and s->word_bits; returns the
// scripts seen.
uint8_t Classify(std::string_view text, Scratch* s) {
  const size_t n = text.size();
  const size_t blocks = (n + 15) / 16, mwords = (n + 63) / 64 + 1;
  if (s->bytes.size() < blocks * 16 + 16) s->bytes.resize(blocks * 16 + 16);
  if (s->word_bits.size() < mwords) s->word_bits.resize(mwords);
  char* const out = s->bytes.data();
  uint64_t* const bits = s->word_bits.data();
  std::fill(bits, bits + mwords, 0);
  const char* const src = text.data();
  uint8_t scripts = 0;
#if defined(__SSE2__)
  const __m128i k20 = _mm_set1_epi8(0x20), ka = _mm_set1_epi8('a' - 1), kz = _mm_set1_epi8('z' + 1);
  const __m128i k0 = _mm_set1_epi8('0' - 1), k9 = _mm_set1_epi8('9' + 1),
                kZero = _mm_set1_epi8('0');
  __m128i any_alpha = _mm_setzero_si128();
  for (size_t off = 0; off < n; off += 16) {
    __m128i v;
    if (off + 16 <= n) {
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + off));
    } else {
      alignas(16) char tail[16] = {};
      std::memcpy(tail, src + off, n - off);
      v = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
    }
    // Signed compares: bytes >= 0x80 are negative, so never in a range.
    const __m128i lower = _mm_or_si128(v, k20);
    const __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, ka), _mm_cmpgt_epi8(kz, lower));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, k0), _mm_cmpgt_epi8(k9, v));
    const __m128i high = _mm_cmplt_epi8(v, _mm_setzero_si128());
    const __m128i word = _mm_or_si128(_mm_or_si128(alpha, digit), high);
    const __m128i folded =
        _mm_or_si128(_mm_or_si128(_mm_and_si128(alpha, lower), _mm_and_si128(digit, kZero)),
                     _mm_or_si128(_mm_and_si128(high, v), _mm_andnot_si128(word, k20)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + off), folded);
    bits[off >> 6] |= static_cast<uint64_t>(_mm_movemask_epi8(word)) << (off & 63);
    any_alpha = _mm_or_si128(any_alpha, alpha);
    for (auto hm = static_cast<unsigned>(_mm_movemask_epi8(high)); hm; hm &= hm - 1)
      scripts |= kScript[static_cast<uint8_t>(src[off + static_cast<size_t>(__builtin_ctz(hm))])];
  }
  if (_mm_movemask_epi8(any_alpha)) scripts |= kLatin;
#else
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(src[i]);
    scripts |= kScript[c];
    char f = ' ';
    if (c >= 'a' && c <= 'z')
      f = static_cast<char>(c);
    else if (c >= 'A' && c <= 'Z')
      f = static_cast<char>(c + 32);
    else if (c >= '0' && c <= '9')
      f = '0';
    else if (c >= 0x80)
      f = static_cast<char>(c);
    out[i] = f;
    if (f != ' ') bits[i >> 6] |= uint64_t{1} << (i & 63);
  }
  std::memset(out + n, 0, blocks * 16 + 16 - n);
#endif
  return scripts;
}

}  // namespace

static_assert(kMaxEdgeWords <= 8, "the tail is hashed from the ring of recent word hashes");

TextExtractor::TextExtractor(int shingle_words, std::string* folded, int edge_words)
    : shingle_words_(std::min(shingle_words, kMaxShingle)),
      edge_words_(std::clamp(edge_words, 1, kMaxEdgeWords)),
      folded_(folded) {}

void TextExtractor::Run(std::string_view text, bool hashing) {
  if (text.empty()) return;
  thread_local Scratch scratch;
  scripts_ |= Classify(text, &scratch);
  hashing = hashing && shingle_words_ > 0;
  const bool folding = folded_ != nullptr;
  if (!hashing && !folding) return;
  const size_t n = text.size(), mwords = (n + 63) / 64 + 1;
  const char* const in = scratch.bytes.data();
  const uint64_t* const bits = scratch.word_bits.data();
  std::string unused;
  std::string& out = folding ? *folded_ : unused;
  const size_t start = out.size();
  // Words and a space after each (sum of lengths + count <= n + 1), a space
  // before them, slack for 16-byte copies.
  if (folding) out.resize(start + n + 2 + 16);
  char* const base = out.data();
  char* w = base + start;
  // The hot state in locals, so that it stays in registers.
  ByteCounters counters;
  counters.Load(lanes_);
  int words = words_, pending = pending_, added = added_, topic_n = topic_n_;
  const int k = shingle_words_;
  // The two words before, for the usual 3-word shingle.
  uint64_t last1 = recent_[(words_ - 1) & (kMaxShingle - 1)];
  uint64_t last2 = recent_[(words_ - 2) & (kMaxShingle - 1)];
  // Each word is written with a space after it, and the last space is
  // taken back at the end; a space before the first word when *folded
  // already held text, also taken back when no word comes.
  if (folding && start > 0) *w++ = ' ';
  char* const first = w;
  auto word = [&](size_t s, size_t e) {
    const size_t len = e - s;
    if (folding) {
      if (len <= 16) {  // both buffers have the slack
        std::memcpy(w, in + s, 8);
        std::memcpy(w + 8, in + s + 8, 8);
      } else {
        std::memcpy(w, in + s, len);
      }
      w += len;
      *w++ = ' ';
    }
    if (!hashing) return;
    const uint64_t h = WordHash(in + s, len);
    recent_[words & (kMaxShingle - 1)] = h;
    if (words < edge_words_) head_ = MixHash(head_ ^ h);
    ++words;
    const uint64_t p1 = last1, p2 = last2;
    last2 = last1;
    last1 = h;
    topic_ring_[static_cast<unsigned>(topic_n) & (kTopicRing - 1)] = h;  // kept when 5+ letters; no branch
    topic_n += len >= 5;
    if (words < k) return;
    uint64_t sh = h;
    if (k == 3) {
      sh ^= Rotl(p1, 21) ^ Rotl(p2, 42);
    } else {
      for (int i = 1; i < k; ++i)
        sh ^= Rotl(recent_[(words - 1 - i) & (kMaxShingle - 1)], (i * 21) & 63);
    }
    sh = MixHash(sh);
    counters.Add(sh);
    ++added;
    if (++pending == 255) {
      if (!flushed_) totals_.fill(0);
      flushed_ = true;
      counters.Store(&lanes_);
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) totals_[8 * i + j] += (lanes_[i] >> (8 * j)) & 0xff;
      lanes_ = {};
      counters.Load(lanes_);
      pending = 0;
    }
  };
  // Word starts are set bits after a clear one, ends clear bits after a set
  // one; they alternate, and the last mask word is 0, so every word ends.
  uint64_t carry = 0;
  size_t open = 0;
  bool in_word = false;
  for (size_t i = 0; i < mwords; ++i) {
    const uint64_t m = bits[i];
    const uint64_t prev = (m << 1) | carry;
    uint64_t starts = m & ~prev, ends = ~m & prev;
    carry = m >> 63;
    const size_t at = i << 6;
    for (;;) {
      if (in_word) {
        if (!ends) break;
        word(open, at + static_cast<size_t>(__builtin_ctzll(ends)));
        ends &= ends - 1;
        in_word = false;
      }
      if (!starts) break;
      open = at + static_cast<size_t>(__builtin_ctzll(starts));
      starts &= starts - 1;
      in_word = true;
    }
  }
  counters.Store(&lanes_);
  words_ = words, pending_ = pending, added_ = added, topic_n_ = topic_n;
  if (folding) out.resize(static_cast<size_t>((w == first ? base + start : w - 1) - base));
}

// Bit b is set when more than half of the shingles had it set. Without
// branches: which way each of 64 coin flips went is not predictable.
uint64_t TextExtractor::Majority() const {
  const auto half = static_cast<uint32_t>(added_) / 2;
  uint64_t h = 0;
#if defined(__SSE2__)
  if (!flushed_) {  // every count is in its byte lane, and half < 128
    const __m128i threshold = _mm_set1_epi8(static_cast<char>(half + 1));
    for (int r = 0; r < 4; ++r) {
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes_.data() + 2 * r));
      const __m128i above = _mm_cmpeq_epi8(_mm_max_epu8(c, threshold), c);  // c >= half + 1
      h |= static_cast<uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(above))) << (16 * r);
    }
    return h;
  }
#endif
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) {
      const uint32_t count =
          (flushed_ ? totals_[8 * i + j] : 0) + ((lanes_[i] >> (8 * j)) & 0xff);
      h |= static_cast<uint64_t>(count > half) << (8 * i + j);
    }
  return h;
}

void TextExtractor::Finish(TextFeatures* out) {
  out->scripts |= scripts_;
  if (shingle_words_ <= 0) return;
  out->words += words_;
  if (words_ >= edge_words_) {
    uint64_t tail = 0;
    for (int i = edge_words_; i >= 1; --i) tail = MixHash(tail ^ recent_[(words_ - i) & (kMaxShingle - 1)]);
    out->head = head_ | 1;
    out->tail = tail | 1;
  }
  if (words_ >= shingle_words_) {
    out->simhash = Majority();
    out->has_simhash = true;
  }
  if (topic_n_ > 0) {
    uint64_t best = ~uint64_t{0};
    for (int i = 1; i <= topic_n_ && i <= kTopicWords; ++i)
      best = std::min(best, MixHash(topic_ring_[static_cast<unsigned>(topic_n_ - i) & (kTopicRing - 1)]));
    out->topic = static_cast<int>(best >> 58);
  }
}

void ExtractText(std::string_view text, int shingle_words, std::string* folded, TextFeatures* out) {
  TextExtractor x(shingle_words, folded);
  if (shingle_words > 0)
    x.Hash(text);
  else
    x.Fold(text);
  x.Finish(out);
}

uint64_t HashId(std::string_view s) {
  uint64_t h = s.size() * 0x9E3779B97F4A7C15ULL;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    h = (h ^ Load8(s.data() + i)) * kWordMul;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    h = (h ^ tail) * kWordMul;
  }
  return MixHash(h);
}

}  // namespace tosgate::engine
