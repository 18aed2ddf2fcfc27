// tosgate accounts: the registry from the command line, and `tosgate check
// --accounts-db` seeing what it wrote.
#include <doctest/doctest.h>

#include <filesystem>

#include "run_support.h"

namespace {

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

// A policy set that denies unknown keys and suspended accounts, so `check`
// shows whether the registry knows a key.
std::string WritePolicies(const std::string& dir) {
  std::filesystem::create_directories(dir + "/policies");
  WriteFile(dir + "/policies/p.yaml",
            "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n"
            "identity:\n  unknown_keys: {action: deny}\n"
            "operations:\n  chat: {paths: [/v1/chat/completions]}\n"
            "  embeddings: {paths: [/v1/embeddings]}\n"
            "rules:\n"
            "  - id: account.suspended\n    kind: attribute\n"
            "    when: {field: account.suspended, eq: true}\n    action: deny\n"
            "    reason: account-suspended\n"
            "  - id: new-keys.no-embeddings\n    kind: attribute\n"
            "    match: {operations: [embeddings]}\n"
            "    when: {field: account.key_age, lt: 3600}\n    action: deny\n"
            "    reason: key-too-new\n");
  return dir + "/policies";
}

std::string WriteRequest(const std::string& dir, const std::string& name, const std::string& key,
                         const std::string& path = "/v1/chat/completions") {
  const std::string file = dir + "/" + name;
  WriteFile(file, R"({"method": "POST", "path": ")" + path +
                      R"(", "headers": {"authorization": "Bearer )" + key +
                      R"("}, "body": {"model": "m", "messages": []}})");
  return file;
}

// The value after "key: " on its own line of `out`.
std::string SecretIn(const std::string& out) {
  const auto p = out.find("\nkey: ");
  if (p == std::string::npos) return "";
  return out.substr(p + 6, out.find('\n', p + 6) - (p + 6));
}

TEST_CASE("accounts CLI: add, set, revoke-key, each seen by check --accounts-db") {
  const std::string dir = TempDir();
  const std::string db = dir + "/accounts.db";
  const std::string policies = WritePolicies(dir);
  const std::string check = "check --policies " + policies + " --accounts-db " + db + " --request ";

  auto add = RunTosgate("accounts --db " + db +
                        " add --id acct_1 --org org_1 --tier pro --country DE --flag beta --new-key");
  REQUIRE_MESSAGE(add.exit_code == 0, add.out);
  CHECK(add.out.find("added account acct_1 (tier pro), 1 key") != std::string::npos);
  const std::string secret = SecretIn(add.out);
  REQUIRE_MESSAGE(secret.starts_with("sk-tg-"), add.out);
  CHECK(secret.size() == 6 + 43);  // 32 random bytes, base64url

  const std::string req = WriteRequest(dir, "req.json", secret);
  auto allowed = RunTosgate(check + req);
  CHECK_MESSAGE(allowed.out == "allow 200\n", allowed.out);
  // The key was made just now: the key_age rule applies to embeddings.
  auto too_new = RunTosgate(check + WriteRequest(dir, "emb.json", secret, "/v1/embeddings"));
  CHECK_MESSAGE(too_new.out == "deny 403 key-too-new\n", too_new.out);

  auto suspend = RunTosgate("accounts --db " + db + " set --id acct_1 --suspend --flag vip");
  REQUIRE_MESSAGE(suspend.exit_code == 0, suspend.out);
  CHECK(suspend.out.find(R"("suspended":true)") != std::string::npos);
  CHECK(suspend.out.find(R"("flags":["beta","vip"])") != std::string::npos);
  CHECK(RunTosgate(check + req).out == "deny 403 account-suspended\n");
  REQUIRE(RunTosgate("accounts --db " + db + " set --id acct_1 --unsuspend").exit_code == 0);
  CHECK(RunTosgate(check + req).out == "allow 200\n");

  auto revoke = RunTosgate("accounts --db " + db + " revoke-key --key " + secret);
  REQUIRE_MESSAGE(revoke.exit_code == 0, revoke.out);
  CHECK(revoke.out.find("revoked key id ") != std::string::npos);
  CHECK(revoke.out.find("of account acct_1") != std::string::npos);
  CHECK(revoke.out.find(secret) == std::string::npos);  // the secret is never printed back
  auto unknown = RunTosgate(check + req);
  CHECK_MESSAGE(unknown.out == "deny 401 unknown-key\n", unknown.out);

  // Revoking again is fine; an unknown key is the registry's "no": 1.
  CHECK(RunTosgate("accounts --db " + db + " revoke-key --key " + secret).exit_code == 0);
  auto nokey = RunTosgate("accounts --db " + db + " revoke-key --key sk-never-issued");
  CHECK(nokey.exit_code == 1);
  CHECK(nokey.out.find("no key with id") != std::string::npos);
}

TEST_CASE("accounts CLI: import, then list as a table and as JSON Lines, a page at a time") {
  const std::string dir = TempDir();
  const std::string db = dir + "/accounts.db";
  WriteFile(dir + "/a.jsonl",
            R"({"id": "acct_b", "org": "o1", "tier": "free", "keys": ["sk-b"]})"
            "\n"
            R"({"id": "acct_a", "org": "o1", "tier": "pro", "country": "US", "created": 1763000000000,)"
            R"( "limit_overrides": {"rate.rpm": {"requests": 900, "per": "1m"}}})"
            "\n"
            R"({"id": "acct_c", "suspended": true})"
            "\n");
  auto imp = RunTosgate("accounts --db " + db + " import " + dir + "/a.jsonl");
  REQUIRE_MESSAGE(imp.exit_code == 0, imp.out);
  CHECK(imp.out.find("3 added, 0 updated, 1 keys added") != std::string::npos);

  auto table = RunTosgate("accounts --db " + db + " list --limit 2");
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.starts_with("ID "));
  CHECK(table.out.find("acct_a") < table.out.find("acct_b"));
  CHECK(table.out.find("2025-11-13T02:13:20Z") != std::string::npos);  // acct_a's created
  CHECK(table.out.find("acct_c") == std::string::npos);
  CHECK(table.out.find("more: add --after acct_b") != std::string::npos);

  auto rest = RunTosgate("accounts --db " + db + " list --json --after acct_b");
  REQUIRE(rest.exit_code == 0);
  CHECK(rest.out.starts_with(R"({"id":"acct_c",)"));
  CHECK(rest.out.find(R"("suspended":true)") != std::string::npos);
  CHECK(rest.out.find("more:") == std::string::npos);

  auto all = RunTosgate("accounts --db " + db + " list --json");
  CHECK(all.out.find(R"("limit_overrides":{"rate.rpm":{"requests":900,"per":"1m"}})") !=
        std::string::npos);

  // A set --override writes the same shape.
  auto ov = RunTosgate("accounts --db " + db +
                       " set --id acct_b --override budget.tpm=tokens:50000/per:1h/burst:0");
  REQUIRE_MESSAGE(ov.exit_code == 0, ov.out);
  CHECK(ov.out.find(R"("limit_overrides":{"budget.tpm":{"tokens":50000,"per":"1h"}})") !=
        std::string::npos);
  auto bad_ov = RunTosgate("accounts --db " + db + " set --id acct_b --override rate.rpm=per:1m");
  CHECK(bad_ov.exit_code == 2);
  CHECK(bad_ov.out.find("needs requests, tokens or concurrent") != std::string::npos);
}

TEST_CASE("accounts CLI: an import with bad lines names each, writes nothing, exits 2") {
  const std::string dir = TempDir();
  const std::string db = dir + "/accounts.db";
  const std::string file = dir + "/bad.jsonl";
  WriteFile(file, std::string(R"({"id": "ok1"})") + "\n" + R"({"id": "x", "tier": 1})" + "\n" +
                      "not json\n" + R"({"id": "ok1"})" + "\n");
  auto r = RunTosgate("accounts --db " + db + " import " + file);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(file + ":2: \"tier\" must be a string") != std::string::npos);
  CHECK(r.out.find(file + ":3: invalid JSON") != std::string::npos);
  CHECK(r.out.find(file + ":4: account \"ok1\" already defined on line 1") != std::string::npos);
  CHECK(r.out.find("3 problems; nothing imported") != std::string::npos);
  auto list = RunTosgate("accounts --db " + db + " list --json");
  CHECK(list.exit_code == 0);
  CHECK(list.out.empty());
}

TEST_CASE("accounts CLI: usage errors are 2, the registry's refusals 1") {
  const std::string dir = TempDir();
  const std::string db = dir + "/accounts.db";
  CHECK(RunTosgate("accounts").exit_code == 2);
  CHECK(RunTosgate("accounts --help").exit_code == 0);
  CHECK(RunTosgate("accounts list").out.find("--db FILE is required") != std::string::npos);
  CHECK(RunTosgate("accounts --db " + db + " frobnicate").exit_code == 2);
  CHECK(RunTosgate("accounts --db " + db + " add --tier pro").exit_code == 2);  // no --id
  CHECK(RunTosgate("accounts --db " + db + " add --id a --key k --new-key").exit_code == 2);
  CHECK(RunTosgate("accounts --db " + db + " add --id a --key-id ABC").exit_code == 2);

  // Reading a registry that does not exist does not create one.
  auto missing = RunTosgate("accounts --db " + db + " list");
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.find("no such accounts registry") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(db));

  REQUIRE(RunTosgate("accounts --db " + db + " add --id a --key sk-a").exit_code == 0);
  auto dup = RunTosgate("accounts --db " + db + " add --id a");
  CHECK(dup.exit_code == 1);
  CHECK(dup.out.find("account \"a\" already exists") != std::string::npos);
  auto taken = RunTosgate("accounts --db " + db + " add --id b --key sk-a");
  CHECK(taken.exit_code == 1);
  CHECK(taken.out.find("already belongs to account \"a\"") != std::string::npos);
  CHECK(RunTosgate("accounts --db " + db + " set --id nobody --tier pro").exit_code == 1);
  CHECK(RunTosgate("accounts --db " + db + " add-key --id a --new-key --label ci").exit_code == 0);
}

TEST_CASE("serve refuses a missing accounts registry, and an accounts file together with one") {
  const std::string dir = TempDir();
  auto missing = RunTosgate("serve --accounts-db " + dir + "/none.db");
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.find("no such accounts registry") != std::string::npos);
  WriteFile(dir + "/c.yaml", "accounts: {db: " + dir + "/a.db, file: " + dir + "/a.jsonl}\n");
  auto both = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(both.exit_code == 2);
  CHECK(both.out.find("not both") != std::string::npos);
}

}  // namespace
