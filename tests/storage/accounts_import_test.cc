// AccountsRegistry::Import: all or nothing, every bad line named.
#include <doctest/doctest.h>

#include "engine/accounts.h"
#include "storage/accounts/registry.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;

constexpr int64_t kNowMs = 1'764'000'000'000;

std::unique_ptr<AccountsRegistry> OpenAt(const std::string& path, const Clock* clock) {
  auto r = AccountsRegistry::Open({.path = path, .clock = clock});
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

TEST_CASE("import: a good file adds accounts and keys, and importing it again changes nothing") {
  TempDir dir;
  FakeClock clock(kNowMs);
  auto reg = OpenAt(dir.File("a.db"), &clock);
  const std::string file = dir.Write(
      "accounts.jsonl",
      R"({"id": "acct_17", "org": "org_4", "tier": "pro", "country": "US", "flags": ["x"], )"
      R"("created": 1763000000000, "payment_fingerprint": "pf_9", "keys": ["sk-live-a", "sk-live-b"], )"
      R"("limit_overrides": {"rate.rpm": {"requests": 900, "per": "1m"}}})"
      "\n\n"
      R"({"id": "acct_18", "suspended": true})"
      "\n");
  ImportReport report;
  Status s = reg->Import(file, &report);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(report.errors.empty());
  CHECK(report.added == 2);
  CHECK(report.updated == 0);
  CHECK(report.keys_added == 2);

  auto a = reg->GetAccount("acct_17");
  REQUIRE(a.ok());
  CHECK(a->tier == "pro");
  CHECK(a->created_ms == 1763000000000);
  CHECK(a->key_ids.size() == 2);
  REQUIRE(a->limit_overrides.size() == 1);
  CHECK(a->limit_overrides[0].amount == 900);
  auto keys = reg->ListKeys("acct_17");
  REQUIRE(keys.ok());
  // The file has no key dates: a key is taken to be as old as its account.
  CHECK((*keys)[0].created_ms == 1763000000000);
  CHECK((*keys)[0].label == "import");
  auto b = reg->GetAccount("acct_18");
  CHECK(b->suspended);
  CHECK(b->created_ms == kNowMs);  // no "created": the import time

  clock.advance_ms(60'000);
  REQUIRE(reg->Import(file, &report).ok());
  CHECK(report.added == 0);
  CHECK(report.updated == 2);
  CHECK(report.keys_added == 0);
  CHECK(reg->GetAccount("acct_18")->created_ms == kNowMs);  // kept, not reset
}

TEST_CASE("import: an existing account is replaced by its line; its other keys stay") {
  TempDir dir;
  FakeClock clock(kNowMs);
  auto reg = OpenAt(dir.File("a.db"), &clock);
  Account a;
  a.id = "a1";
  a.tier = "free";
  a.flags = {"old"};
  a.key_ids = {engine::KeyId("sk-old")};
  REQUIRE(reg->AddAccount(a).ok());
  ImportReport report;
  REQUIRE(reg->Import(dir.Write("f.jsonl", R"({"id": "a1", "tier": "pro", "keys": ["sk-new"]})"),
                      &report)
              .ok());
  CHECK(report.updated == 1);
  CHECK(report.keys_added == 1);
  auto got = reg->GetAccount("a1");
  CHECK(got->tier == "pro");
  CHECK(got->flags.empty());
  CHECK(got->key_ids.size() == 2);
}

TEST_CASE("import: every bad line is reported with its number and nothing is written") {
  TempDir dir;
  FakeClock clock(kNowMs);
  auto reg = OpenAt(dir.File("a.db"), &clock);
  Account owner;
  owner.id = "owner";
  owner.key_ids = {engine::KeyId("sk-taken"), engine::KeyId("sk-gone")};
  REQUIRE(reg->AddAccount(owner).ok());
  REQUIRE(reg->RevokeKey(engine::KeyId("sk-gone")).ok());

  const std::string file = dir.Write(
      "bad.jsonl",
      std::string(R"({"id": "good1", "keys": ["sk-good"]})") + "\n" +  // 1
          R"({"id": "bad2", "tier": 3})" + "\n" +                        // 2
          R"({"id": "good3"})" + "\n" +                                  // 3
          R"({"id": "bad4", "keys": ["sk-taken"]})" + "\n" +             // 4: another account's
          "{not json\n" +                                                // 5
          R"({"id": "good1"})" + "\n" +                                  // 6: repeated id
          R"({"id": "bad7", "keys": ["sk-gone"]})" + "\n");              // 7: revoked
  ImportReport report;
  Status s = reg->Import(file, &report);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message() == file + ": 5 problems; nothing imported");
  REQUIRE(report.errors.size() == 5);
  CHECK(report.errors[0] == file + ":2: \"tier\" must be a string");
  CHECK(report.errors[1].starts_with(file + ":4: key id "));
  CHECK(report.errors[1].find("already belongs to account \"owner\"") != std::string::npos);
  CHECK(report.errors[2].starts_with(file + ":5: invalid JSON"));
  CHECK(report.errors[3] == file + ":6: account \"good1\" already defined on line 1");
  CHECK(report.errors[4].starts_with(file + ":7: key id "));
  CHECK(report.errors[4].find("was revoked") != std::string::npos);
  for (const std::string& e : report.errors) CHECK(e.find("sk-") == std::string::npos);
  CHECK(report.added == 0);

  // All or nothing: the good lines were not written either.
  CHECK(reg->GetAccount("good1").status().code() == Status::Code::kNotFound);
  CHECK(reg->GetAccount("good3").status().code() == Status::Code::kNotFound);
  auto page = reg->ListAccounts("", 100);
  REQUIRE(page.ok());
  CHECK(page->accounts.size() == 1);
}

TEST_CASE("import: a missing file is NotFound and writes nothing") {
  TempDir dir;
  auto reg = OpenAt(dir.File("a.db"), nullptr);
  ImportReport report;
  Status s = reg->Import(dir.File("none.jsonl"), &report);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message().find("none.jsonl") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
