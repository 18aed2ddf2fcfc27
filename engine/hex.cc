#include "engine/hex.h"

namespace tosgate::engine {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
}  // namespace

// Written through a pointer into the grown string: a push_back per digit
// (a capacity check each) cost ~1.9k instructions for a SHA-256's 64 digits
// on every key id and decision.
void AppendHex(std::string* out, std::string_view bytes) {
  const size_t at = out->size();
  out->resize(at + bytes.size() * 2);
  char* p = out->data() + at;
  for (unsigned char c : bytes) {
    *p++ = kDigits[c >> 4];
    *p++ = kDigits[c & 15];
  }
}

std::string ToHex(std::string_view bytes) {
  std::string out;
  AppendHex(&out, bytes);
  return out;
}

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FromHex(std::string_view hex) {
  if (hex.size() % 2) return "";
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigitValue(hex[i]), lo = HexDigitValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace tosgate::engine
