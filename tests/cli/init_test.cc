// tosgate init DIR: the starter policy set validates, its tests (and the
// imported packs' tests inside it) pass, the schema beside it is the one the
// loader's keys are checked against, and nothing is ever overwritten.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "run_support.h"

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool Has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("init writes a starter set that validates and whose tests pass") {
  const std::string dir = tosgate::test::TempDir() + "/my-policies";  // created by init
  auto r = tosgate::test::RunTosgate("init " + dir);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(Has(r.out, "Edit first"));
  CHECK(Has(r.out, "settings.mode: shadow"));
  CHECK(Has(r.out, "tosgate validate " + dir));

  const std::string policy = Slurp(dir + "/policy.yaml");
  CHECK(policy.rfind("# yaml-language-server: $schema=schema.json\n", 0) == 0);
  CHECK(Has(policy, "- {pack: default}"));
  CHECK(Has(policy, "- {pack: prohibited-use}"));
  CHECK(Has(policy, "- {pack: distillation}"));
  CHECK(Slurp(dir + "/schema.json") == Slurp(TOSGATE_SOURCE_DIR "/policies/schema.json"));

  auto v = tosgate::test::RunTosgate("validate " + dir);
  INFO(v.out);
  CHECK(v.exit_code == 0);
  CHECK(Has(v.out, dir + ": ok"));
  CHECK_FALSE(Has(v.out, "warning"));

  auto t = tosgate::test::RunTosgate("test " + dir);
  INFO(t.out);
  CHECK(t.exit_code == 0);
  CHECK(Has(t.out, "PASS a request from the blocked network is denied"));
  CHECK(Has(t.out, "PASS a prohibited request is denied, whatever its spelling (prohibited-use pack)"));
  CHECK(Has(t.out, ", 0 failed"));
  CHECK_FALSE(Has(t.out, "FAIL"));
}

TEST_CASE("init never overwrites: one existing file and nothing is written") {
  const std::string dir = tosgate::test::TempDir();
  tosgate::test::WriteFile(dir + "/policy.yaml", "mine\n");
  auto r = tosgate::test::RunTosgate("init " + dir);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(Has(r.out, dir + "/policy.yaml exists; not overwriting it"));
  CHECK(Slurp(dir + "/policy.yaml") == "mine\n");
  CHECK_FALSE(std::filesystem::exists(dir + "/policy.test.yaml"));
  CHECK_FALSE(std::filesystem::exists(dir + "/schema.json"));

  // The same after a successful init: a second one changes nothing.
  const std::string fresh = dir + "/fresh";
  REQUIRE(tosgate::test::RunTosgate("init " + fresh).exit_code == 0);
  tosgate::test::WriteFile(fresh + "/policy.test.yaml", "edited\n");
  auto again = tosgate::test::RunTosgate("init " + fresh);
  CHECK(again.exit_code == 1);
  CHECK(Slurp(fresh + "/policy.test.yaml") == "edited\n");
}

TEST_CASE("init: a path that is a file, or no directory at all, is refused") {
  const std::string dir = tosgate::test::TempDir();
  tosgate::test::WriteFile(dir + "/plain", "x");
  auto file = tosgate::test::RunTosgate("init " + dir + "/plain");
  CHECK(file.exit_code == 1);
  CHECK(Has(file.out, "is not a directory"));
  auto none = tosgate::test::RunTosgate("init");
  CHECK(none.exit_code == 2);
  CHECK(Has(none.out, "usage: tosgate init DIR"));
  CHECK(tosgate::test::RunTosgate("init --help").exit_code == 0);
}
