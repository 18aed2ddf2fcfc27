// SHA-256 as lower-case hex: key ids and prompt digests.
#pragma once

#include <string>
#include <string_view>

namespace tosgate::engine {
std::string Sha256Hex(std::string_view data);
}  // namespace tosgate::engine
