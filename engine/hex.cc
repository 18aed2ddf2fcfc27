#include "engine/hex.h"

namespace tosgate::engine {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
}  // namespace

void AppendHex(std::string* out, std::string_view bytes) {
  out->reserve(out->size() + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out->push_back(kDigits[c >> 4]);
    out->push_back(kDigits[c & 15]);
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
