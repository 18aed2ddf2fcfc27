#include "engine/trace_context.h"

namespace tosgate::engine {
namespace {

bool LowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool AllZeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

bool ValidTraceparent(std::string_view v) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                         flags = v.substr(53, 2);
  if (!LowerHex(version) || version == "ff" || !LowerHex(trace) || !LowerHex(parent) || !LowerHex(flags))
    return false;
  if (AllZeros(trace) || AllZeros(parent)) return false;
  if (version == "00") return v.size() == 55;
  return v.size() == 55 || v[55] == '-';  // a later version may append fields
}

std::string_view TraceIdOf(std::string_view traceparent) {
  return ValidTraceparent(traceparent) ? traceparent.substr(3, 32) : std::string_view();
}

TraceContext TraceContextOf(const Request& request) {
  TraceContext out;
  int parents = 0;
  for (const auto& [name, value] : request.headers) {
    if (name == "traceparent") {
      ++parents;
      out.traceparent = value;
    }
  }
  // Two traceparent headers are a conflict the spec says to ignore both for.
  if (parents != 1 || !ValidTraceparent(out.traceparent)) return {};
  for (const auto& [name, value] : request.headers) {
    if (name != "tracestate") continue;
    if (!out.tracestate.empty()) out.tracestate += ',';
    out.tracestate += value;
  }
  bool printable = true;
  for (char c : out.tracestate) printable &= c >= 0x20 && c < 0x7f;
  if (!printable || out.tracestate.size() > kTraceStateMax) out.tracestate.clear();
  return out;
}

}  // namespace tosgate::engine
