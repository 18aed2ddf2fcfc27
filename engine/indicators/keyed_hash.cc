#include "engine/indicators/keyed_hash.h"

#include <array>

#include "engine/hex.h"
#include "engine/sha256.h"

namespace tosgate::engine {

std::string_view KeyedKindName(KeyedKind k) {
  return k == KeyedKind::kPayment ? "payment" : "device";
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  constexpr size_t kBlock = 64;
  std::array<unsigned char, kBlock> k0{};
  if (key.size() > kBlock) {
    Sha256(key, k0.data());
  } else {
    for (size_t i = 0; i < key.size(); ++i) k0[i] = static_cast<unsigned char>(key[i]);
  }
  std::string inner(kBlock, '\0'), outer(kBlock, '\0');
  for (size_t i = 0; i < kBlock; ++i) {
    inner[i] = static_cast<char>(k0[i] ^ 0x36);
    outer[i] = static_cast<char>(k0[i] ^ 0x5c);
  }
  inner.append(data);
  unsigned char digest[kSha256Size];
  Sha256(inner, digest);
  outer.append(reinterpret_cast<const char*>(digest), kSha256Size);
  Sha256(outer, digest);
  return ToHex(std::string_view(reinterpret_cast<const char*>(digest), kSha256Size));
}

std::string KeyedFingerprint(std::string_view key, KeyedKind kind, std::string_view value) {
  std::string data = "tosgate:";
  data += KeyedKindName(kind);
  data += ':';
  data += value;
  return HmacSha256Hex(key, data);
}

}  // namespace tosgate::engine
