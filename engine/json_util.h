// Minimal JSON string writing for the engine (which has no JSON library).
#pragma once

#include <string>
#include <string_view>

namespace tosgate::engine {

// Appends `s` as a quoted JSON string, escaping what JSON requires.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace tosgate::engine
