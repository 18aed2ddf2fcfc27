// Keyed hashes of identifiers shared with partners: HMAC-SHA-256 (RFC 2104)
// under a key the sharing partners agree on, so that a bundle carries no raw
// payment or device fingerprint, and a party without the key cannot test a
// guessed fingerprint against it (docs/indicators.md).
//
// Safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace tosgate::engine {

// What a keyed hash is of; each kind hashes under its own label so that one
// value cannot be read as another ("payment" vs "device").
enum class KeyedKind : uint8_t { kPayment, kDevice };
std::string_view KeyedKindName(KeyedKind k);  // "payment", "device"

// HMAC-SHA-256(key, data) as lower-case hex (64 characters).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// The shared fingerprint of an identifier: HMAC-SHA-256(key, "tosgate:" +
// kind + ":" + value), lower-case hex.
std::string KeyedFingerprint(std::string_view key, KeyedKind kind, std::string_view value);

}  // namespace tosgate::engine
