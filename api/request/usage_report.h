// POST /v1/usage: a proxy plugin (or the upstream) reports what a request
// used, so that its token reservation is reconciled and its concurrency
// leases are released:
//
//   {"decision_id": "019b...", "input_tokens": 812, "output_tokens": 430}
//
// Token counts are optional (a report without them only completes the
// request). Cost budgets also read cached_input_tokens, cache_write_tokens
// and reasoning_tokens (parts of input and output, see engine::Usage); or
// the report carries the upstream's own usage object as it came, `usage`
// (OpenAI, Anthropic) or `usageMetadata` (Gemini), which is normalized as
// the inline proxy does (usage_scanner.h); counts given by name win. Reports are bounded: whoever can send one can move budgets, so
// nothing in one may be large enough to overflow a sum or a column.
//
// Pure functions, no I/O. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "tosgate/status.h"

namespace tosgate::api {

// Larger reports are refused (413) before they are parsed.
inline constexpr size_t kMaxUsageReportBytes = 4096;
// Per count: a billion tokens is far past any one request, and two of them
// add up without overflowing anything.
inline constexpr int64_t kMaxReportedTokens = 1'000'000'000;
// Decision ids are 32 or so characters; anything longer is not one.
inline constexpr size_t kMaxDecisionIdChars = 64;

// InvalidArgument naming the problem when `body` is not such an object, or
// a count is negative, fractional or above kMaxReportedTokens, or the
// decision id is longer than kMaxDecisionIdChars.
Status ParseUsageReport(std::string_view body, std::string* decision_id, engine::Usage* usage);

// How the server answers a report the engine did not accept.
struct UsageRefusal {
  int status = 503;
  std::string_view type;  // problem type, docs/errors.md
};
// NotFound -> 404 unknown-decision (nothing held: already reported, expired,
// never reserved); InvalidArgument -> 400 bad-usage-report; a store that
// failed (Unavailable, IoError, Internal, ResourceExhausted) -> 503
// usage-failed; any other refusal (FailedPrecondition: the gateway relayed
// the request itself and measured its usage; a report from outside cannot
// reconcile it) -> 409 usage-observed-by-gateway.
UsageRefusal MapUsageStatus(const Status& s);

// True for 64 hex digits (either case).
bool IsSha256Hex(std::string_view s);

// Whether `presented` hashes to `sha256_hex` (lower-case hex). The digests
// are compared in constant time, so the time taken does not tell a caller
// how much of a guess was right.
bool ControlTokenMatches(std::string_view presented, std::string_view sha256_hex);

}  // namespace tosgate::api
