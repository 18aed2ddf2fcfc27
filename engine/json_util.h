// Minimal JSON string writing for the engine (which has no JSON library).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tosgate::engine {

// Appends `s` as a quoted JSON string, escaping what JSON requires.
void AppendJsonString(std::string* out, std::string_view s);

// ["a","b"]: each as above, no spaces. The audit store's rule_ids column and
// the problem+json "rules" are written with it.
std::string JsonStringArray(const std::vector<std::string>& items);

}  // namespace tosgate::engine
