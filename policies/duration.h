// Durations of the policy language: a positive integer and a unit, e.g.
// "500ms", "30s", "1m", "1h", "1d", "30d".
#pragma once

#include <cstdint>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::policies {

// Returns the duration in nanoseconds. Rejects zero, signs, fractions,
// spaces, units other than ms, s, m, h, d, and anything past int64 range.
Result<int64_t> ParseDuration(std::string_view text);

}  // namespace tosgate::policies
