// NormalizeForMatch: the one spelling prompts and prohibited-use patterns are
// compared in, so that adversarial spellings of a phrase meet its plain one.
//
// In one pass over UTF-8 (invalid bytes become spaces):
//  - compatibility forms folded: full-width ASCII, ligatures (ﬁ → fi),
//    mathematical alphanumerics (𝐬𝐚𝐫𝐢𝐧 → sarin), circled and parenthesized
//    letters, superscript and subscript digits;
//  - Latin letters with diacritics to their base letter (é → e, ß → ss),
//    combining marks dropped;
//  - Cyrillic and Greek letters that look Latin mapped to it (а → a, ο → o);
//  - case folded (Latin, Greek, Cyrillic);
//  - zero-width and format characters removed (U+200B-200F, U+2060-2064,
//    U+FEFF, soft hyphen, bidi controls, variation selectors);
//  - every other character that is not a letter or digit is a separator,
//    and runs of separators become one space, none at either end.
// Then, word by word: leetspeak mapped in words that have a letter
// (0→o 1→i 3→e 4→a 5→s 7→t 8→b @→a $→s), so "s4r1n" → "sarin" while
// "1998" stays; and runs of three or more one-letter words joined, so
// "s a r i n" and "s.a.r.i.n" → "sarin".
//
// docs/normalization.md lists every mapping. Linear in the input; pure.
#pragma once

#include <string>
#include <string_view>

namespace tosgate::engine {

std::string NormalizeForMatch(std::string_view utf8);
// The same into *out, reusing its capacity (no allocation once it has held
// a text as long). `utf8` must not point into *out.
void NormalizeForMatch(std::string_view utf8, std::string* out);

}  // namespace tosgate::engine
