#include "engine/json_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace tosgate::engine::json {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t Saturate(double d) {
  if (d >= 9.2e18) return kMax;
  if (d <= -9.2e18) return -kMax;
  return static_cast<int64_t>(d);
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (Lower(s[i]) != lower[i]) return false;
  return true;
}

}  // namespace

bool NumericString(std::string_view s, double* out) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.empty() || s.size() > 64) return false;
  char buf[64];
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_' && i > 0 && i + 1 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 1])))
      continue;
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.' &&
        c != 'e' && c != 'E')
      return false;  // no "inf", "nan" or hex
    buf[n++] = c;
  }
  const char* begin = buf;
  if (n > 0 && buf[0] == '+') ++begin;  // from_chars takes no '+'
  double d = 0;
  auto [end, ec] = std::from_chars(begin, buf + n, d);
  if (ec != std::errc() || end != buf + n || !std::isfinite(d)) return false;
  *out = d;
  return true;
}

Read ReadInt(element e, int64_t* out) {
  double d = 0;
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return Read::kAbsent;
    case element_type::INT64:
      *out = e.get_int64().value_unsafe();
      return Read::kValue;
    case element_type::UINT64: {
      const uint64_t v = e.get_uint64().value_unsafe();
      *out = v > uint64_t(kMax) ? kMax : static_cast<int64_t>(v);
      return Read::kValue;
    }
    case element_type::BOOL:
      *out = e.get_bool().value_unsafe() ? 1 : 0;
      return Read::kValue;
    case element_type::DOUBLE:
      d = e.get_double().value_unsafe();
      break;
    case element_type::STRING:
      if (!NumericString(e.get_string().value_unsafe(), &d)) return Read::kJunk;
      break;
    default:
      return Read::kJunk;
  }
  if (!std::isfinite(d)) return Read::kJunk;
  *out = Saturate(std::ceil(d));
  return Read::kValue;
}

bool ReadBool(element e) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return false;
    case element_type::BOOL:
      return e.get_bool().value_unsafe();
    case element_type::INT64:
      return e.get_int64().value_unsafe() != 0;
    case element_type::UINT64:
      return e.get_uint64().value_unsafe() != 0;
    case element_type::DOUBLE:
      return e.get_double().value_unsafe() != 0;
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      for (std::string_view f : {"false", "0", "f", "n", "no", "off"})
        if (EqualsLower(s, f)) return false;
      return true;
    }
    default:
      return true;
  }
}

array Arr(element e) {
  array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) return array();
  return a;
}
object Obj(element e) {
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return object();
  return o;
}

std::string_view Str(element e) {
  std::string_view s;
  return e.get_string().get(s) == simdjson::SUCCESS ? s : std::string_view();
}

bool Get(object o, std::string_view key, element* out) {
  return o[key].get(*out) == simdjson::SUCCESS;
}
element_type TypeOf(object o, std::string_view key) {
  element e;
  return Get(o, key, &e) ? e.type() : element_type::NULL_VALUE;
}
std::string_view StrOf(object o, std::string_view key) {
  element e;
  return Get(o, key, &e) ? Str(e) : std::string_view();
}

namespace {

// True (and the key in *dup) when [begin, end) holds two equal keys.
bool RepeatedKey(const std::string_view* begin, const std::string_view* end, std::string* dup) {
  const size_t n = static_cast<size_t>(end - begin);
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i)
      for (size_t j = 0; j < i; ++j)
        if (begin[i] == begin[j]) {
          *dup = std::string(begin[i]);
          return true;
        }
    return false;
  }
  std::vector<std::string_view> sorted(begin, end);
  std::sort(sorted.begin(), sorted.end());
  auto it = std::adjacent_find(sorted.begin(), sorted.end());
  if (it == sorted.end()) return false;
  *dup = std::string(*it);
  return true;
}

}  // namespace

// One pass over simdjson's tape (its documented format, tape.md): a word
// per value, its type in the top byte; numbers take a second word; a string's
// payload is the offset of its 32-bit length and bytes in the string buffer.
// Walking the tape is several times cheaper than walking the DOM, and this
// check runs on every body.
bool FindDuplicateKey(const simdjson::dom::document& doc, std::string* dup) {
  constexpr uint64_t kPayload = (uint64_t(1) << 56) - 1;
  const uint64_t* tape = doc.tape.get();
  const uint8_t* strings = doc.string_buf.get();
  const size_t end = static_cast<size_t>(tape[0] & kPayload);  // the closing root word
  struct Frame {
    bool object;
    bool want_key;
    size_t keys_begin;
  };
  // The thread's vectors, looked up once: in a shared library (the C API)
  // each use of a thread_local is a call to __tls_get_addr.
  thread_local std::vector<Frame> t_frames;
  thread_local std::vector<std::string_view> t_keys;
  std::vector<Frame>& frames = t_frames;
  std::vector<std::string_view>& keys = t_keys;
  frames.clear();
  keys.clear();
  auto value_done = [&] {
    if (!frames.empty() && frames.back().object) frames.back().want_key = true;
  };
  for (size_t i = 1; i < end; ++i) {
    const uint64_t word = tape[i];
    switch (static_cast<char>(word >> 56)) {
      case '{':
        frames.push_back({true, true, keys.size()});
        break;
      case '[':
        frames.push_back({false, false, keys.size()});
        break;
      case '}': {
        const size_t first = frames.back().keys_begin;
        if (RepeatedKey(keys.data() + first, keys.data() + keys.size(), dup)) return true;
        keys.resize(first);
        frames.pop_back();
        value_done();
        break;
      }
      case ']':
        frames.pop_back();
        value_done();
        break;
      case '"':
        if (!frames.empty() && frames.back().object && frames.back().want_key) {
          const uint8_t* at = strings + (word & kPayload);
          uint32_t length;
          std::memcpy(&length, at, sizeof length);
          keys.emplace_back(reinterpret_cast<const char*>(at + sizeof length), length);
          frames.back().want_key = false;
        } else {
          value_done();
        }
        break;
      case 'l':
      case 'u':
      case 'd':
        ++i;  // the number's own word
        value_done();
        break;
      default:
        value_done();
        break;  // true, false, null
    }
  }
  return false;
}

std::string UnescapeJson(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex4 = [&](size_t i, uint32_t* cp) {
    if (i + 4 > s.size()) return false;
    uint32_t v = 0;
    for (size_t k = i; k < i + 4; ++k) {
      const char c = s[k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return false;
    }
    *cp = v;
    return true;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[i + 1];
    static constexpr std::string_view kFrom = "\"\\/bfnrt", kTo = "\"\\/\b\f\n\r\t";
    if (size_t k = kFrom.find(c); k != std::string_view::npos) {
      out.push_back(kTo[k]);
      ++i;
      continue;
    }
    uint32_t cp = 0;
    if (c != 'u' || !hex4(i + 2, &cp)) {
      out.push_back(s[i]);
      continue;
    }
    size_t used = 6;
    uint32_t lo = 0;
    if (cp >= 0xD800 && cp < 0xDC00 && i + 12 <= s.size() && s[i + 6] == '\\' && s[i + 7] == 'u' &&
        hex4(i + 8, &lo) && lo >= 0xDC00 && lo < 0xE000) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      used = 12;
    }
    if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // a lone surrogate
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    i += used - 1;
  }
  return out;
}

}  // namespace tosgate::engine::json
