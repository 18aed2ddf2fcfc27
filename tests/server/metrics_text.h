// Reading one value out of a Prometheus text exposition, for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tosgate::test {

// The value of the sample `series` ("name" or "name{k=\"v\"}"), when the
// text has exactly that line.
inline std::optional<uint64_t> MetricValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, prefix.size(), prefix) == 0)
      return std::stoull(text.substr(at + prefix.size(), end - at - prefix.size()));
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace tosgate::test
