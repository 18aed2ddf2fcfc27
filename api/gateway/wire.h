// The data plane's answers as bytes, written straight into a buffer the
// connection keeps: the status line and the fixed headers come from blocks
// formatted once, the decision's headers are appended as they are, and
// nothing is allocated once the buffer has grown to a response's size.
//
// The bytes are exactly those Boost.Beast's serializer writes for the
// http::response the gateway used to build (Server, Content-Type, the
// headers in order, Connection when keep-alive needs saying, then
// Content-Length; values trimmed of spaces and tabs), which
// tests/api/wire_test.cc checks against Beast itself. A response whose
// headers Beast would rearrange (a repeated name, one of the headers it
// manages itself, a status outside 100..999, a huge field) is not written
// here: AppendResponse returns false and the caller uses Beast.
//
// Thread-safe: pure functions over the caller's buffer.
#pragma once

#include <string>

#include "api/request/responses.h"

namespace tosgate::api::gateway_internal {

// Appends the whole response (without the body when `head`, whose
// Content-Length still tells the body's size) to `out`. `version` is 10 or
// 11 (anything else is written as 11, as the gateway did). Returns false,
// leaving `out` as it was, when Beast must write it.
bool AppendResponse(const HttpResponse& r, unsigned version, bool keep_alive, bool head,
                    std::string* out);

}  // namespace tosgate::api::gateway_internal
