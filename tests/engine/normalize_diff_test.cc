// The fast normalizer (engine/normalize.cc) against the one it replaced
// (normalize_reference.cc): byte-identical output on the unit-test inputs,
// on every code point, on every one- and two-byte string, on generated text
// mixing every mapped range with invalid UTF-8 and spelled-out words, and on
// inputs built to stress the buffering of words (long runs, symbols, block
// boundaries of the 16-byte ASCII path). A mismatch prints the input in hex.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/normalize.h"
#include "tests/engine/normalize_reference.h"

namespace {

// The sweeps below are exhaustive in the plain build. Under a sanitizer (ASan
// at -O0 runs them ~40x slower, 2 minutes of CI) they take an even sample:
// that pass looks for memory errors, the plain build for differences.
#ifdef TOSGATE_SANITIZED
constexpr uint32_t kCodePointStride = 31;
constexpr int kGeneratedStrings = 20'000;
#else
constexpr uint32_t kCodePointStride = 1;
constexpr int kGeneratedStrings = 200'000;
#endif

std::string Hex(std::string_view s) {
  std::string hex;
  char byte[4];
  for (unsigned char c : s) {
    std::snprintf(byte, sizeof(byte), "%02x ", c);
    hex += byte;
  }
  if (!hex.empty()) hex.pop_back();
  return hex;
}

// Counts the inputs on which the two normalizers differ; reports the first
// few with their input in hex and both outputs.
class Differ {
 public:
  void Check(std::string_view input) {
    ++checked_;
    const std::string want = tosgate::engine::reference::NormalizeForMatch(input);
    const std::string got = tosgate::engine::NormalizeForMatch(input);
    if (got == want) return;
    if (++mismatches_ <= 10)
      FAIL_CHECK("input (hex): " << Hex(input) << "\n  reference: \"" << want
                                 << "\"\n  new:       \"" << got << "\"");
  }
  int mismatches() const { return mismatches_; }
  int64_t checked() const { return checked_; }

 private:
  int mismatches_ = 0;
  int64_t checked_ = 0;
};

// Encodes any value up to 0x1FFFFF the way UTF-8 would, surrogates included,
// so that the invalid ones reach the decoder too.
std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Code point ranges the normalizer maps, and a few it keeps as they are.
struct Range {
  uint32_t lo, hi;
};
constexpr Range kMapped[] = {
    // Latin-1, Latin Extended-A and -B; combining marks; Greek; Cyrillic
    {0x80, 0xBF}, {0xC0, 0xFF}, {0x100, 0x17F}, {0x180, 0x24F}, {0x300, 0x36F}, {0x370, 0x3FF},
    {0x400, 0x52F},
    // format characters and more combining marks
    {0x061C, 0x061C}, {0x180E, 0x180E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF},
    // punctuation, super- and subscripts, letterlike symbols, arrows to circled letters
    {0x2000, 0x206F}, {0x2070, 0x209F}, {0x2100, 0x214F}, {0x2190, 0x2BFF}, {0x2460, 0x24FF},
    {0x2E00, 0x2E7F}, {0x3000, 0x303F},
    // CJK and Hangul (kept), ligatures, variation selectors, BOM, full-width forms
    {0x4E00, 0x4EFF}, {0xAC00, 0xAC7F}, {0xFB00, 0xFB4F}, {0xFE00, 0xFE2F}, {0xFEFF, 0xFEFF},
    {0xFF00, 0xFF70},
    // math alphanumerics, enclosed letters, emoji, then planes 2, 14 and the last
    {0x1D400, 0x1D7FF}, {0x1F100, 0x1F1FF}, {0x1F300, 0x1FAFF}, {0x1FB00, 0x1FB0F},
    {0x20000, 0x2000F}, {0xE0000, 0xE01FF}, {0x10FFF0, 0x10FFFF}};

// Byte sequences that are not UTF-8.
const char* const kInvalid[] = {
    // lone continuation bytes and truncated sequences
    "\x80", "\xBF", "\xC3", "\xE2\x82", "\xF0\x9F\x98",
    // overlong forms
    "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF",
    // surrogates, values above U+10FFFF, bytes never valid
    "\xED\xA0\x80", "\xED\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
    "\xF7\xBF\xBF\xBF", "\xF8\x88\x80\x80\x80", "\xFE", "\xFF",
    // sequences cut short by ASCII
    "\xC3" "a", "\xE2\x82" "b", "\xF0\x9F" "1 "};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  std::string Next() {
    std::string s;
    const int pieces = Below(4) == 0 ? Below(120) : Below(24);
    for (int i = 0; i < pieces; ++i) Piece(&s);
    return s;
  }

 private:
  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  char Pick(std::string_view chars) {
    return chars[static_cast<size_t>(Below(static_cast<int>(chars.size())))];
  }

  void Piece(std::string* s) {
    switch (Below(12)) {
      case 0:
      case 1: {  // an ASCII word, sometimes long enough to fill a 16-byte block
        const int len = 1 + (Below(5) == 0 ? Below(40) : Below(8));
        for (int k = 0; k < len; ++k)
          *s += Pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        break;
      }
      case 2: {  // digits and leetspeak characters
        const int len = 1 + Below(6);
        for (int k = 0; k < len; ++k) *s += Pick("0123456789@$@$sarin");
        break;
      }
      case 3:
      case 4: {  // separators
        const int len = 1 + Below(3);
        for (int k = 0; k < len; ++k) *s += Pick("    .,-!?'\"()/\\_\t\n*#%&+=:;<>[]{}|~^`");
        break;
      }
      case 5:
      case 6: {  // a code point from a mapped range
        const Range& r = kMapped[static_cast<size_t>(Below(static_cast<int>(std::size(kMapped))))];
        *s += Utf8(r.lo + static_cast<uint32_t>(Below(static_cast<int>(r.hi - r.lo + 1))));
        break;
      }
      case 7:  // invalid UTF-8
        *s += kInvalid[static_cast<size_t>(Below(static_cast<int>(std::size(kInvalid))))];
        break;
      case 8: {  // a spelled-out word: single characters and separators
        const int len = 1 + Below(7);
        const char sep = Pick(" .-_ ,@$");
        for (int k = 0; k < len; ++k) {
          if (k > 0) *s += sep;
          if (Below(6) == 0) {
            *s += Utf8(0x430 + static_cast<uint32_t>(Below(32)));  // Cyrillic
          } else {
            *s += Pick("sarinSARIN0134578926@$");
          }
        }
        break;
      }
      case 9:  // a zero-width character or a combining mark inside a word
        *s += Pick("abc");
        *s += Utf8(Below(2) == 0 ? 0x200B : 0x301);
        *s += Pick("xyz1");
        break;
      case 10:  // a random byte
        *s += static_cast<char>(Below(256));
        break;
      default:  // any code point at all
        *s += Utf8(static_cast<uint32_t>(Below(0x110000)));
        break;
    }
  }

  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("normalize diff: the unit-test inputs") {
  Differ d;
  for (const char* input :
       {"  How to MAKE   Sarin?!\n\tNow. ", "", "...!!!", "ｍａｋｅ ｓａｒｉｎ", "ﬁnd the ﬂag",
        "𝐬𝐚𝐫𝐢𝐧 𝓼𝓪𝓻𝓲𝓷 𝕤𝕒𝕣𝕚𝕟 𝚜𝚊𝚛𝚒𝚗", "ⓢⓐⓡⓘⓝ Ⓢⓐⓡⓘⓝ ⒮⒜⒭⒤⒩", "🅢🅐🅡🅘🅝", "x² H₂O", "ℎ𝑒𝑙𝑙𝑜",
        "sárín", "sa\xcc\x81rin", "Straße Œuvre Ærø", "Łódź", "sa\u200brin",
        "s\u200ca\u200dr\u2060i\ufeffn", "sa\u00adrin", "s\u202earin", "sarin\ufe0f", "ѕаrіn",
        "SАRIN", "νx gαs", "ΤΟΧΙΝ", "привет", "s4r1n", "m@ke $arin", "r1c1n t0x1n",
        "in 1998 we had 3 cats", "email me @ home for $5", "s a r i n", "s.a.r.i.n gas",
        "s-4-r-1-n", "a b", "sa\xffrin", "\xc0\xaf", "ab\xe2\x82", "\xed\xa0\x80x",
        "synthesize sarin", "SYNTHESIZE SARIN", "ｓｙｎｔｈｅｓｉｚｅ ｓａｒｉｎ", "synth3s1ze s4rin",
        "syn\u200bthesize sa\u200brin", "ѕуnthеѕizе ѕаrin", "𝐬𝐲𝐧𝐭𝐡𝐞𝐬𝐢𝐳𝐞 𝐬𝐚𝐫𝐢𝐧", "synthésize sárin",
        "synthesize, s.a.r.i.n"})
    d.Check(input);
  CHECK(d.mismatches() == 0);
}

TEST_CASE("normalize diff: every code point, alone and inside words") {
  Differ d;
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp += kCodePointStride) {
    const std::string c = Utf8(cp);
    d.Check(c);
    d.Check("a1" + c + "b4 " + c + " c @" + c + "$ 7");
  }
  CHECK(d.checked() == 2 * ((0x110000 + kCodePointStride - 1) / kCodePointStride));
  CHECK(d.mismatches() == 0);
}

TEST_CASE("normalize diff: every string of one or two bytes") {
  Differ d;
  for (int a = 0; a < 256; ++a) {
    d.Check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) d.Check(std::string{static_cast<char>(a), static_cast<char>(b)});
  }
  CHECK(d.mismatches() == 0);
}

TEST_CASE("normalize diff: 200,000 generated strings") {
  Differ d;
  Generator gen(0x7051'6a7e'2024'0021ULL);
  for (int i = 0; i < kGeneratedStrings; ++i) d.Check(gen.Next());
  CHECK(d.mismatches() == 0);
}

TEST_CASE("normalize diff: adversarial inputs") {
  Differ d;
  auto repeat = [](std::string_view s, int n) {
    std::string r;
    for (int i = 0; i < n; ++i) r += s;
    return r;
  };
  // Runs of one-character words, long and short, of letters, digits and
  // non-ASCII letters, broken by symbols that vanish and by longer words.
  for (std::string_view unit :
       {"a ", "s.", "1 ", "4-", "й ", "@ ", "$", "a@", "1@", "x\u200b ", "ß "}) {
    for (int n : {1, 2, 3, 4, 15, 16, 17, 1000}) {
      d.Check(repeat(unit, n));
      d.Check("word " + repeat(unit, n) + "word");
      d.Check(repeat(unit, n) + "ab " + repeat(unit, n));
    }
  }
  for (const char* input :
       {"a b @ c", "a b 1@2 c", "s 1@2 n", "1 2 3", "1 2", "1@2@3", "@1@", "$$$", "@a", "a@", "1@a",
        "a b c dd e f g", "a b cd e f", "5 a r 1 n", "s a r 1 n", "s.a.r.1.n", "s @ r 1 n",
        "1 2 3 x", "x 1 2 3", "\xc3\xa9 \xc3\xa9 \xc3\xa9", "ﬁ a b", "a b ﬁ c", "ß s s",
        "０ １ ３", "＠ｓ ＄", "¹ ² ³", "Ⅰ Ⅱ", "a\xcc\x81 b\xcc\x81 c\xcc\x81", "a \xcc\x81 b c"})
    d.Check(input);
  // A single very long word, with and without leetspeak, letters or symbols.
  d.Check(repeat("abcdefgh", 8192));
  d.Check(repeat("s4r1n", 10000));
  d.Check(repeat("1@", 20000));
  d.Check(repeat("12", 20000) + "@" + repeat("34", 20000));
  d.Check(repeat("12", 20000) + "a");
  // Each special character at every offset across two 16-byte blocks.
  for (std::string_view special :
       {" ", "  ", ".", "@", "$", "1", "\xc3\xa9", "\xd0\x90", "\xe2\x80\x8b", "\xcc\x81",
        "\xe4\xb8\xad",
        "\xf0\x9f\x98\x80", "\xef\xbd\x81", "\xff", "\xe2\x82", "\xf0\x9d\x90\xac", "a b c"}) {
    for (int offset = 0; offset < 40; ++offset) {
      for (char fill : {'x', 'X', '4', ' '}) {
        const std::string before(static_cast<size_t>(offset), fill);
        d.Check(before + std::string(special));
        const std::string after(static_cast<size_t>(40 - offset), fill);
        d.Check(before + std::string(special) + after);
        d.Check(std::string(special) + before);
      }
    }
  }
  // Words of every length up to 40 between separators of every length.
  for (int word = 1; word <= 40; ++word)
    for (int gap = 1; gap <= 4; ++gap)
      d.Check(repeat(std::string(static_cast<size_t>(word), 'W') +
                         std::string(static_cast<size_t>(gap), ','),
                     6));
  CHECK(d.mismatches() == 0);
}
