// KeyId: the SHA-256 of a secret, served from the thread's cache of recent
// ones by a SipHash tag of the secret; never anything but the SHA-256.
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

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

namespace tosgate::engine {
namespace {

Account Named(std::string id, std::vector<std::string> keys, std::string tier = "pro") {
  Account a;
  a.id = std::move(id);
  a.tier = std::move(tier);
  a.key_ids = std::move(keys);
  return a;
}

// A key leads straight to its account's slot: it finds the current version
// of the account it was last given to, and nothing once that account drops it.
TEST_CASE("account directory: a key finds the current version of the account it was last given to") {
  MemoryAccountDirectory dir;
  dir.Replace({Named("a", {"k1", "k2"}), Named("b", {"k3"})});
  CHECK(dir.size() == 2);
  REQUIRE(dir.FindByKey("k1"));
  CHECK(dir.FindByKey("k1")->id == "a");
  CHECK(dir.FindByKey("k3")->id == "b");
  CHECK(dir.FindById("b")->key_ids == std::vector<std::string>{"k3"});
  CHECK_FALSE(dir.FindByKey("k4"));
  CHECK_FALSE(dir.FindById("c"));
  CHECK_FALSE(dir.FindByKey(""));

  // An update that drops k2 from the account revokes it: k2 no longer
  // finds the account (the ordered maps kept it leading to the new version).
  dir.Upsert(Named("a", {"k1"}, "enterprise"));
  CHECK(dir.size() == 2);
  CHECK_FALSE(dir.FindByKey("k2"));
  CHECK(dir.FindByKey("k1")->tier == "enterprise");
  // Given back, it finds the account again.
  dir.Upsert(Named("a", {"k1", "k2"}, "enterprise"));
  REQUIRE(dir.FindByKey("k2"));
  CHECK(dir.FindByKey("k2")->id == "a");
  // A key given to another account moves to it; the account it left
  // dropping it afterwards does not take it from its new owner.
  dir.Upsert(Named("b", {"k3", "k1"}));
  CHECK(dir.FindByKey("k1")->id == "b");
  dir.Upsert(Named("a", {"k2"}, "enterprise"));
  REQUIRE(dir.FindByKey("k1"));
  CHECK(dir.FindByKey("k1")->id == "b");
  CHECK(dir.FindByKey("k2")->id == "a");
  // A new account, then many more (the maps rehash): every key still finds its own.
  dir.Upsert(Named("c", {"k5"}));
  std::vector<Account> many;
  for (int i = 0; i < 5000; ++i)
    many.push_back(Named("acct_" + std::to_string(i), {"key_" + std::to_string(i)}));
  for (Account& a : many) dir.Upsert(a);
  CHECK(dir.size() == 5003);
  for (int i = 0; i < 5000; i += 7)
    CHECK(dir.FindByKey("key_" + std::to_string(i))->id == "acct_" + std::to_string(i));
  CHECK(dir.FindByKey("k5")->id == "c");
  CHECK(dir.FindByKey("k2")->id == "a");
  // Replace forgets everything that came before.
  dir.Replace({Named("d", {"k1"})});
  CHECK(dir.size() == 1);
  CHECK(dir.FindByKey("k1")->id == "d");
  CHECK_FALSE(dir.FindByKey("k2"));
  CHECK_FALSE(dir.FindByKey("key_7"));
  CHECK_FALSE(dir.FindById("a"));
}

}  // namespace
}  // namespace tosgate::engine
