// Reading values out of a simdjson DOM the way lenient upstreams read them,
// for the body parser: numbers and booleans written as strings, duplicate
// keys, JSON escapes inside a string that holds JSON. Thread-safe.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tosgate::engine::json {

// A decimal number written as a string ("100", " 100 ", "1_000", "1e3",
// "12.0"): surrounding whitespace and underscores between digits are
// dropped. False when it is not a number (no "inf", "nan" or hex).
bool NumericString(std::string_view s, double* out);

// How an integer field reads: absent (null), a value, or junk (what no
// upstream reads as a number: "lots", {}, [1]). A number or a numeric
// string; a fraction counts as the next whole number above it, the most
// any upstream could read from it (nlohmann truncates, others refuse);
// booleans read as 0 / 1, as in Python; saturates at INT64_MAX.
enum class Read : uint8_t { kAbsent, kValue, kJunk };
Read ReadInt(simdjson::dom::element e, int64_t* out);

// How a boolean field reads: false only for false, null, 0 and the strings
// Python-style upstreams read as false ("false", "0", "f", "n", "no",
// "off", any case); anything else (true, "true", "1", {}, "yes please") as
// true, since an upstream that coerces by truthiness takes it so.
bool ReadBool(simdjson::dom::element e);

// By value: iterating `e.get_array().value_unsafe()` would iterate a member
// of a temporary that is gone before the loop starts. Callers check the type
// first; the wrong type gives an empty (default) value.
simdjson::dom::array Arr(simdjson::dom::element e);
simdjson::dom::object Obj(simdjson::dom::element e);
// The string, or "" for any other type.
std::string_view Str(simdjson::dom::element e);
// The member `key` of `o`: false when there is none.
bool Get(simdjson::dom::object o, std::string_view key, simdjson::dom::element* out);
// The type of member `key`, NULL_VALUE when there is none.
simdjson::dom::element_type TypeOf(simdjson::dom::object o, std::string_view key);
std::string_view StrOf(simdjson::dom::object o, std::string_view key);

// The first duplicate key of any object in the tree, or false. Upstreams
// (Python's json, most libraries) keep the last of two equal keys and
// simdjson's lookup finds the first, so a body with one could be checked on
// one value and answered on another. Keys compare unescaped ("a" and
// "\u0061" are the same key). Objects of up to 16 keys compare every pair;
// larger ones are sorted, so the check is O(n log n) in the body size.
// `doc` is the document the parser last parsed.
bool FindDuplicateKey(const simdjson::dom::document& doc, std::string* dup);

// JSON string escapes decoded wherever they appear in `s` (a string that
// holds JSON text, such as tool-call arguments); malformed ones are kept as
// written, lone surrogates become U+FFFD.
std::string UnescapeJson(std::string_view s);

}  // namespace tosgate::engine::json
