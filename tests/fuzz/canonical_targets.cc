// A differential fuzz entry for api::CanonicalPath: the canonicalizer against
// a reference model written here from RFC 3986 alone, sharing no code with
// it. Where the two disagree about an accepted path, the gateway would decide
// one path and an upstream that resolves paths by the RFC serve another.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/request/forward_auth.h"
#include "tests/fuzz/fuzz_targets.h"

namespace tosgate::fuzz {
namespace {

// A property failed: stop the way a fuzzer and the corpus test both notice.
[[noreturn]] void Violated(const char* property, std::string_view raw, std::string_view got) {
  std::fprintf(stderr, "canonical_path: %s\n  raw:       \"%.*s\"\n  canonical: \"%.*s\"\n",
               property, static_cast<int>(raw.size()), raw.data(), static_cast<int>(got.size()),
               got.data());
  std::abort();
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int Hex(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

// The naive decoder an upstream's framework runs: every %XX, once.
std::string DecodeAll(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// RFC 3986 section 5.2.4, step by step on an input and an output buffer.
std::string RemoveDotSegments(std::string in) {
  std::string out;
  auto starts = [&](std::string_view p) { return in.compare(0, p.size(), p) == 0; };
  auto drop_last = [&] {
    const size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (starts("../")) {
      in.erase(0, 3);
    } else if (starts("./")) {
      in.erase(0, 2);
    } else if (starts("/./")) {
      in.erase(0, 2);
    } else if (in == "/.") {
      in = "/";
    } else if (starts("/../")) {
      in.erase(0, 3);
      drop_last();
    } else if (in == "/..") {
      in = "/";
      drop_last();
    } else if (in == "." || in == "..") {
      in.clear();
    } else {
      const size_t next = in.find('/', 1);
      out += in.substr(0, next);
      in.erase(0, next == std::string::npos ? in.size() : next);
    }
  }
  return out;
}

// What the gateway promises to equal: decoded, dot segments resolved by the
// RFC, then empty segments (repeated and trailing slashes) dropped.
std::string Reference(std::string_view raw) {
  const std::string resolved = RemoveDotSegments(DecodeAll(raw));
  std::string out;
  size_t pos = 0;
  while (pos < resolved.size()) {
    size_t end = resolved.find('/', pos);
    if (end == std::string::npos) end = resolved.size();
    if (end > pos) out += "/" + resolved.substr(pos, end - pos);
    pos = end + 1;
  }
  return out.empty() ? "/" : out;
}

bool HasSegment(std::string_view path, std::string_view seg) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(pos, end - pos) == seg) return true;
    pos = end + 1;
  }
  return false;
}

bool ContainsNoCase(std::string_view s, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && (s[i + j] | 0x20) == (needle[j] | 0x20)) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace

void CanonicalPathDifferential(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::string canonical, why;
  if (!api::CanonicalPath(raw, &canonical, &why)) {
    if (why.empty()) Violated("refused without saying why", raw, canonical);
    return;
  }
  // What is forwarded has nothing another reader could split or strip.
  if (canonical.empty() || canonical.front() != '/') Violated("not origin-form", raw, canonical);
  for (const char* bad : {"%2f", "%5c", "%25", "%3b", "%00", "\\", ";", "//", "?", "#"})
    if (ContainsNoCase(canonical, bad)) Violated(bad, raw, canonical);
  if (HasSegment(canonical, ".") || HasSegment(canonical, "..") ||
      HasSegment(DecodeAll(canonical), ".") || HasSegment(DecodeAll(canonical), ".."))
    Violated("a dot segment", raw, canonical);
  for (char c : canonical)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      Violated("a byte that is not printable ASCII", raw, canonical);
  if (canonical.size() > 1 && canonical.back() == '/') Violated("a trailing slash", raw, canonical);

  // Idempotent: the canonical path is its own canonical form.
  std::string again;
  if (!api::CanonicalPath(canonical, &again)) Violated("canonical form refused", raw, canonical);
  if (again != canonical) Violated("not idempotent", raw, again);

  // Differential: an upstream that decodes once and resolves by the RFC
  // reaches the same path, and decoding it a second time changes nothing
  // (no double encoding left to exploit).
  const std::string reference = Reference(raw);
  if (DecodeAll(canonical) != reference) Violated("differs from the RFC 3986 reference", raw, canonical);
  if (DecodeAll(DecodeAll(raw)) != DecodeAll(raw)) Violated("decodes twice", raw, canonical);
}

}  // namespace tosgate::fuzz
