// An account as JSON: one line of the accounts JSON Lines format
// (docs/accounts.md, "What is stored") and the limit_overrides
// object. Shared by the accounts file loader and the accounts registry, so
// both accept and write exactly the same shape.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/request.h"

namespace tosgate::storage {

// Parses one line (a JSON object) into *out. Returns "" when fine, else the
// problem in words. Key secrets in `keys` become key ids and are never
// echoed in a problem; `key_ids` must be 64 lower-case hex digits.
std::string ParseAccountJson(std::string_view line, Account* out);

// Parses a limit_overrides object, {"rule": {"requests": 100, "per": "1m",
// "burst": 5}, ...}, given as JSON text. Returns "" or the problem.
std::string ParseLimitOverrides(std::string_view json_text, std::vector<LimitOverride>* out);

// The overrides as a JSON object text in the shape ParseLimitOverrides reads.
std::string LimitOverridesJson(const std::vector<LimitOverride>& overrides);

// The account as one JSON line of the accounts format, without a newline;
// keys appear as `key_ids` (never secrets), `key_created_ms` is not written.
std::string AccountJsonLine(const Account& account);

// True for 64 lower-case hex digits: the shape of engine::KeyId.
bool IsKeyId(std::string_view s);

// "500ms", "30s", "1m", "1h", "1d" -> nanoseconds; 0 when malformed.
int64_t ParseDurationNs(std::string_view text);
// The largest whole unit: 60'000'000'000 -> "1m", 90'000'000'000 -> "90s".
std::string FormatDurationNs(int64_t ns);

}  // namespace tosgate::storage
