// Minimal JSON string writing for the engine (which has no JSON library).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tosgate::engine {

// The length of the valid UTF-8 sequence at s[i] (i < s.size(), s[i] >=
// 0x80), or 0 when it is not one: overlong forms, surrogates and code
// points past U+10FFFF are not.
size_t Utf8Length(std::string_view s, size_t i);

// Appends `s` as a quoted JSON string, escaping what JSON requires. Bytes
// that are not UTF-8 (a client's path or header quoted in a log line or a
// problem detail, an audit frame) become U+FFFD, as nlohmann's
// error_handler_t::replace does, so the output always parses.
void AppendJsonString(std::string* out, std::string_view s);

// ["a","b"]: each as above, no spaces. The audit store's rule_ids column and
// the problem+json "rules" are written with it.
std::string JsonStringArray(const std::vector<std::string>& items);

}  // namespace tosgate::engine
