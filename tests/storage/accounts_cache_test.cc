// AccountsCache: what the engine sees of the registry, and that looking
// something up never waits for SQLite.
#include "storage/accounts/cache.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/accounts.h"
#include "engine/field.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;

constexpr int64_t kStartMs = 1'764'000'000'000;

struct Fixture {
  TempDir dir;
  FakeClock clock{kStartMs};
  std::string path = dir.File("accounts.db");
  std::unique_ptr<AccountsRegistry> reg;
  std::unique_ptr<AccountsCache> cache;

  explicit Fixture(std::chrono::milliseconds busy = std::chrono::milliseconds(5000)) {
    auto r = AccountsRegistry::Open({.path = path, .busy_timeout = busy, .clock = &clock});
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    reg = std::move(r).value();
    Account a;
    a.id = "acct_1";
    a.tier = "pro";
    a.key_ids = {engine::KeyId("sk-1")};
    REQUIRE(reg->AddAccount(a).ok());
    auto c = AccountsCache::Create(reg.get());
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    cache = std::move(c).value();
  }
};

// Another process, as far as SQLite can tell: its own connection.
struct OtherConnection {
  sqlite3* db = nullptr;
  explicit OtherConnection(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  }
  ~OtherConnection() { sqlite3_close(db); }
  int Exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
};

TEST_CASE("accounts cache: keys find their account with the key's own age; ids find accounts") {
  Fixture f;
  f.clock.advance_ms(10'000);
  REQUIRE(f.reg->AddKey("acct_1", engine::KeyId("sk-2"), "second").ok());

  auto k1 = f.cache->FindByKey(engine::KeyId("sk-1"));
  auto k2 = f.cache->FindByKey(engine::KeyId("sk-2"));
  REQUIRE(k1);
  REQUIRE(k2);  // the write through the registry refreshed the cache
  CHECK(k1->id == "acct_1");
  CHECK(k1->tier == "pro");
  CHECK(k1->key_created_ms == kStartMs);
  CHECK(k2->key_created_ms == kStartMs + 10'000);
  auto by_id = f.cache->FindById("acct_1");
  REQUIRE(by_id);
  CHECK(by_id->key_ids.size() == 2);
  CHECK(by_id->key_created_ms == 0);
  CHECK_FALSE(f.cache->FindByKey(engine::KeyId("sk-unknown")));
  CHECK_FALSE(f.cache->FindById("nobody"));
  CHECK(f.cache->stats().accounts == 1);
  CHECK(f.cache->stats().keys == 2);
}

TEST_CASE("accounts cache: account.key_age is the age of the key used") {
  Fixture f;
  f.clock.advance_ms(3'600'000);
  REQUIRE(f.reg->AddKey("acct_1", engine::KeyId("sk-new"), "").ok());
  f.clock.advance_ms(60'000);

  const std::optional<engine::FieldRef> field = engine::ResolveField("account.key_age");
  REQUIRE(field);
  Request req;
  auto age = [&](const std::string& secret) {
    auto a = f.cache->FindByKey(engine::KeyId(secret));
    REQUIRE(a);
    const engine::EvalContext ctx{req, *a, "chat", f.clock.wall_ms(), 0};
    return engine::ReadField(*field, ctx).num;
  };
  CHECK(age("sk-1") == doctest::Approx(3660));  // the account's first key
  CHECK(age("sk-new") == doctest::Approx(60));
}

TEST_CASE("accounts cache: revoked keys are not found, suspended accounts are, as suspended") {
  Fixture f;
  REQUIRE(f.reg->UpdateAccount("acct_1", [](Account* a) {
                 a->suspended = true;
                 return Status::Ok();
               }).ok());
  auto a = f.cache->FindByKey(engine::KeyId("sk-1"));
  REQUIRE(a);
  CHECK(a->suspended);
  REQUIRE(f.reg->RevokeKey(engine::KeyId("sk-1")).ok());
  CHECK_FALSE(f.cache->FindByKey(engine::KeyId("sk-1")));
  REQUIRE(f.cache->FindById("acct_1"));
  CHECK(f.cache->FindById("acct_1")->key_ids.empty());
  // A lookup taken before the revocation keeps its (immutable) account.
  CHECK(a->id == "acct_1");
}

TEST_CASE("accounts cache: another process's writes show after RefreshIfChanged") {
  Fixture f;
  const uint64_t before = f.cache->stats().refreshes;
  REQUIRE(f.cache->RefreshIfChanged().ok());
  CHECK(f.cache->stats().refreshes == before);  // nothing changed: no reload

  OtherConnection other(f.path);
  REQUIRE(other.Exec("UPDATE accounts SET tier = 'enterprise' WHERE id = 'acct_1'") == SQLITE_OK);
  REQUIRE(other.Exec("UPDATE api_keys SET revoked_ms = 1") == SQLITE_OK);
  CHECK(f.cache->FindById("acct_1")->tier == "pro");  // not yet
  REQUIRE(f.cache->RefreshIfChanged().ok());
  CHECK(f.cache->stats().refreshes == before + 1);
  CHECK(f.cache->FindById("acct_1")->tier == "enterprise");
  CHECK_FALSE(f.cache->FindByKey(engine::KeyId("sk-1")));
}

TEST_CASE("accounts cache: lookups answer while another connection holds a write transaction") {
  // Writers through the registry wait up to 10 s for the lock.
  Fixture f(std::chrono::milliseconds(10'000));
  OtherConnection other(f.path);
  REQUIRE(other.Exec("BEGIN IMMEDIATE") == SQLITE_OK);
  REQUIRE(other.Exec("UPDATE accounts SET tier = 'held' WHERE id = 'acct_1'") == SQLITE_OK);

  // A writer through the registry now waits inside SQLite for the lock,
  // holding the registry's own mutex too.
  std::atomic<bool> writer_started{false}, writer_done{false};
  Status writer_status;
  std::thread writer([&] {
    writer_started = true;
    Account b;
    b.id = "acct_2";
    b.key_ids = {engine::KeyId("sk-b")};
    writer_status = f.reg->AddAccount(b);
    writer_done = true;
  });
  while (!writer_started) std::this_thread::yield();

  // Lookups come from the snapshot: no SQLite, no lock the writer holds.
  const auto t0 = std::chrono::steady_clock::now();
  int found = 0;
  for (int i = 0; i < 10'000; ++i) {
    auto a = f.cache->FindByKey(engine::KeyId("sk-1"));
    found += a && a->tier == "pro";
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(found == 10'000);
  // The writer cannot have finished: the other connection still has the lock.
  CHECK_FALSE(writer_done.load());
  // Ten thousand lookups in well under the writer's 10 s wait: none waited.
  CHECK(took < std::chrono::seconds(2));
  MESSAGE("10000 lookups during a held write lock took ",
          std::chrono::duration_cast<std::chrono::microseconds>(took).count(), " us");

  REQUIRE(other.Exec("ROLLBACK") == SQLITE_OK);
  writer.join();
  CHECK(writer_status.ok());
  // The write refreshed the cache; the rolled-back change never showed.
  REQUIRE(f.cache->FindByKey(engine::KeyId("sk-b")));
  CHECK(f.cache->FindById("acct_1")->tier == "pro");
}

TEST_CASE("accounts cache: a refresh reads past a held write lock (WAL) and a failed one keeps the snapshot") {
  Fixture f(std::chrono::milliseconds(0));
  OtherConnection other(f.path);
  REQUIRE(other.Exec("BEGIN IMMEDIATE") == SQLITE_OK);
  REQUIRE(other.Exec("UPDATE accounts SET tier = 'held'") == SQLITE_OK);
  CHECK(f.cache->Refresh().ok());  // readers do not wait for writers
  CHECK(f.cache->FindById("acct_1")->tier == "pro");
  // With no wait allowed, a write through the registry is refused at once.
  Account b;
  b.id = "b";
  CHECK(f.reg->AddAccount(b).code() == Status::Code::kUnavailable);
  REQUIRE(other.Exec("COMMIT") == SQLITE_OK);
  REQUIRE(f.cache->RefreshIfChanged().ok());
  CHECK(f.cache->FindById("acct_1")->tier == "held");

  // Break the file under the cache: the refresh fails, is counted, and
  // lookups keep the last good snapshot.
  REQUIRE(other.Exec("UPDATE accounts SET flags = 'not json'") == SQLITE_OK);
  const uint64_t failures = f.cache->stats().failures;
  CHECK_FALSE(f.cache->RefreshIfChanged().ok());
  CHECK(f.cache->stats().failures == failures + 1);
  REQUIRE(f.cache->FindByKey(engine::KeyId("sk-1")));
  CHECK(f.cache->FindById("acct_1")->tier == "held");
}

TEST_CASE("accounts cache: the background refresher stops with the cache") {
  Fixture f;
  f.cache->StartRefreshing(std::chrono::hours(1));
  f.cache.reset();  // must return promptly, not after the hour
  CHECK_FALSE(f.cache);
  // The registry no longer calls the destroyed cache.
  Account b;
  b.id = "after";
  CHECK(f.reg->AddAccount(b).ok());
}

}  // namespace
}  // namespace tosgate::storage
