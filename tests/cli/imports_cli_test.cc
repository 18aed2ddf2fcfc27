// `imports:` through the CLI: the packs built into the binary compose into
// one set that validates, and every pack's own tests pass inside it as they
// pass alone (the "must show" of issue 23).
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>

#include "run_support.h"

using namespace tosgate::test;

namespace {

const char* const kPacks[] = {"default", "prohibited-use", "distillation", "rate-limits"};

const std::string kAllPacks = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: all-packs}
imports:
  - {pack: default}
  - {pack: prohibited-use}
  - {pack: distillation}
  - {pack: rate-limits}
settings:
  mode: enforce
  failure_mode: closed
  unmatched_operation: {action: deny, methods: [POST, PUT, PATCH], paths: ["/*"]}
identity:
  unknown_keys: {tier: free}
)";

// "N passed, M failed" lines of a test run's output, in order.
std::vector<std::pair<int, int>> Counts(const std::string& out) {
  std::vector<std::pair<int, int>> counts;
  const std::regex line(R"((\d+) passed, (\d+) failed)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it)
    counts.emplace_back(std::stoi((*it)[1]), std::stoi((*it)[2]));
  return counts;
}

}  // namespace

TEST_CASE("a set importing every built-in pack validates, and each pack's tests pass inside it") {
  const std::string dir = TempDir();
  WriteFile(dir + "/policy.yaml", kAllPacks);
  RunResult v = RunTosgate("validate " + dir);
  INFO(v.out);
  CHECK(v.exit_code == 0);
  CHECK(v.out.find(": ok (") != std::string::npos);

  RunResult t = RunTosgate("test " + dir);
  INFO(t.out);
  CHECK(t.exit_code == 0);
  const auto inside = Counts(t.out);
  // The set's own (no tests), one line per pack, then the total.
  REQUIRE(inside.size() == 2 + std::size(kPacks));
  for (size_t i = 0; i < std::size(kPacks); ++i) {
    INFO(kPacks[i]);
    CHECK(t.out.find(std::string("== pack:") + kPacks[i] + ", inside " + dir) != std::string::npos);
    // As many tests as the pack runs alone, all passing.
    RunResult alone = RunTosgate(std::string("test " TOSGATE_SOURCE_DIR "/policies/packs/") + kPacks[i]);
    INFO(alone.out);
    // Its first count is its own tests (a pack that imports others, like the
    // default, then runs theirs and a total).
    const auto counts = Counts(alone.out);
    REQUIRE(!counts.empty());
    CHECK(alone.exit_code == 0);
    CHECK(counts[0].first > 0);
    CHECK(inside[1 + i] == counts[0]);
  }
  CHECK(inside.back().second == 0);
  // Every rule of the set is covered by some pack's tests.
  CHECK(t.out.find(" rules of the set covered\n") != std::string::npos);
  CHECK(t.out.find("uncovered rules of the set") == std::string::npos);

  RunResult own = RunTosgate("test --no-imported-tests " + dir);
  CHECK(own.exit_code == 0);
  CHECK(Counts(own.out).size() == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("imports through the CLI: a path, and errors with their positions") {
  const std::string dir = TempDir();
  std::filesystem::create_directories(dir + "/set");
  WriteFile(dir + "/shared-ops.yaml", "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: ops}\n"
                                      "operations:\n  chat: {methods: [POST], paths: [/v1/chat/completions]}\n");
  WriteFile(dir + "/set/policy.yaml", "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: s}\n"
                                      "imports: [{path: ../shared-ops.yaml}, {pack: nope}]\n");
  RunResult v = RunTosgate("validate " + dir + "/set");
  INFO(v.out);
  CHECK(v.exit_code == 1);
  CHECK(v.out.find(dir + "/set/policy.yaml:4:46: imports[1].pack: unknown pack \"nope\"; the packs are: "
                         "default, distillation, prohibited-use, rate-limits") != std::string::npos);
  CHECK(v.out.find("1 error in policies") != std::string::npos);

  WriteFile(dir + "/set/policy.yaml", "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: s}\n"
                                      "imports: [{path: ../shared-ops.yaml}]\n");
  v = RunTosgate("validate " + dir + "/set");
  INFO(v.out);
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("(0 rules in 2 files") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("overrides of a built-in pack's rules through the CLI") {
  const std::string dir = TempDir();
  const std::string head = "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: s}\n"
                           "imports: [{pack: default}, {pack: distillation}]\n";
  WriteFile(dir + "/policy.yaml", head + "overrides:\n"
                                         "  - rule: distill.competitor-training\n"
                                         "    mode: shadow\n"
                                         "    thresholds: {deny: 0.97}\n"
                                         "  - {rule: rate.rpm, mode: off}\n");
  RunResult v = RunTosgate("validate " + dir);
  INFO(v.out);
  CHECK(v.exit_code == 0);
  // The pack's tests still pass inside the set: they see its rules as written.
  RunResult t = RunTosgate("test " + dir);
  INFO(t.out);
  CHECK(t.exit_code == 0);

  WriteFile(dir + "/policy.yaml", head + "overrides:\n"
                                         "  - rule: distill.competitor-training\n"
                                         "    thresholds: {deny: often}\n"
                                         "  - {rule: distill.nothing, mode: off}\n");
  v = RunTosgate("validate " + dir);
  INFO(v.out);
  CHECK(v.exit_code == 1);
  CHECK(v.out.find(dir + "/policy.yaml:7:24: overrides[0].thresholds.deny: expected a number") != std::string::npos);
  CHECK(v.out.find(dir + "/policy.yaml:8:12: overrides[1].rule: no rule \"distill.nothing\" in this "
                         "policy set") != std::string::npos);
  std::filesystem::remove_all(dir);
}
