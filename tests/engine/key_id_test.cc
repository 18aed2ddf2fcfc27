// KeyId: the SHA-256 of a secret, served from the thread's cache of recent
// ones by a SipHash tag of the secret; never anything but the SHA-256.
#include <doctest/doctest.h>

#include <string>
#include <thread>

#include "engine/accounts.h"
#include "engine/sha256.h"

namespace tosgate::engine {
namespace internal {
uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view m);  // engine/accounts.cc, for tests
}  // namespace internal

TEST_CASE("key id: SipHash-2-4 gives the paper's test vector") {
  // Key 00 01 .. 0f, message 00 01 .. 0e (SipHash paper, appendix A).
  std::string m;
  for (int i = 0; i < 15; ++i) m += static_cast<char>(i);
  CHECK(internal::SipHash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, m) == 0xa129ca6149be45e5ULL);
}

TEST_CASE("key id: the SHA-256 of the secret, first time and cached, for secrets sharing cache slots") {
  // 2,000 secrets through a 256-entry cache: slots are shared and refilled,
  // and every answer, hit or miss, is the secret's own SHA-256.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2000; ++i) {
      const std::string secret = "sk-test-" + std::to_string(i % (round == 1 ? 40 : 2000));
      REQUIRE(KeyId(secret) == Sha256Hex(secret));
    }
  }
  CHECK(KeyId("") == Sha256Hex(""));
  CHECK(KeyId(std::string(1000, 'k')) == Sha256Hex(std::string(1000, 'k')));
  // Another thread has its own cache and the same answers.
  std::string other;
  std::thread t([&] { other = KeyId("sk-test-7"); });
  t.join();
  CHECK(other == Sha256Hex("sk-test-7"));
}

}  // namespace tosgate::engine
