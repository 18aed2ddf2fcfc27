// SHA-256: key ids and prompt digests (as hex), and the audit hash chain
// (raw, storage/audit/chain.h).
//
// Through OpenSSL's EVP with the algorithm fetched once and one context per
// thread, reused: OpenSSL 3's one-shot SHA256() fetches the algorithm from
// its provider on every call, which cost as much as hashing a 374-byte
// audit record itself (docs/benchmarks.md, "Where a record's cost goes").
// OpenSSL picks the SHA-NI instructions when the CPU has them.
//
// Safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tosgate::engine {

inline constexpr size_t kSha256Size = 32;

// The raw digest of `data` into out[0..31].
void Sha256(std::string_view data, unsigned char* out);

// The digest as lower-case hex.
std::string Sha256Hex(std::string_view data);

}  // namespace tosgate::engine
