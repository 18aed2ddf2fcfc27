// One pass over the input, writing straight into the output string.
//
// Why it is shaped like this: the earlier version decoded everything into a
// std::u32string, split it into a vector of words and re-encoded them, and
// ran at 30-40 MB/s, more than the content scan itself. Here:
//  - ASCII, the bulk of real prompts, goes 16 bytes at a time (SSE2): one
//    set of compares classifies a block, and whole runs of word bytes are
//    lower-cased and stored with one store;
//  - any other code point is folded by a two-level table computed at
//    compile time from the mapping rules in FoldEntry (the one place they are
//    written down);
//  - the word-level rules (leetspeak, joined spelled-out words) need a word's
//    end before they can act, so each word is written to the output as it
//    is read and rewritten in place when it ends: indices into the output,
//    never a buffer per word.
// tests/engine/normalize_diff_test.cc holds this to byte-identical output
// with the earlier version (tests/engine/normalize_reference.cc).
#include "engine/normalize.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace tosgate::engine {
namespace {

// ---------------------------------------------------------------------------
// Folding one code point: the rules, as a constexpr function of the code point.

// What a code point folds to, packed in 32 bits: the kind in bits 0-2; for
// kAscii the length (1-3) in bits 3-4 and the characters in bytes 1-3; for
// kCode the code point written instead, from bit 8.
enum FoldKind : uint32_t {
  kKeep = 0,   // a letter of another script: copied as it is
  kDrop = 1,   // removed without ending the word (combining marks, zero-width)
  kSep = 2,    // separates words
  kAscii = 3,  // one to three ASCII characters, lower case
  kCode = 4,   // another (lower-case) code point
};
constexpr uint32_t kKindMask = 7;

constexpr uint32_t Ascii(char a, char b = 0, char c = 0) {
  const uint32_t len = 1 + (b != 0 ? 1 : 0) + (c != 0 ? 1 : 0);
  return kAscii | len << 3 | static_cast<uint32_t>(static_cast<unsigned char>(a)) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(b)) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(c)) << 24;
}
constexpr uint32_t Code(uint32_t cp) { return kCode | cp << 8; }

// U+00C0-00FF: the base letter of each; '#' Æ/æ, '%' Þ/þ, '&' ß, ' ' × and ÷.
constexpr char kLatin1[] = "aaaaaa#ceeeeiiiidnooooo ouuuuy%&aaaaaa#ceeeeiiiidnooooo ouuuuy%y";
// U+0100-017F; '!' Ĳ/ĳ, '^' Œ/œ.
constexpr char kLatinExtA[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii!!jjkkkllllllllllnnnnnnnnnoooooo^^"
    "rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(sizeof(kLatin1) == 0x40 + 1);
static_assert(sizeof(kLatinExtA) == 0x80 + 1);

struct Mapping {
  uint32_t from;
  char to;
};
// Letterlike symbols standing in for the holes of the math alphabets.
constexpr Mapping kLetterlike[] = {
    {0x2102, 'c'}, {0x210A, 'g'}, {0x210B, 'h'}, {0x210C, 'h'}, {0x210D, 'h'}, {0x210E, 'h'},
    {0x2110, 'i'}, {0x2111, 'i'}, {0x2112, 'l'}, {0x2113, 'l'}, {0x2115, 'n'}, {0x2119, 'p'},
    {0x211A, 'q'}, {0x211B, 'r'}, {0x211C, 'r'}, {0x211D, 'r'}, {0x2124, 'z'}, {0x2128, 'z'},
    {0x212C, 'b'}, {0x212D, 'c'}, {0x212F, 'e'}, {0x2130, 'e'}, {0x2131, 'f'}, {0x2133, 'm'},
    {0x2134, 'o'}};
// Cyrillic and Greek letters that look Latin.
constexpr Mapping kConfusable[] = {
    {0x410, 'a'}, {0x412, 'b'}, {0x415, 'e'}, {0x41A, 'k'}, {0x41C, 'm'}, {0x41D, 'h'},
    {0x41E, 'o'}, {0x420, 'p'}, {0x421, 'c'}, {0x422, 't'}, {0x423, 'y'}, {0x425, 'x'},
    {0x405, 's'}, {0x406, 'i'}, {0x408, 'j'}, {0x430, 'a'}, {0x432, 'b'}, {0x435, 'e'},
    {0x43A, 'k'}, {0x43C, 'm'}, {0x43D, 'h'}, {0x43E, 'o'}, {0x440, 'p'}, {0x441, 'c'},
    {0x442, 't'}, {0x443, 'y'}, {0x445, 'x'}, {0x451, 'e'}, {0x455, 's'}, {0x456, 'i'},
    {0x457, 'i'}, {0x458, 'j'}, {0x4BB, 'h'}, {0x501, 'd'}, {0x391, 'a'}, {0x392, 'b'},
    {0x395, 'e'}, {0x396, 'z'}, {0x397, 'h'}, {0x399, 'i'}, {0x39A, 'k'}, {0x39C, 'm'},
    {0x39D, 'n'}, {0x39F, 'o'}, {0x3A1, 'p'}, {0x3A4, 't'}, {0x3A5, 'y'}, {0x3A7, 'x'},
    {0x3B1, 'a'}, {0x3B2, 'b'}, {0x3B5, 'e'}, {0x3B6, 'z'}, {0x3B7, 'n'}, {0x3B9, 'i'},
    {0x3BA, 'k'}, {0x3BC, 'u'}, {0x3BD, 'v'}, {0x3BF, 'o'}, {0x3C1, 'p'}, {0x3C4, 't'},
    {0x3C5, 'u'}, {0x3C7, 'x'}, {0x3AC, 'a'}, {0x3AD, 'e'}, {0x3AE, 'n'}, {0x3AF, 'i'},
    {0x3CC, 'o'}, {0x3CD, 'u'}};

constexpr bool In(uint32_t cp, uint32_t lo, uint32_t hi) { return cp >= lo && cp <= hi; }

constexpr uint32_t FoldAscii(uint32_t c) {
  if (In(c, 'A', 'Z')) return Ascii(static_cast<char>(c + 32));
  if (In(c, 'a', 'z') || In(c, '0', '9') || c == '@' || c == '$')
    return Ascii(static_cast<char>(c));
  return kSep;
}

// The fold of one code point. The first rule that matches wins, so the order
// of the checks is part of the mapping.
constexpr uint32_t FoldEntry(uint32_t cp) {
  // Above plane 1 only the tag characters and the variation selectors
  // supplement are mapped; everything else there is a letter kept as it is.
  if (cp >= 0x20000) return In(cp, 0xE0000, 0xE007F) || In(cp, 0xE0100, 0xE01EF) ? kDrop : kKeep;
  if (cp < 0x80) return FoldAscii(cp);
  // No rule below covers these blocks (CJK to the private use area, most of
  // plane 1); saying so first keeps building the table at compile time within
  // GCC's constexpr budget. The exhaustive test in normalize_diff_test.cc
  // checks every code point against the earlier normalizer.
  if (In(cp, 0x3040, 0xFAFF) || In(cp, 0x10000, 0x1D3FF) || In(cp, 0x1D800, 0x1EFFF) ||
      In(cp, 0x1FB00, 0x1FFFF))
    return kKeep;
  if (In(cp, 0xFF01, 0xFF5E)) return FoldAscii(cp - 0xFEE0);  // full-width ASCII
  if (In(cp, 0xC0, 0xFF)) {
    const char c = kLatin1[cp - 0xC0];
    if (c == '#') return Ascii('a', 'e');
    if (c == '%') return Ascii('t', 'h');
    if (c == '&') return Ascii('s', 's');
    if (c == ' ') return kSep;
    return Ascii(c);
  }
  if (In(cp, 0x100, 0x17F)) {
    const char c = kLatinExtA[cp - 0x100];
    if (c == '!') return Ascii('i', 'j');
    if (c == '^') return Ascii('o', 'e');
    return Ascii(c);
  }
  switch (cp) {
    case 0xAA: return Ascii('a');
    case 0xBA: return Ascii('o');
    case 0xB9: return Ascii('1');
    case 0xB2: return Ascii('2');
    case 0xB3: return Ascii('3');
    case 0xAD: return kDrop;  // soft hyphen
    case 0x2070: return Ascii('0');
    case 0x2071: return Ascii('i');
    case 0x207F: return Ascii('n');
    case 0x24EA: return Ascii('0');
    case 0x1D6A4: return Ascii('i');
    case 0x1D6A5: return Ascii('j');
    case 0xFB00: return Ascii('f', 'f');
    case 0xFB01: return Ascii('f', 'i');
    case 0xFB02: return Ascii('f', 'l');
    case 0xFB03: return Ascii('f', 'f', 'i');
    case 0xFB04: return Ascii('f', 'f', 'l');
    case 0xFB05:
    case 0xFB06: return Ascii('s', 't');
    case 0x180E:
    case 0xFEFF:
    case 0x061C: return kDrop;  // format characters
    default: break;
  }
  if (In(cp, 0x2102, 0x2134)) {
    for (const auto& [from, to] : kLetterlike)
      if (cp == from) return Ascii(to);
  }
  if (In(cp, 0x1D400, 0x1D6A3)) {  // mathematical alphanumerics: 13 alphabets of A-Z a-z
    const uint32_t i = (cp - 0x1D400) % 52;
    return Ascii(static_cast<char>('a' + (i < 26 ? i : i - 26)));
  }
  if (In(cp, 0x1D7CE, 0x1D7FF)) return Ascii(static_cast<char>('0' + (cp - 0x1D7CE) % 10));
  constexpr struct {
    uint32_t lo, hi;
    char first;
  } kRuns[] = {
      {0x24B6, 0x24CF, 'a'},    // Ⓐ
      {0x24D0, 0x24E9, 'a'},    // ⓐ
      {0x249C, 0x24B5, 'a'},    // ⒜
      {0x2460, 0x2468, '1'},    // ①
      {0x2074, 0x2079, '4'},    // ⁴
      {0x2080, 0x2089, '0'},    // ₀
      {0x1F130, 0x1F149, 'a'},  // 🄰 squared
      {0x1F150, 0x1F169, 'a'},  // 🅐
      {0x1F170, 0x1F189, 'a'},  // 🅰
      {0x1F1E6, 0x1F1FF, 'a'},  // regional indicators
  };
  for (const auto& run : kRuns)
    if (In(cp, run.lo, run.hi)) return Ascii(static_cast<char>(run.first + (cp - run.lo)));
  // Combining marks, zero-width and bidi controls, variation selectors: gone.
  if (In(cp, 0x300, 0x36F) || In(cp, 0x1AB0, 0x1AFF) || In(cp, 0x1DC0, 0x1DFF) ||
      In(cp, 0x20D0, 0x20FF) || In(cp, 0xFE20, 0xFE2F) || In(cp, 0x200B, 0x200F) ||
      In(cp, 0x202A, 0x202E) || In(cp, 0x2060, 0x2069) || In(cp, 0xFE00, 0xFE0F))
    return kDrop;
  // Cyrillic and Greek: look-alikes to Latin, the rest lower-cased.
  if (In(cp, 0x391, 0x501)) {
    for (const auto& [from, to] : kConfusable)
      if (cp == from) return Ascii(to);
  }
  if (In(cp, 0x410, 0x42F)) return Code(cp + 0x20);
  if (In(cp, 0x400, 0x40F)) return Code(cp + 0x50);
  if (In(cp, 0x391, 0x3A9)) return Code(cp + 0x20);
  // Punctuation and symbols separate words.
  if (In(cp, 0x80, 0xBF) || In(cp, 0x2000, 0x206F) || In(cp, 0x2190, 0x2BFF) ||
      In(cp, 0x3000, 0x303F) || In(cp, 0xFF00, 0xFF0F) || In(cp, 0x1F000, 0x1FAFF) ||
      In(cp, 0x2E00, 0x2E7F))
    return kSep;
  return kKeep;
}

// ---------------------------------------------------------------------------
// The same folds as a two-level table over planes 0 and 1: 128-entry pages;
// pages that fold wholly to kKeep, kSep or kDrop (most of them) share one.

constexpr int kPageBits = 7;
constexpr uint32_t kPageSize = 1u << kPageBits;
constexpr uint32_t kTableEnd = 0x20000;
constexpr uint32_t kPageCount = kTableEnd >> kPageBits;
constexpr uint32_t kUniform[] = {kKeep, kSep, kDrop};  // pages 0, 1 and 2
constexpr int kUniformPages = 3;

// Which shared page holds all of `page`, or -1.
constexpr int SharedPage(uint32_t page) {
  const uint32_t base = page << kPageBits;
  const uint32_t first = FoldEntry(base);
  for (int u = 0; u < kUniformPages; ++u) {
    if (first != kUniform[u]) continue;
    for (uint32_t k = 1; k < kPageSize; ++k)
      if (FoldEntry(base + k) != first) return -1;
    return u;
  }
  return -1;
}

constexpr size_t CountPages() {
  size_t pages = kUniformPages;
  for (uint32_t p = 0; p < kPageCount; ++p) pages += SharedPage(p) < 0 ? 1 : 0;
  return pages;
}
constexpr size_t kPages = CountPages();
static_assert(kPages <= 256, "page numbers are one byte");

struct FoldTable {
  uint8_t page_of[kPageCount];
  uint32_t entries[kPages][kPageSize];
};

constexpr FoldTable BuildFoldTable() {
  FoldTable t{};
  for (int u = 0; u < kUniformPages; ++u)
    for (uint32_t k = 0; k < kPageSize; ++k) t.entries[u][k] = kUniform[u];
  size_t next = kUniformPages;
  for (uint32_t p = 0; p < kPageCount; ++p) {
    const int shared = SharedPage(p);
    if (shared >= 0) {
      t.page_of[p] = static_cast<uint8_t>(shared);
      continue;
    }
    t.page_of[p] = static_cast<uint8_t>(next);
    for (uint32_t k = 0; k < kPageSize; ++k) t.entries[next][k] = FoldEntry((p << kPageBits) + k);
    ++next;
  }
  return t;
}
constexpr FoldTable kFoldTable = BuildFoldTable();

inline uint32_t Fold(uint32_t cp) {
  if (cp < kTableEnd)
    return kFoldTable.entries[kFoldTable.page_of[cp >> kPageBits]][cp & (kPageSize - 1)];
  return FoldEntry(cp);  // its first line
}

// ---------------------------------------------------------------------------
// Bytes.

// Classes of a folded ASCII byte, or of an input byte (0 = separator).
enum ByteClass : uint8_t {
  kWordByte = 1,  // letter, digit, '@' or '$'
  kLetter = 2,    // a-z (or A-Z), or part of a non-ASCII letter
  kLeet = 4,      // a digit or symbol leetspeak maps: 0 1 3 4 5 7 8 @ $
  kSymbol = 8,    // '@' or '$': a separator in a word without letters
};

constexpr char LeetOf(unsigned char c) {
  switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '8': return 'b';
    case '@': return 'a';
    case '$': return 's';
    default: return 0;
  }
}

struct ByteTables {
  uint8_t cls[256];
  char lower[256];  // A-Z lower-cased, every other byte as it is
  char leet[256];   // leetspeak mapped, every other byte as it is
};

constexpr ByteTables BuildByteTables() {
  ByteTables t{};
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    uint8_t cls = 0;
    if (In(c, 'a', 'z') || In(c, 'A', 'Z')) cls = kWordByte | kLetter;
    if (In(c, '0', '9')) cls = kWordByte;
    if (c == '@' || c == '$') cls = kWordByte | kSymbol;
    if (LeetOf(c) != 0) cls |= kLeet;
    t.cls[b] = cls;
    t.lower[b] = static_cast<char>(In(c, 'A', 'Z') ? c + 32 : c);
    t.leet[b] = static_cast<char>(LeetOf(c) != 0 ? LeetOf(c) : c);
  }
  return t;
}
constexpr ByteTables kBytes = BuildByteTables();

inline void MapLeet(char* p, size_t len) {
  for (size_t k = 0; k < len; ++k) p[k] = kBytes.leet[static_cast<unsigned char>(p[k])];
}

// ---------------------------------------------------------------------------
// The pass.
//
// The output never outgrows the input read so far (every fold is at most as
// long as its UTF-8, and each space between words stands for at least one
// separator read), so it is written through a raw pointer into a string the
// size of the input, and the 16-byte stores of the ASCII path stay inside it.
class Normalizer {
 public:
  Normalizer(std::string_view in, char* out) : in_(in.data()), size_(in.size()), out_(out) {}

  size_t Run() {
    size_t i = 0;
    while (i < size_) {
#ifdef __SSE2__
      if (size_ - i >= 16) {
        const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in_ + i));
        const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(block));
        if (high == 0) {
          AsciiBlock(i, block);
          i += 16;
          continue;
        }
        for (const size_t stop = i + static_cast<size_t>(__builtin_ctz(high)); i < stop; ++i)
          AsciiByte(static_cast<unsigned char>(in_[i]));
        i = CodePoint(i);
        continue;
      }
#endif
      const auto b = static_cast<unsigned char>(in_[i]);
      if (b < 0x80) {
        AsciiByte(b);
        ++i;
      } else {
        i = CodePoint(i);
      }
    }
    if (in_word_) EndWord();
    FlushRun();
    return n_;
  }

 private:
  void StartWord() {
    mark_ = n_;
    if (n_ > 0) out_[n_++] = ' ';
    word_ = n_;
    cps_ = 0;
    flags_ = 0;
    in_word_ = true;
  }

  // One folded ASCII character of class `cls` (not a separator).
  void WordChar(char c, uint8_t cls) {
    if (!in_word_) StartWord();
    out_[n_++] = c;
    ++cps_;
    flags_ |= cls;
  }

  void Separator() {
    if (in_word_) EndWord();
  }

  void AsciiByte(unsigned char b) {
    const uint8_t cls = kBytes.cls[b];
    if (cls != 0) {
      WordChar(kBytes.lower[b], cls);
    } else {
      Separator();
    }
  }

  // The code point starting at in_[i], which is not ASCII; returns where the
  // next one starts. Invalid UTF-8 is a separator: a bad lead or continuation
  // byte or a truncated sequence consumes one byte, an overlong form, a
  // surrogate or a value above U+10FFFF the whole sequence.
  size_t CodePoint(size_t i) {
    const auto c = static_cast<unsigned char>(in_[i]);
    const size_t len = c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
    if (len == 0 || len > size_ - i) {
      Separator();
      return i + 1;
    }
    uint32_t cp = c & (0x7Fu >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(in_[i + k]);
      if ((b & 0xC0) != 0x80) {
        Separator();
        return i + 1;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        In(cp, 0xD800, 0xDFFF) || cp > 0x10FFFF) {
      Separator();
      return i + len;
    }
    const uint32_t fold = Fold(cp);
    switch (fold & kKindMask) {
      case kKeep:  // valid and shortest, so its bytes are its UTF-8
        if (!in_word_) StartWord();
        std::memcpy(out_ + n_, in_ + i, len);
        n_ += len;
        ++cps_;
        flags_ |= kLetter;
        break;
      case kCode:
        if (!in_word_) StartWord();
        AppendUtf8(fold >> 8);
        ++cps_;
        flags_ |= kLetter;
        break;
      case kAscii:
        for (uint32_t k = 0; k < ((fold >> 3) & 3); ++k) {
          const auto a = static_cast<unsigned char>(fold >> (8 * (k + 1)));
          WordChar(static_cast<char>(a), kBytes.cls[a]);
        }
        break;
      case kSep:
        Separator();
        break;
      default:  // kDrop
        break;
    }
    return i + len;
  }

  void AppendUtf8(uint32_t cp) {
    if (cp < 0x800) {
      out_[n_++] = static_cast<char>(0xC0 | (cp >> 6));
      out_[n_++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {  // kCode holds Cyrillic and Greek only; kept for any future fold
      uint8_t bytes[4];
      size_t len = 0;
      if (cp < 0x10000) {
        bytes[len++] = static_cast<uint8_t>(0xE0 | (cp >> 12));
      } else {
        bytes[len++] = static_cast<uint8_t>(0xF0 | (cp >> 18));
        bytes[len++] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
      }
      bytes[len++] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
      bytes[len++] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
      std::memcpy(out_ + n_, bytes, len);
      n_ += len;
    }
  }

#ifdef __SSE2__
  static __m128i Lower(__m128i x) {
    const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
                                        _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
    return _mm_or_si128(x, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
  }
  static unsigned Mask(__m128i x) { return static_cast<unsigned>(_mm_movemask_epi8(x)); }
  static __m128i Eq(__m128i x, char c) { return _mm_cmpeq_epi8(x, _mm_set1_epi8(c)); }
  static __m128i Range(__m128i x, char lo, char hi) {  // signed compares: the bytes are ASCII
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
  }

  // in_[i, i + 16), all ASCII: each run of word bytes is lower-cased and
  // stored at once; words end at the separators between them. The word
  // state is held in locals for the block and written back around the slow
  // path: the output is char, which may alias every member, so member state
  // would be reloaded after each store (a third of the normalizer's
  // instructions on prose, callgrind).
  void AsciiBlock(size_t i, __m128i x) {
    const __m128i lower = Lower(x);
    const unsigned letters = Mask(Range(lower, 'a', 'z'));
    const unsigned digits = Mask(Range(x, '0', '9'));
    const unsigned symbols = Mask(_mm_or_si128(Eq(x, '@'), Eq(x, '$')));
    const unsigned word = letters | digits | symbols;
    // Most blocks of prose have neither: every run in them is letters only.
    const bool letters_only = (digits | symbols) == 0;
    unsigned leet = 0;
    if (!letters_only) {
      const unsigned plain = Mask(_mm_or_si128(_mm_or_si128(Eq(x, '2'), Eq(x, '6')), Eq(x, '9')));
      leet = (digits & ~plain) | symbols;
    }
    char* const out = out_;
    size_t n = n_, cps = cps_, mark = mark_, start = word_;
    uint8_t flags = flags_;
    bool in_word = in_word_;
    bool run_pending = run_count_ != 0;
    unsigned pos = 0;
    while (pos < 16) {
      if (!in_word) {
        const unsigned rest = word >> pos;
        if (rest == 0) break;
        pos += static_cast<unsigned>(__builtin_ctz(rest));
        mark = n;  // StartWord
        if (n > 0) out[n++] = ' ';
        start = n;
        cps = 0;
        flags = 0;
        in_word = true;
      }
      // ~word has bits 16-31 set, so the run stops at the block's end.
      const auto len = static_cast<unsigned>(__builtin_ctz(~word >> pos));
      if (len > 0) {
        if (pos == 0) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), lower);
        } else if (i + pos + 16 <= size_) {
          const __m128i run = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in_ + i + pos));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), Lower(run));
        } else {
          for (unsigned k = 0; k < len; ++k)
            out[n + k] = kBytes.lower[static_cast<unsigned char>(in_[i + pos + k])];
        }
        n += len;
        cps += len;
        if (letters_only) {
          flags |= kLetter;
        } else {
          const unsigned in_run = ((1u << len) - 1) << pos;
          flags |= ((letters & in_run) != 0 ? kLetter : 0) | ((leet & in_run) != 0 ? kLeet : 0) |
                   ((symbols & in_run) != 0 ? kSymbol : 0);
        }
        pos += len;
      }
      if (pos < 16) {  // in_[i + pos] is a separator: EndWord
        in_word = false;
        if ((flags & (kLetter | kLeet)) == kLetter && cps > 1 && !run_pending) continue;
        n_ = n, cps_ = cps, mark_ = mark, word_ = start, flags_ = flags, in_word_ = false;
        EndWordSlow();
        n = n_;
        run_pending = run_count_ != 0;
      }
    }
    n_ = n, cps_ = cps, mark_ = mark, word_ = start, flags_ = flags, in_word_ = in_word;
  }
#endif

  // The word in out_[word_, n_) is complete.
  void EndWord() {
    in_word_ = false;
    // The common case: a word with letters and no leetspeak, of two or more
    // characters, with no spelled-out word pending.
    if ((flags_ & (kLetter | kLeet)) == kLetter && cps_ > 1 && run_count_ == 0) return;
    EndWordSlow();
  }

  // Out of line so that EndWord, called once a word, inlines.
  [[gnu::noinline]] void EndWordSlow() {
    if ((flags_ & kLetter) != 0) {
      if ((flags_ & kLeet) != 0) MapLeet(out_ + word_, n_ - word_);
      Emit(word_, cps_, true);
    } else if ((flags_ & kSymbol) == 0) {
      Emit(word_, cps_, false);
    } else {
      SplitAtSymbols();
    }
  }

  // A word of digits, '@' and '$' only: '@' and '$' separate, leaving zero or
  // more words of digits. Written back in place: each part moves down (over
  // the symbols already read) and never over what is still to be read.
  void SplitAtSymbols() {
    const size_t end = n_;
    size_t r = word_;
    n_ = mark_;  // drop the space before the word; each part writes its own
    while (true) {
      while (r < end && (kBytes.cls[static_cast<unsigned char>(out_[r])] & kSymbol) != 0) ++r;
      if (r == end) break;
      const size_t from = r;
      while (r < end && (kBytes.cls[static_cast<unsigned char>(out_[r])] & kSymbol) == 0) ++r;
      if (n_ > 0) out_[n_++] = ' ';
      const size_t start = n_;
      std::memmove(out_ + n_, out_ + from, r - from);
      n_ += r - from;
      Emit(start, r - from, false);
    }
  }

  // A finished word at out_[start, n_) of `cps` code points. One-character
  // words are held as a run until a longer word or the end shows whether
  // there are three or more of them.
  void Emit(size_t start, size_t cps, bool letter) {
    if (cps == 1) {
      if (run_count_ == 0) {
        run_start_ = start;
        run_letter_ = false;
      }
      ++run_count_;
      run_letter_ |= letter;
      run_end_ = n_;
      return;
    }
    FlushRun();
  }

  // A run of three or more one-character words at out_[run_start_, run_end_)
  // becomes one word, leet-mapped if it has a letter; what follows it (the
  // word that ended the run) moves down behind it.
  void FlushRun() {
    if (run_count_ >= 3) {
      size_t d = run_start_;
      for (size_t s = run_start_; s < run_end_; ++s)
        if (out_[s] != ' ') out_[d++] = out_[s];
      if (run_letter_) MapLeet(out_ + run_start_, d - run_start_);
      const size_t tail = n_ - run_end_;
      std::memmove(out_ + d, out_ + run_end_, tail);
      n_ = d + tail;
    }
    run_count_ = 0;
  }

  const char* const in_;
  const size_t size_;
  char* const out_;
  size_t n_ = 0;  // output length

  bool in_word_ = false;
  size_t mark_ = 0;  // n_ before the current word's space
  size_t word_ = 0;  // where the current word starts
  size_t cps_ = 0;   // its length in code points
  uint8_t flags_ = 0;

  size_t run_count_ = 0;  // one-character words pending
  size_t run_start_ = 0;
  size_t run_end_ = 0;
  bool run_letter_ = false;
};

}  // namespace

std::string NormalizeForMatch(std::string_view utf8) {
  std::string out(utf8.size(), '\0');
  out.resize(Normalizer(utf8, out.data()).Run());
  return out;
}

void NormalizeForMatch(std::string_view utf8, std::string* out) {
  // resize zero-fills only what grows; the pass writes the rest before it
  // reads any of it.
  out->resize(utf8.size());
  out->resize(Normalizer(utf8, out->data()).Run());
}

}  // namespace tosgate::engine
