#include "storage/accounts/file.h"

#include <doctest/doctest.h>

#include "engine/accounts.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;

TEST_CASE("accounts JSONL: every member is read and keys become key ids") {
  TempDir dir;
  const std::string path = dir.Write(
      "accounts.jsonl",
      "\xEF\xBB\xBF"  // a byte-order mark some editors add
      R"({"id": "acct_17", "org": "org_4", "tier": "pro", "country": "US", "flags": ["research-partner"], )"
      R"("created": 1763000000000, "payment_fingerprint": "pf_9", "keys": ["sk-live-aaa", "sk-live-bbb"]})"
      "\n\n   \r\n"  // blank lines are skipped
      R"({"id": "acct_18", "suspended": true, "org": null, "key_ids": [")" +
          engine::KeyId("sk-live-ccc") + R"("]})" + "\r\n" +
          R"({"id": "acct_19"})");  // no newline at the end

  auto loaded = LoadAccountsJsonl(path);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  const std::vector<Account>& accounts = *loaded;
  REQUIRE(accounts.size() == 3);

  const Account& a = accounts[0];
  CHECK(a.id == "acct_17");
  CHECK(a.org == "org_4");
  CHECK(a.tier == "pro");
  CHECK(a.country == "US");
  CHECK(a.flags == std::vector<std::string>{"research-partner"});
  CHECK(a.created_ms == 1763000000000);
  CHECK(a.payment_fingerprint == "pf_9");
  CHECK_FALSE(a.suspended);
  CHECK(a.key_ids ==
        std::vector<std::string>{engine::KeyId("sk-live-aaa"), engine::KeyId("sk-live-bbb")});
  CHECK(a.key_ids[0].size() == 64);

  CHECK(accounts[1].id == "acct_18");
  CHECK(accounts[1].suspended);
  CHECK(accounts[1].org.empty());
  CHECK(accounts[1].key_ids == std::vector<std::string>{engine::KeyId("sk-live-ccc")});

  CHECK(accounts[2].id == "acct_19");
  CHECK(accounts[2].key_ids.empty());
}

TEST_CASE("accounts JSONL: an empty file is no accounts") {
  TempDir dir;
  auto loaded = LoadAccountsJsonl(dir.Write("empty.jsonl", ""));
  REQUIRE(loaded.ok());
  CHECK(loaded->empty());
}

TEST_CASE("accounts JSONL: a missing file is NotFound naming it") {
  TempDir dir;
  const std::string path = dir.File("nope.jsonl");
  auto loaded = LoadAccountsJsonl(path);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kNotFound);
  CHECK(loaded.status().message().find(path) != std::string::npos);
}

// Loads `line` as the third line of a file and returns the error message,
// which must name path:3.
std::string ErrorOnLine3(const std::string& line) {
  TempDir dir;
  const std::string path = dir.Write(
      "a.jsonl", std::string(R"({"id": "a1", "keys": ["sk-one"]})") + "\n" +
                     R"({"id": "a2"})" + "\n" + line + "\n" + R"({"id": "a9"})" + "\n");
  auto loaded = LoadAccountsJsonl(path);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kInvalidArgument);
  const std::string& m = loaded.status().message();
  CHECK_MESSAGE(m.starts_with(path + ":3: "), m);
  return m.substr(path.size() + 4);
}

TEST_CASE("accounts JSONL: a bad line is named by path:line with the problem") {
  CHECK(ErrorOnLine3(R"({"id": "a3", )").starts_with("invalid JSON: column "));
  CHECK(ErrorOnLine3(R"(["a3"])") == "expected a JSON object");
  CHECK(ErrorOnLine3(R"({"org": "o"})") == R"("id" is required and must not be empty)");
  CHECK(ErrorOnLine3(R"({"id": ""})") == R"("id" is required and must not be empty)");
  CHECK(ErrorOnLine3(R"({"id": 3})") == R"("id" must be a string)");
  CHECK(ErrorOnLine3(R"({"id": "a3", "flag": ["x"]})") == R"(unknown member "flag")");
  CHECK(ErrorOnLine3(R"({"id": "a3", "flags": "x"})") == R"("flags" must be an array of strings)");
  CHECK(ErrorOnLine3(R"({"id": "a3", "keys": [1]})") == R"("keys" must be an array of strings)");
  CHECK(ErrorOnLine3(R"({"id": "a3", "keys": [""]})") == R"("keys"[0] is empty)");
  CHECK(ErrorOnLine3(R"({"id": "a3", "created": "yesterday"})")
            .starts_with(R"("created" must be milliseconds)"));
  CHECK(ErrorOnLine3(R"({"id": "a3", "created": -1})").starts_with(R"("created" must be)"));
  CHECK(ErrorOnLine3(R"({"id": "a3", "suspended": "yes"})") ==
        R"("suspended" must be true or false)");
  CHECK(ErrorOnLine3(R"({"id": "a3", "key_ids": ["ABC"]})").starts_with(R"("key_ids" entries)"));
  CHECK(ErrorOnLine3(R"({"id": "a1"})") == R"(account "a1" already defined on line 1)");
  const std::string dup_key = ErrorOnLine3(R"({"id": "a3", "keys": ["sk-one"]})");
  CHECK(dup_key.find(R"(a key of account "a3")") != std::string::npos);
  CHECK(dup_key.find("already given on line 1") != std::string::npos);
}

TEST_CASE("accounts JSONL: errors never repeat a key secret") {
  CHECK(ErrorOnLine3(R"({"id": "a3", "keys": ["sk-secret-123)").find("sk-secret") ==
        std::string::npos);
  CHECK(ErrorOnLine3("{\"id\": \"a3\", \"keys\": [\"sk-secret-\x01\"]}").find("sk-secret") ==
        std::string::npos);
  CHECK(ErrorOnLine3(R"({"id": "a3", "keys": ["sk-one"]})").find("sk-one") == std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
