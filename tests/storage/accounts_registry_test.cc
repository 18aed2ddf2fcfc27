#include "storage/accounts/registry.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "engine/accounts.h"
#include "storage/accounts/account_json.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;

constexpr int64_t kStartMs = 1'764'000'000'000;

std::unique_ptr<AccountsRegistry> OpenAt(const std::string& path, const Clock* clock) {
  auto r = AccountsRegistry::Open({.path = path, .clock = clock});
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

Account MakeAccount(const std::string& id, const std::string& tier = "free") {
  Account a;
  a.id = id;
  a.org = "org-" + id;
  a.tier = tier;
  a.country = "US";
  a.flags = {"beta"};
  a.payment_fingerprint = "pf-" + id;
  return a;
}

TEST_CASE("accounts registry: add, get, update and list round trip every field") {
  TempDir dir;
  FakeClock clock(kStartMs);
  auto reg = OpenAt(dir.File("a.db"), &clock);

  Account a = MakeAccount("acct_1", "pro");
  a.key_ids = {engine::KeyId("sk-one")};
  a.limit_overrides = {{"rate.rpm", 1000, 60'000'000'000, 10, "requests"},
                       {"budget.tpm", 50'000, 0, 0, "tokens"}};
  REQUIRE(reg->AddAccount(a, "ci").ok());

  auto got = reg->GetAccount("acct_1");
  REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  CHECK(got->org == "org-acct_1");
  CHECK(got->tier == "pro");
  CHECK(got->country == "US");
  CHECK(got->flags == std::vector<std::string>{"beta"});
  CHECK(got->payment_fingerprint == "pf-acct_1");
  CHECK(got->created_ms == kStartMs);  // 0 became "now"
  CHECK_FALSE(got->suspended);
  CHECK(got->key_ids == a.key_ids);
  REQUIRE(got->limit_overrides.size() == 2);
  // The override object is a JSON map: it comes back ordered by rule id.
  CHECK(got->limit_overrides[0].rule_id == "budget.tpm");
  CHECK(got->limit_overrides[0].amount == 50'000);
  CHECK(got->limit_overrides[0].unit == "tokens");
  CHECK(got->limit_overrides[0].per_ns == 0);
  CHECK(got->limit_overrides[1].rule_id == "rate.rpm");
  CHECK(got->limit_overrides[1].per_ns == 60'000'000'000);
  CHECK(got->limit_overrides[1].burst == 10);

  CHECK(reg->AddAccount(MakeAccount("acct_1")).code() == Status::Code::kAlreadyExists);
  CHECK(reg->GetAccount("nobody").status().code() == Status::Code::kNotFound);

  REQUIRE(reg->UpdateAccount("acct_1", [](Account* x) {
               x->tier = "enterprise";
               x->suspended = true;
               x->flags.push_back("research-partner");
               x->key_ids.clear();  // ignored: keys change only through AddKey / RevokeKey
               return Status::Ok();
             }).ok());
  got = reg->GetAccount("acct_1");
  CHECK(got->tier == "enterprise");
  CHECK(got->suspended);
  CHECK(got->flags == std::vector<std::string>{"beta", "research-partner"});
  CHECK(got->key_ids.size() == 1);

  // An edit that fails writes nothing; an unknown account is NotFound.
  CHECK(reg->UpdateAccount("acct_1", [](Account* x) {
               x->tier = "free";
               return Status::InvalidArgument("no");
             }).code() == Status::Code::kInvalidArgument);
  CHECK(reg->GetAccount("acct_1")->tier == "enterprise");
  CHECK(reg->UpdateAccount("ghost", [](Account*) { return Status::Ok(); }).code() ==
        Status::Code::kNotFound);
  CHECK(reg->UpdateAccount("acct_1", [](Account* x) {
               x->id = "other";
               return Status::Ok();
             }).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("accounts registry: ListAccounts pages by id without skipping or repeating") {
  TempDir dir;
  FakeClock clock(kStartMs);
  auto reg = OpenAt(dir.File("a.db"), &clock);
  for (const char* id : {"c", "a", "e", "b", "d"}) REQUIRE(reg->AddAccount(MakeAccount(id)).ok());

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  do {
    auto page = reg->ListAccounts(after, 2);
    REQUIRE(page.ok());
    for (const Account& a : page->accounts) seen.push_back(a.id);
    after = page->next_after;
    ++pages;
  } while (!after.empty());
  CHECK(seen == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(pages == 3);

  // A page that ends exactly at the last account says there is no more.
  auto exact = reg->ListAccounts("c", 2);
  REQUIRE(exact.ok());
  CHECK(exact->accounts.size() == 2);
  CHECK(exact->next_after.empty());
}

TEST_CASE("accounts registry: keys are added once, revoked for good, and never move") {
  TempDir dir;
  FakeClock clock(kStartMs);
  auto reg = OpenAt(dir.File("a.db"), &clock);
  REQUIRE(reg->AddAccount(MakeAccount("a1")).ok());
  REQUIRE(reg->AddAccount(MakeAccount("a2")).ok());
  const std::string k1 = engine::KeyId("sk-1"), k2 = engine::KeyId("sk-2");

  clock.advance_ms(5000);
  REQUIRE(reg->AddKey("a1", k1, "laptop").ok());
  REQUIRE(reg->AddKey("a1", k2, "ci").ok());
  CHECK(reg->AddKey("a2", k1, "x").code() == Status::Code::kAlreadyExists);
  CHECK(reg->AddKey("nobody", engine::KeyId("sk-3"), "x").code() == Status::Code::kNotFound);
  CHECK(reg->AddKey("a1", "not-hex", "x").code() == Status::Code::kInvalidArgument);
  CHECK(reg->GetAccount("a1")->key_ids == std::vector<std::string>{k1, k2});

  clock.advance_ms(1000);
  auto revoked = reg->RevokeKey(k1);
  REQUIRE(revoked.ok());
  CHECK(revoked->account == "a1");
  CHECK(revoked->label == "laptop");
  CHECK(revoked->created_ms == kStartMs + 5000);
  CHECK(revoked->revoked_ms == kStartMs + 6000);
  CHECK(reg->GetAccount("a1")->key_ids == std::vector<std::string>{k2});

  // Again: nothing changes, the first revocation time stays.
  clock.advance_ms(1000);
  CHECK(reg->RevokeKey(k1)->revoked_ms == kStartMs + 6000);
  CHECK(reg->RevokeKey(engine::KeyId("sk-unknown")).status().code() == Status::Code::kNotFound);
  // A revoked key cannot be added back, to its account or another.
  auto again = reg->AddKey("a1", k1, "again");
  CHECK(again.code() == Status::Code::kAlreadyExists);
  CHECK(again.message().find("revoked") != std::string::npos);

  auto keys = reg->ListKeys("a1");
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].revoked_ms == kStartMs + 6000);
  CHECK((*keys)[1].revoked_ms == 0);
}

TEST_CASE("accounts registry: reopening keeps everything; a newer schema is refused") {
  TempDir dir;
  FakeClock clock(kStartMs);
  const std::string path = dir.File("a.db");
  {
    auto reg = OpenAt(path, &clock);
    REQUIRE(reg->AddAccount(MakeAccount("kept")).ok());
  }
  {
    auto reg = OpenAt(path, &clock);
    CHECK(reg->GetAccount("kept").ok());
  }

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 2", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto newer = AccountsRegistry::Open({.path = path});
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.status().code() == Status::Code::kInvalidArgument);
  CHECK(newer.status().message() ==
        path + ": accounts registry schema version 2 is newer than this tosgate understands "
               "(1); use the tosgate that wrote it, or a newer one");
}

TEST_CASE("accounts registry: other files are refused, a missing one only when asked") {
  TempDir dir;
  const std::string other = dir.File("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto r = AccountsRegistry::Open({.path = other});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("not a tosgate accounts registry") != std::string::npos);

  auto text = AccountsRegistry::Open({.path = dir.Write("text.db", "hello, this is no database")});
  CHECK_FALSE(text.ok());

  auto missing = AccountsRegistry::Open({.path = dir.File("none.db"), .create = false});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message().find("none.db") != std::string::npos);
}

TEST_CASE("accounts registry: AddAccount checks what the file parser would") {
  TempDir dir;
  auto reg = OpenAt(dir.File("a.db"), nullptr);
  Account a = MakeAccount("");
  CHECK(reg->AddAccount(a).code() == Status::Code::kInvalidArgument);
  a = MakeAccount("x");
  a.key_ids = {"sk-live-not-a-key-id"};  // a secret passed where an id belongs
  CHECK(reg->AddAccount(a).code() == Status::Code::kInvalidArgument);
  a.key_ids.clear();
  a.limit_overrides = {{"rate.rpm", 0, 0, 0, ""}};
  CHECK(reg->AddAccount(a).code() == Status::Code::kInvalidArgument);
  CHECK(reg->GetAccount("x").status().code() == Status::Code::kNotFound);
}

TEST_CASE("account JSON: a line written is read back the same") {
  Account a = MakeAccount("acct_9", "pro");
  a.suspended = true;
  a.created_ms = 1'763'000'000'000;
  a.key_ids = {engine::KeyId("sk-9")};
  a.limit_overrides = {{"rate.rpm", 120, 90'000'000'000, 3, "requests"},
                       {"conc", 4, 0, 0, "concurrent"}};
  const std::string line = AccountJsonLine(a);
  CHECK(line.find("\"limit_overrides\":{\"rate.rpm\":{\"requests\":120,\"per\":\"90s\",\"burst\":3}") !=
        std::string::npos);
  Account b;
  REQUIRE(ParseAccountJson(line, &b) == "");
  CHECK(b.id == a.id);
  CHECK(b.org == a.org);
  CHECK(b.tier == a.tier);
  CHECK(b.country == a.country);
  CHECK(b.flags == a.flags);
  CHECK(b.suspended);
  CHECK(b.created_ms == a.created_ms);
  CHECK(b.payment_fingerprint == a.payment_fingerprint);
  CHECK(b.key_ids == a.key_ids);
  REQUIRE(b.limit_overrides.size() == 2);
  CHECK(b.limit_overrides[0].unit == "concurrent");
  CHECK(b.limit_overrides[1].per_ns == 90'000'000'000);

  CHECK(FormatDurationNs(60'000'000'000) == "1m");
  CHECK(FormatDurationNs(86'400'000'000'000) == "1d");
  CHECK(FormatDurationNs(1'500'000'000) == "1500ms");
  CHECK(ParseDurationNs("1h") == 3'600'000'000'000);
  CHECK(ParseDurationNs("1x") == 0);
  CHECK(ParseDurationNs("999999999d") == 0);  // would overflow
}

}  // namespace
}  // namespace tosgate::storage
