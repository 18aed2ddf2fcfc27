// Lower-case hex of raw bytes and back: digests, ids, audit hashes.
// The one hex codec of the tree (engine/ so that every layer may use it).
#pragma once

#include <string>
#include <string_view>

namespace tosgate::engine {

// Two lower-case digits a byte.
std::string ToHex(std::string_view bytes);
void AppendHex(std::string* out, std::string_view bytes);
// Upper or lower case; empty on an odd length or a non-hex digit.
std::string FromHex(std::string_view hex);
// The value of one hex digit, or -1.
int HexDigitValue(char c);

}  // namespace tosgate::engine
