#include "policies/duration.h"

#include <limits>
#include <string>

namespace tosgate::policies {
namespace {

struct Unit {
  std::string_view name;
  int64_t ns;
};
constexpr int64_t kSecond = 1'000'000'000;
constexpr Unit kUnits[] = {
    {"ms", 1'000'000}, {"s", kSecond}, {"m", 60 * kSecond}, {"h", 3600 * kSecond},
    {"d", 86400 * kSecond},
};

Status Bad(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("bad duration \"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0)
    return Bad(text, "expected a whole number and a unit (ms, s, m, h or d), e.g. 30s");
  const std::string_view unit_text = text.substr(digits);
  const Unit* unit = nullptr;
  for (const Unit& u : kUnits)
    if (u.name == unit_text) unit = &u;
  if (!unit) {
    if (unit_text.empty()) return Bad(text, "missing unit (ms, s, m, h or d)");
    return Bad(text, "unknown unit \"" + std::string(unit_text) + "\" (use ms, s, m, h or d)");
  }
  // Accumulate in units of `unit`, checking against the largest count that
  // still fits in int64 nanoseconds, so no intermediate step overflows.
  const int64_t max_count = std::numeric_limits<int64_t>::max() / unit->ns;
  int64_t count = 0;
  for (size_t i = 0; i < digits; ++i) {
    const int d = text[i] - '0';
    if (count > (max_count - d) / 10) return Bad(text, "too large");
    count = count * 10 + d;
  }
  if (count == 0) return Bad(text, "must be greater than zero");
  return count * unit->ns;
}

}  // namespace tosgate::policies
