// The request target's path: CanonicalPath (what a request is decided and
// forwarded by) and the older, lenient NormalizePath.
#include <string>
#include <string_view>

#include "api/request/forward_auth.h"

namespace tosgate::api {
namespace {

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - ('a' - 'A')) : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar without ';' and without pct-encoded: the bytes a canonical
// path holds raw, and those it decodes when they arrive encoded. Every
// server reads them the same raw or encoded, and none of them separates
// anything inside a path.
bool IsPlainPathChar(char c) {
  if (IsUnreserved(c)) return true;
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case '=': case ':': case '@':
      return true;
    default:
      return false;
  }
}

// Why an encoded byte makes the path ambiguous, or nullptr when it does not.
const char* EncodedProblem(unsigned char d) {
  if (d == '/') return "an encoded '/' (%2F): some servers decode it into a separator";
  if (d == '\\') return "an encoded '\\' (%5C): some servers read it as a separator";
  if (d == '%') return "an encoded '%' (%25): double encoding, decoded twice by some servers";
  if (d == ';') return "an encoded ';' (%3B): matrix parameters, which some servers strip";
  if (d < 0x20 || d == 0x7f) return "an encoded NUL or control character";
  if (d >= 0x80) return "an encoded byte outside ASCII";
  return nullptr;
}

// Why a raw byte makes the path ambiguous, or nullptr when it does not.
const char* RawProblem(unsigned char c) {
  if (c == '\\') return "a '\\', which some servers read as a separator";
  if (c == ';') return "a ';' (matrix parameters, which Tomcat and Spring strip)";
  if (c < 0x20 || c == 0x7f) return "a NUL or control character";
  if (c >= 0x80) return "a byte outside ASCII";
  if (c == '#') return "a '#' (a fragment is never sent)";
  if (c == '?') return "a '?' inside the path";
  if (c != '/' && !IsPlainPathChar(static_cast<char>(c)))
    return "a character that is not allowed in a URI path";
  return nullptr;
}

}  // namespace

bool CanonicalPath(std::string_view raw, std::string* out, std::string* why) {
  out->clear();
  auto refuse = [&](const char* reason) {
    if (why) *why = reason;
    out->clear();
    return false;
  };
  if (raw.empty() || raw.front() != '/') return refuse("the path does not start with '/'");
  out->reserve(raw.size());
  std::string segment;
  size_t pos = 1;
  while (pos <= raw.size()) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    segment.clear();
    bool decoded_any = false;
    for (size_t i = pos; i < end; ++i) {
      const char c = raw[i];
      if (c != '%') {
        if (const char* p = RawProblem(static_cast<unsigned char>(c))) return refuse(p);
        segment += c;
        continue;
      }
      // Hex digits are never '/', so both lie inside this segment.
      const int hi = i + 2 < raw.size() ? HexValue(raw[i + 1]) : -1;
      const int lo = i + 2 < raw.size() ? HexValue(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) return refuse("a '%' not followed by two hex digits");
      const unsigned char d = static_cast<unsigned char>(hi * 16 + lo);
      if (const char* p = EncodedProblem(d)) return refuse(p);
      if (IsPlainPathChar(static_cast<char>(d))) {
        segment += static_cast<char>(d);
        decoded_any = true;
      } else {  // stays encoded: ' ', '"', '#', '<', '>', '?', '[', ']', '^', '`', '{', '|', '}'
        segment += '%';
        segment += Upper(raw[i + 1]);
        segment += Upper(raw[i + 2]);
      }
      i += 2;
    }
    if (segment == "." || segment == "..") {
      if (decoded_any) return refuse("a percent-encoded dot segment (%2E)");
      // '..' lands elsewhere by RFC 3986 than after merging '//' first
      // (nginx), and a server that does not resolve it routes the raw path:
      // no reading is safe. A '.' is dropped by every resolver alike.
      if (segment == "..") return refuse("a '..' segment, which upstreams resolve differently");
      segment.clear();
    }
    if (!segment.empty()) {  // "//" collapses, "." and a trailing '/' go
      *out += '/';
      *out += segment;
    }
    pos = end + 1;
  }
  if (out->empty()) *out = "/";
  return true;
}

std::string NormalizePath(std::string_view path) {
  // Decode what is safe to decode: unreserved characters only, so %2F stays a
  // literal part of a segment rather than becoming a separator.
  std::string decoded;
  decoded.reserve(path.size() + 1);
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%' && i + 2 < path.size()) {
      int hi = HexValue(path[i + 1]), lo = HexValue(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        char d = static_cast<char>(hi * 16 + lo);
        if (IsUnreserved(d)) {
          decoded += d;
        } else {
          decoded += '%';
          decoded += Upper(path[i + 1]);
          decoded += Upper(path[i + 2]);
        }
        i += 2;
        continue;
      }
    }
    decoded += c;
  }

  std::string out;
  out.reserve(decoded.size() + 1);
  size_t pos = 0;
  while (pos <= decoded.size()) {
    size_t end = decoded.find('/', pos);
    if (end == std::string::npos) end = decoded.size();
    std::string_view seg(decoded.data() + pos, end - pos);
    if (seg == "..") {
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
    } else if (!seg.empty() && seg != ".") {
      out += '/';
      out += seg;
    }
    pos = end + 1;
  }
  if (out.empty()) out = "/";
  return out;
}

}  // namespace tosgate::api
