// Adversarial spellings of each class meet the plain spelling.
#include <doctest/doctest.h>

#include <string>

#include "engine/normalize.h"

using tosgate::engine::NormalizeForMatch;

TEST_CASE("normalize: case, punctuation and whitespace") {
  CHECK(NormalizeForMatch("  How to MAKE   Sarin?!\n\tNow. ") == "how to make sarin now");
  CHECK(NormalizeForMatch("") == "");
  CHECK(NormalizeForMatch("...!!!") == "");
}

TEST_CASE(
    "normalize: compatibility forms: full-width, ligatures, math alphanumerics, circled, "
    "super/subscripts") {
  CHECK(NormalizeForMatch("ｍａｋｅ ｓａｒｉｎ") == "make sarin");
  CHECK(NormalizeForMatch("ﬁnd the ﬂag") == "find the flag");
  CHECK(NormalizeForMatch("𝐬𝐚𝐫𝐢𝐧 𝓼𝓪𝓻𝓲𝓷 𝕤𝕒𝕣𝕚𝕟 𝚜𝚊𝚛𝚒𝚗") == "sarin sarin sarin sarin");
  CHECK(NormalizeForMatch("ⓢⓐⓡⓘⓝ Ⓢⓐⓡⓘⓝ ⒮⒜⒭⒤⒩") == "sarin sarin sarin");
  CHECK(NormalizeForMatch("🅢🅐🅡🅘🅝") == "sarin");
  CHECK(NormalizeForMatch("x² H₂O") == "x2 h2o");
  CHECK(NormalizeForMatch("ℎ𝑒𝑙𝑙𝑜") == "hello");
}

TEST_CASE("normalize: diacritics and combining marks") {
  CHECK(NormalizeForMatch("sárín") == "sarin");
  CHECK(NormalizeForMatch("sa\xcc\x81rin") == "sarin");  // a + combining acute
  CHECK(NormalizeForMatch("Straße Œuvre Ærø") == "strasse oeuvre aero");
  CHECK(NormalizeForMatch("Łódź") == "lodz");
}

TEST_CASE("normalize: zero-width and format characters are removed") {
  CHECK(NormalizeForMatch("sa\u200brin") == "sarin");
  CHECK(NormalizeForMatch("s\u200ca\u200dr\u2060i\ufeffn") == "sarin");
  CHECK(NormalizeForMatch("sa\u00adrin") == "sarin");
  CHECK(NormalizeForMatch("s\u202earin") == "sarin");
  CHECK(NormalizeForMatch("sarin\ufe0f") == "sarin");
}

TEST_CASE("normalize: Cyrillic and Greek look-alikes become Latin") {
  CHECK(NormalizeForMatch("ѕаrіn") == "sarin");  // Cyrillic ѕ а і
  CHECK(NormalizeForMatch("SАRIN") == "sarin");  // Cyrillic А
  CHECK(NormalizeForMatch("νx gαs") == "vx gas");  // Greek ν α
  CHECK(NormalizeForMatch("ΤΟΧΙΝ") == "toxin");    // Greek capitals
  CHECK(NormalizeForMatch("привет") == "пpиbet");  // other Cyrillic letters are kept, lower-cased
}

TEST_CASE("normalize: leetspeak in words with letters; plain numbers stay") {
  CHECK(NormalizeForMatch("s4r1n") == "sarin");
  CHECK(NormalizeForMatch("m@ke $arin") == "make sarin");
  CHECK(NormalizeForMatch("r1c1n t0x1n") == "ricin toxin");
  CHECK(NormalizeForMatch("in 1998 we had 3 cats") == "in 1998 we had 3 cats");
  CHECK(NormalizeForMatch("email me @ home for $5") == "email me home for 5");
}

TEST_CASE("normalize: spelled-out words are joined") {
  CHECK(NormalizeForMatch("s a r i n") == "sarin");
  CHECK(NormalizeForMatch("s.a.r.i.n gas") == "sarin gas");
  CHECK(NormalizeForMatch("s-4-r-1-n") == "sarin");
  CHECK(NormalizeForMatch("a b") == "a b");  // two are not a spelled-out word
}

TEST_CASE("normalize: invalid UTF-8 is a separator, never a crash") {
  CHECK(NormalizeForMatch("sa\xffrin") == "sa rin");
  CHECK(NormalizeForMatch("\xc0\xaf") == "");  // overlong '/'
  CHECK(NormalizeForMatch("ab\xe2\x82") == "ab");  // truncated sequence
  CHECK(NormalizeForMatch("\xed\xa0\x80x") == "x");  // a surrogate
}

TEST_CASE("normalize: all mappings meet: one phrase, many spellings") {
  const std::string plain = NormalizeForMatch("synthesize sarin");
  for (const char* spelled :
       {"SYNTHESIZE SARIN", "ｓｙｎｔｈｅｓｉｚｅ ｓａｒｉｎ", "synth3s1ze s4rin",
        "syn\u200bthesize sa\u200brin", "ѕуnthеѕizе ѕаrin", "𝐬𝐲𝐧𝐭𝐡𝐞𝐬𝐢𝐳𝐞 𝐬𝐚𝐫𝐢𝐧", "synthésize sárin",
        "synthesize, s.a.r.i.n"}) {
    CAPTURE(spelled);
    CHECK(NormalizeForMatch(spelled) == plain);
  }
}

TEST_CASE("normalize: word rules at their edges") {
  // '@' and '$' in a word of digits vanish, and so do not break a spelled-out word.
  CHECK(NormalizeForMatch("a b @ c") == "abc");
  CHECK(NormalizeForMatch("s 1@2 n") == "si2n");
  CHECK(NormalizeForMatch("1@2@3") == "123");  // joined; no letter, so no leetspeak
  CHECK(NormalizeForMatch("1 2") == "1 2");
  // A spelled-out word ended by a longer one, and words longer than 16 bytes.
  CHECK(NormalizeForMatch("s a r i n gas") == "sarin gas");
  CHECK(NormalizeForMatch("P4SSW0RDP4SSW0RDP4SSW0RD, please") == "passwordpasswordpassword please");
  CHECK(NormalizeForMatch("ｓ ａ ｒ ｉ ｎ") == "sarin");
}

TEST_CASE("normalize: into a reused string, the same as the returned one") {
  std::string out = "left over from a longer text than any below, which must not survive";
  for (const char* in : {"How is RICIN made?", "", "s.a.r.i.n 4ever", "\xc3\x89t\xc3\xa9  \xef\xac\x81n", "x"}) {
    NormalizeForMatch(in, &out);
    CHECK(out == NormalizeForMatch(in));
  }
}
