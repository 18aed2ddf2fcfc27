// The policy test runner behind `tosgate test`: runs the *.test.yaml files of
// a policy set against that set and reports, test by test, what passed.
//
// Each test starts from an empty state store and a FakeClock at 0 whose wall
// clock reads kTestWallStartMs (2026-01-01T00:00:00Z), so tests are
// independent; a step's `at` sets the clock to that offset from the start.
// Accounts of a test file are loaded into a MemoryAccountDirectory.
//
// policies/ does not know how the gateway turns a request into the engine's
// Request; the caller injects that as a RequestBuilder (the CLI uses
// api::RequestFromDescription, unit tests fill the Request by hand).
//
// Thread-safety: the functions keep no state; the builder is called from the
// calling thread only.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "engine/snapshot.h"
#include "policies/loader.h"
#include "policies/test_file.h"
#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::policies {

inline constexpr int64_t kTestWallStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

using RequestBuilder = std::function<Status(const TestRequest&, Request*)>;

struct TestReport {
  int passed = 0;
  int failed = 0;
  // Bad input: unreadable or malformed test files, policy errors, expected
  // rule ids the policy set does not have, requests the builder refused.
  std::vector<Diagnostic> errors;
  size_t rule_count = 0;               // rules in the policy set
  std::vector<std::string> uncovered;  // rule ids no decision matched, in policy order
  std::vector<std::string> test_files;

  // 0 all passed, 1 a test failed, 2 bad input (errors is not empty).
  int ExitCode() const { return !errors.empty() ? 2 : failed > 0 ? 1 : 0; }
};

// Runs test files given in memory as (name, content) against `snapshot`,
// writing one line per test to `out`, then "N passed, N failed" and the
// coverage line. Diagnostics also go to `out`.
TestReport RunPolicyTests(std::shared_ptr<const engine::PolicySnapshot> snapshot,
                          const std::vector<std::pair<std::string, std::string>>& test_files,
                          const RequestBuilder& build, std::ostream& out);

// Loads the policy set in `dir` (LoadPolicyDir with `options`) and runs
// every *.test.yaml / *.test.yml file under it, recursively, in sorted path
// order. Then, with `imported_tests`, the test files of every pack and
// directory the set imports, each against that import's rules as written
// inside the set (LoadOptions::only_import: the set's settings, identity,
// operations and lists; not the other imports' rules, nor the set's
// overrides), so a pack's tests show it still works where it is used. The
// report adds up every run.
TestReport RunPolicyTestDir(const std::string& dir, const RequestBuilder& build, std::ostream& out,
                            const LoadOptions& options = {}, bool imported_tests = true);

}  // namespace tosgate::policies
