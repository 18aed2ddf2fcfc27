// The --watch trigger: inotify on the policy folder and every folder under
// it. Events are queued by the kernel when the file operation returns, so
// the test needs no waiting.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "server/policy_watch.h"
#include "tests/integration/process_support.h"

namespace tosgate::test {
namespace {

TEST_CASE("policy watcher: sees writes, new files, new folders and renames; quiet otherwise") {
  const std::filesystem::path dir = MakeTempDir("tosgate-watch");
  REQUIRE(!dir.empty());
  WriteFile(dir / "a.yaml", "rules: []\n");
  server::PolicyWatcher watcher;
  REQUIRE(watcher.Start(dir.string()).ok());
  CHECK_FALSE(watcher.Changed());

  WriteFile(dir / "a.yaml", "rules: [] # edited\n");
  CHECK(watcher.Changed());
  CHECK_FALSE(watcher.Changed());  // each change is reported once

  std::filesystem::create_directories(dir / "team");
  CHECK(watcher.Changed());
  WriteFile(dir / "team" / "b.yaml", "rules: []\n");  // a file in a folder made after Start
  CHECK(watcher.Changed());

  std::filesystem::rename(dir / "a.yaml", dir / "c.yaml");
  CHECK(watcher.Changed());
  std::filesystem::remove(dir / "c.yaml");
  CHECK(watcher.Changed());
  CHECK_FALSE(watcher.Changed());

  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_CASE("policy watcher: a folder that does not exist is an error") {
  server::PolicyWatcher watcher;
  CHECK_FALSE(watcher.Start("/nonexistent/tosgate-policies").ok());
}

}  // namespace
}  // namespace tosgate::test
