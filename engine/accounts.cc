#include "engine/accounts.h"
#include "engine/sha256.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace tosgate::engine {

namespace {
// Heterogeneous lookup: a request's key id or account id is looked up as it
// is, without a std::string made of it.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using AccountPtr = std::shared_ptr<const Account>;
}  // namespace

// Hash maps, not ordered ones: a lookup is one hash of the key id and one
// compare, not ~14 compares of 64 hex digits (a check resolves its account
// on every request). A key leads straight to its account's slot in by_id:
// nodes of an unordered_map keep their address, an update replaces the
// pointer in that slot, a key the update no longer lists is erased, and
// Replace clears both maps.
struct MemoryAccountDirectory::Impl {
  mutable std::shared_mutex mu;
  std::unordered_map<std::string, AccountPtr, StringHash, std::equal_to<>> by_id;
  std::unordered_map<std::string, const AccountPtr*, StringHash, std::equal_to<>> by_key;

  void Insert(Account a) {
    AccountPtr& slot = by_id[a.id];
    // A key the new version no longer lists is revoked: it stops leading
    // here (unless another account has been given it since).
    if (slot) {
      for (const std::string& k : slot->key_ids) {
        if (std::find(a.key_ids.begin(), a.key_ids.end(), k) != a.key_ids.end()) continue;
        auto it = by_key.find(k);
        if (it != by_key.end() && it->second == &slot) by_key.erase(it);
      }
    }
    for (const std::string& k : a.key_ids) by_key[k] = &slot;
    slot = std::make_shared<const Account>(std::move(a));
  }
};

MemoryAccountDirectory::MemoryAccountDirectory() : impl_(std::make_unique<Impl>()) {}
MemoryAccountDirectory::~MemoryAccountDirectory() = default;

void MemoryAccountDirectory::Replace(std::vector<Account> accounts) {
  std::unique_lock lock(impl_->mu);
  impl_->by_key.clear();
  impl_->by_id.clear();
  for (Account& a : accounts) impl_->Insert(std::move(a));
}

void MemoryAccountDirectory::Upsert(Account account) {
  std::unique_lock lock(impl_->mu);
  impl_->Insert(std::move(account));
}

std::shared_ptr<const Account> MemoryAccountDirectory::FindByKey(std::string_view key_id) const {
  std::shared_lock lock(impl_->mu);
  auto k = impl_->by_key.find(key_id);
  if (k == impl_->by_key.end()) return nullptr;
  return *k->second;
}

std::shared_ptr<const Account> MemoryAccountDirectory::FindById(std::string_view account_id) const {
  std::shared_lock lock(impl_->mu);
  auto a = impl_->by_id.find(account_id);
  if (a == impl_->by_id.end()) return nullptr;
  return a->second;
}

size_t MemoryAccountDirectory::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->by_id.size();
}

namespace internal {

// SipHash-2-4 (Aumasson and Bernstein): a keyed pseudo-random function of
// 64 bits, ~20 rounds of adds, rotates and xors for a key-sized message.
uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view m) {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL,
           v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
  const auto rotl = [](uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  const auto round = [&] {
    v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
    v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
  };
  const auto byte = [&](size_t i) { return uint64_t{static_cast<unsigned char>(m[i])}; };
  const size_t n = m.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, m.data() + i, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);  // read little-endian
    v3 ^= w;
    round(), round();
    v0 ^= w;
  }
  uint64_t last = uint64_t{n & 0xff} << 56;
  for (size_t k = 0; i + k < n; ++k) last |= byte(i + k) << (8 * k);
  v3 ^= last;
  round(), round();
  v0 ^= last;
  v2 ^= 0xff;
  round(), round(), round(), round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace internal

namespace {

// Two SipHash keys drawn once per process (OpenSSL's CSPRNG; getrandom if
// it fails): a 128-bit tag of a secret that nobody without them can
// predict or collide.
const std::array<uint64_t, 4>& TagKeys() {
  static const std::array<uint64_t, 4> keys = [] {
    std::array<uint64_t, 4> k{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(k.data()), sizeof k) != 1) {
      std::random_device rd;
      for (uint64_t& x : k) x = uint64_t{rd()} << 32 | rd();
    }
    return k;
  }();
  return keys;
}

// The thread's last key ids by the tag of their secret, direct-mapped. A
// gateway computes the key id of every request's credential, and SHA-256
// of a short key is ~4k instructions on a CPU without SHA extensions; the
// tag is two SipHashes (a few hundred). What is kept is the tag and the key
// id, never the secret: the key id is what the account registry and the
// audit store already hold, and the tag (under keys that live in the same
// process) lets a reader of the memory test a guessed secret no better
// than that key id already does. A wrong hit needs two secrets' 128-bit
// tags under unknown random keys to be equal.
struct KeyIdCache {
  struct Entry {
    uint64_t a = 0, b = 0;
    bool filled = false;
    char id[64];
  };
  std::array<Entry, 256> entries;
};
thread_local KeyIdCache t_key_ids;

}  // namespace

std::string KeyId(std::string_view secret) {
  const std::array<uint64_t, 4>& k = TagKeys();
  const uint64_t a = internal::SipHash24(k[0], k[1], secret);
  const uint64_t b = internal::SipHash24(k[2], k[3], secret);
  KeyIdCache::Entry& e = t_key_ids.entries[a % t_key_ids.entries.size()];
  if (e.filled && e.a == a && e.b == b) return std::string(e.id, sizeof e.id);
  std::string id = Sha256Hex(secret);
  if (id.size() == sizeof e.id) {
    e.a = a, e.b = b, e.filled = true;
    std::memcpy(e.id, id.data(), sizeof e.id);
  }
  return id;
}

}  // namespace tosgate::engine
