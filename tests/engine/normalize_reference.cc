// See normalize_reference.h: the pre-rewrite normalizer, unchanged but for
// its namespace, as the oracle for normalize_diff_test.cc.
#include "tests/engine/normalize_reference.h"

#include <cstdint>
#include <vector>

namespace tosgate::engine::reference {
namespace {

constexpr uint32_t kSeparator = ' ';
constexpr uint32_t kDrop = 0;

// U+00C0-00FF: the base letter of each; '#' Æ/æ, '%' Þ/þ, '&' ß, ' ' × and ÷.
constexpr char kLatin1[] = "aaaaaa#ceeeeiiiidnooooo ouuuuy%&aaaaaa#ceeeeiiiidnooooo ouuuuy%y";
// U+0100-017F; '!' Ĳ/ĳ, '^' Œ/œ.
constexpr char kLatinExtA[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii!!jjkkkllllllllllnnnnnnnnnoooooo^^rrrrrrssssssss"
    "ttttttuuuuuuuuuuuuwwyyyzzzzzzs";

static_assert(sizeof(kLatin1) == 0x40 + 1);
static_assert(sizeof(kLatinExtA) == 0x80 + 1);

// Writes the folded form of `cp` into *out: ASCII for what maps to Latin,
// the (lower-cased) code point for other letters, kSeparator, or nothing.
void Fold(uint32_t cp, std::u32string* out) {
  auto put = [out](std::string_view s) {
    for (char c : s) out->push_back(static_cast<unsigned char>(c));
  };
  if (cp < 0x80) {
    if (cp >= 'A' && cp <= 'Z') return out->push_back(cp + 32);
    if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '@' || cp == '$')
      return out->push_back(cp);
    return out->push_back(kSeparator);
  }
  if (cp >= 0xFF01 && cp <= 0xFF5E) return Fold(cp - 0xFEE0, out);  // full-width ASCII
  if (cp >= 0xC0 && cp <= 0xFF) {
    const char c = kLatin1[cp - 0xC0];
    if (c == '#') return put("ae");
    if (c == '%') return put("th");
    if (c == '&') return put("ss");
    return out->push_back(static_cast<unsigned char>(c));
  }
  if (cp >= 0x100 && cp <= 0x17F) {
    const char c = kLatinExtA[cp - 0x100];
    if (c == '!') return put("ij");
    if (c == '^') return put("oe");
    return out->push_back(static_cast<unsigned char>(c));
  }
  switch (cp) {
    case 0xAA: return out->push_back('a');
    case 0xBA: return out->push_back('o');
    case 0xB9: return out->push_back('1');
    case 0xB2: return out->push_back('2');
    case 0xB3: return out->push_back('3');
    case 0xAD: return;  // soft hyphen
    case 0x2070: return out->push_back('0');
    case 0x2071: return out->push_back('i');
    case 0x207F: return out->push_back('n');
    case 0x24EA: return out->push_back('0');
    case 0x1D6A4: return out->push_back('i');
    case 0x1D6A5: return out->push_back('j');
    case 0xFB00: return put("ff");
    case 0xFB01: return put("fi");
    case 0xFB02: return put("fl");
    case 0xFB03: return put("ffi");
    case 0xFB04: return put("ffl");
    case 0xFB05:
    case 0xFB06: return put("st");
    case 0x180E:
    case 0xFEFF:
    case 0x061C: return;  // format characters
    default: break;
  }
  // Letterlike symbols standing in for the holes of the math alphabets.
  static constexpr std::pair<uint32_t, char> kLetterlike[] = {
      {0x2102, 'c'}, {0x210A, 'g'}, {0x210B, 'h'}, {0x210C, 'h'}, {0x210D, 'h'}, {0x210E, 'h'},
      {0x2110, 'i'}, {0x2111, 'i'}, {0x2112, 'l'}, {0x2113, 'l'}, {0x2115, 'n'}, {0x2119, 'p'},
      {0x211A, 'q'}, {0x211B, 'r'}, {0x211C, 'r'}, {0x211D, 'r'}, {0x2124, 'z'}, {0x2128, 'z'},
      {0x212C, 'b'}, {0x212D, 'c'}, {0x212F, 'e'}, {0x2130, 'e'}, {0x2131, 'f'}, {0x2133, 'm'},
      {0x2134, 'o'}};
  for (const auto& [from, to] : kLetterlike)
    if (cp == from) return out->push_back(static_cast<unsigned char>(to));
  if (cp >= 0x1D400 && cp <= 0x1D6A3) {  // mathematical alphanumerics: 13 alphabets of A-Z a-z
    const uint32_t i = (cp - 0x1D400) % 52;
    return out->push_back('a' + (i < 26 ? i : i - 26));
  }
  if (cp >= 0x1D7CE && cp <= 0x1D7FF) return out->push_back('0' + (cp - 0x1D7CE) % 10);
  if (cp >= 0x24B6 && cp <= 0x24CF) return out->push_back('a' + (cp - 0x24B6));  // Ⓐ
  if (cp >= 0x24D0 && cp <= 0x24E9) return out->push_back('a' + (cp - 0x24D0));  // ⓐ
  if (cp >= 0x249C && cp <= 0x24B5) return out->push_back('a' + (cp - 0x249C));  // ⒜
  if (cp >= 0x2460 && cp <= 0x2468) return out->push_back('1' + (cp - 0x2460));  // ①
  if (cp >= 0x2074 && cp <= 0x2079) return out->push_back('4' + (cp - 0x2074));  // ⁴
  if (cp >= 0x2080 && cp <= 0x2089) return out->push_back('0' + (cp - 0x2080));  // ₀
  if (cp >= 0x1F130 && cp <= 0x1F149) return out->push_back('a' + (cp - 0x1F130));  // 🄰 squared
  if (cp >= 0x1F150 && cp <= 0x1F169) return out->push_back('a' + (cp - 0x1F150));  // 🅐
  if (cp >= 0x1F170 && cp <= 0x1F189) return out->push_back('a' + (cp - 0x1F170));  // 🅰
  if (cp >= 0x1F1E6 && cp <= 0x1F1FF) return out->push_back('a' + (cp - 0x1F1E6));  // regional indicators
  // Combining marks, zero-width and bidi controls, variation selectors: gone.
  if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0x200B && cp <= 0x200F) ||
      (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2069) ||
      (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) ||
      (cp >= 0xE0000 && cp <= 0xE007F))
    return;
  // Cyrillic and Greek: look-alikes to Latin, the rest lower-cased.
  static constexpr std::pair<uint32_t, char> kConfusable[] = {
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
  for (const auto& [from, to] : kConfusable)
    if (cp == from) return out->push_back(static_cast<unsigned char>(to));
  if (cp >= 0x410 && cp <= 0x42F) return out->push_back(cp + 0x20);
  if (cp >= 0x400 && cp <= 0x40F) return out->push_back(cp + 0x50);
  if (cp >= 0x391 && cp <= 0x3A9) return out->push_back(cp + 0x20);
  // Punctuation and symbols separate words.
  if ((cp >= 0x80 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) ||
      (cp >= 0x2190 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
      (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
      (cp >= 0x2E00 && cp <= 0x2E7F))
    return out->push_back(kSeparator);
  out->push_back(cp);  // another script's letter: kept as it is
}

// Decodes one UTF-8 sequence at s[*i]; invalid bytes decode as a separator.
uint32_t Next(std::string_view s, size_t* i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(*i);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return kSeparator;
  }
  uint32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((b(*i + k) & 0xC0) != 0x80) {
      ++*i;
      return kSeparator;
    }
    cp = (cp << 6) | (b(*i + k) & 0x3F);
  }
  *i += len;
  // Overlong forms and surrogates are invalid too.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return kSeparator;
  return cp;
}

bool IsAsciiLetter(uint32_t c) { return c >= 'a' && c <= 'z'; }

char Leet(uint32_t c) {
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

// In a word with a letter, leet digits and symbols become letters; '@' and
// '$' anywhere else are separators.
void MapLeet(std::u32string* word) {
  bool letter = false;
  for (uint32_t c : *word) letter |= IsAsciiLetter(c) || c > 0x7F;
  for (char32_t& c : *word) {
    if (letter && Leet(c)) c = static_cast<unsigned char>(Leet(c));
    else if (c == '@' || c == '$') c = kSeparator;
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string NormalizeForMatch(std::string_view utf8) {
  std::u32string folded;
  folded.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) Fold(Next(utf8, &i), &folded);

  // Words, with leetspeak mapped.
  std::vector<std::u32string> words;
  std::u32string word;
  auto flush = [&] {
    if (word.empty()) return;
    MapLeet(&word);
    // '@' or '$' that became separators split the word.
    std::u32string part;
    for (uint32_t c : word) {
      if (c == kSeparator) {
        if (!part.empty()) words.push_back(std::move(part)), part.clear();
      } else {
        part.push_back(c);
      }
    }
    if (!part.empty()) words.push_back(std::move(part));
    word.clear();
  };
  for (uint32_t c : folded) {
    if (c == kSeparator) flush();
    else word.push_back(c);
  }
  flush();

  // Runs of three or more one-character words are one spelled-out word.
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < words.size();) {
    size_t j = i;
    while (j < words.size() && words[j].size() == 1) ++j;
    if (j - i >= 3) {
      std::u32string joined;
      for (size_t k = i; k < j; ++k) joined += words[k];
      MapLeet(&joined);
      if (!out.empty()) out.push_back(' ');
      for (uint32_t c : joined) AppendUtf8(c, &out);
      i = j;
      continue;
    }
    if (!out.empty()) out.push_back(' ');
    for (uint32_t c : words[i]) AppendUtf8(c, &out);
    ++i;
  }
  return out;
}

}  // namespace tosgate::engine::reference
