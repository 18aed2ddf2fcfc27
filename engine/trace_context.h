// W3C Trace Context (https://www.w3.org/TR/trace-context/): the
// `traceparent` and `tracestate` headers a caller's tracing sends, read so
// that a decision can be found from a trace id (the audit record's
// traceparent, `tosgate audit query --trace-id`, the access log's trace_id).
// The gateway never starts traces of its own: it records the caller's.
//
// Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "tosgate/request.h"

namespace tosgate::engine {

inline constexpr size_t kTraceStateMax = 256;  // the audit bound (storage/audit/fields.h); longer is dropped

// Whether `v` is a traceparent this gateway records: version 00 exactly
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lower case, ids
// not all zeros), or a later version (not ff) that starts the same way, as
// the spec asks a version-00 reader to accept.
bool ValidTraceparent(std::string_view v);

// The trace id (32 hex digits) of a valid traceparent; empty otherwise.
std::string_view TraceIdOf(std::string_view traceparent);

// The request's traceparent header when valid, else empty; and its
// tracestate when the traceparent is valid and the state is at most
// kTraceStateMax bytes of printable ASCII (several headers joined by ",").
struct TraceContext {
  std::string traceparent;
  std::string tracestate;
};
TraceContext TraceContextOf(const Request& request);

}  // namespace tosgate::engine
