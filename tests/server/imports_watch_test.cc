// --watch and `imports: [{path: ...}]`: the folders of files a set imports
// from outside its directory are fingerprinted and watched too, so an edit
// to a shared file reloads the set.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "server/policy_source.h"
#include "server/policy_watch.h"
#include "tests/integration/process_support.h"

namespace tosgate::test {
namespace {

const char* const kHead = "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n";

TEST_CASE("imported folders: found from the load, watched, fingerprinted") {
  const std::filesystem::path root = MakeTempDir("tosgate-imports-watch");
  REQUIRE(!root.empty());
  std::filesystem::create_directories(root / "set" / "sub");
  std::filesystem::create_directories(root / "shared");
  WriteFile(root / "shared" / "ops.yaml",
            std::string(kHead) + "operations:\n  shared_chat: {methods: [POST], paths: [/v9/chat]}\n");
  WriteFile(root / "set" / "sub" / "more.yaml", kHead);
  WriteFile(root / "set" / "policy.yaml",
            std::string(kHead) + "imports: [{path: ../shared/ops.yaml}, {path: sub/more.yaml}, {pack: default}]\n");

  const std::string dir = (root / "set").string();
  const policies::LoadResult r = server::LoadPolicySource(dir);
  INFO(server::ReportPolicyErrors(r));
  REQUIRE(r.snapshot);
  // Only the folder outside the set: not the set's own, not a built-in pack.
  const std::vector<std::string> dirs = server::ImportedDirs(dir, r);
  REQUIRE(dirs.size() == 1);
  CHECK(dirs[0] == std::filesystem::weakly_canonical(root / "shared").string());

  server::PolicyWatcher watcher;
  REQUIRE(watcher.Start(dir).ok());
  watcher.Also(dirs[0]);
  CHECK_FALSE(watcher.Changed());
  const std::string before = server::FolderFingerprint(dirs[0]);
  WriteFile(root / "shared" / "ops.yaml",
            std::string(kHead) + "operations:\n  shared_chat: {methods: [POST], paths: [/v9/chat, /v8/chat]}\n");
  CHECK(watcher.Changed());
  CHECK(server::FolderFingerprint(dirs[0]) != before);
  CHECK(server::LoadPolicySource(dir).snapshot->revision != r.snapshot->revision);

  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

}  // namespace
}  // namespace tosgate::test
