// Policy test files (*.test.yaml): parsed into plain structs, strictly.
//
// An unknown key, a value of the wrong type, a bad duration or a missing
// required key becomes a Diagnostic naming file, line, column and key path,
// as the policy loader does. Nothing throws out of ParseTestFile; yaml-cpp's
// exceptions are caught inside. docs/policy-testing.md describes the format.
//
// Thread-safety: plain values and a stateless function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policies/loader.h"
#include "tosgate/request.h"

namespace tosgate::policies {

// A request as a test describes it. The injected builder (see test_runner.h)
// turns it into the engine's Request, as the gateway would.
struct TestRequest {
  std::string method = "POST";
  std::string path = "/";
  std::string key;  // the API key secret; empty for none
  std::string client_ip = "127.0.0.1";
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  std::string body;  // JSON text converted from the YAML body; empty for none
};

// Where a value was written, for messages about it.
struct TestLocation {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string key;  // dotted path, e.g. "tests[1].expect.rules[0]"
};

// What one step expects; an absent field is not checked.
struct TestExpect {
  std::optional<std::string> effect;  // "allow", "throttle", "deny"
  std::optional<std::vector<std::string>> rules;
  std::vector<TestLocation> rule_locations;  // one per entry of `rules`
  std::optional<int> status;
  std::optional<std::string> reason;
  std::vector<std::pair<std::string, std::string>> headers;  // name: exact value
  std::optional<int64_t> delay_ns;  // delay mode: how long the request is held
};

// Usage reported for each admitted request of a step right after it, as the
// upstream would (POST /v1/usage); -1 leaves the reservation as estimated.
struct TestUsage {
  int64_t input_tokens = -1;
  int64_t output_tokens = -1;
  // Parts cost budgets price apart (engine::Usage).
  int64_t cached_input_tokens = -1;
  int64_t cache_write_tokens = -1;
  int64_t reasoning_tokens = -1;
};

struct TestStep {
  int repeat = 1;
  int64_t at_ns = 0;  // offset from the test's start
  TestRequest request;
  TestExpect expect;
  std::optional<TestUsage> usage;
  TestLocation where;  // the step (or the test, for a single request)
};

struct PolicyTest {
  std::string name;
  std::vector<TestStep> steps;
  TestLocation where;
};

struct TestFile {
  std::string file;
  std::vector<Account> accounts;  // key_ids hold engine::KeyId of each key
  std::vector<PolicyTest> tests;
};

// Parses one test file's content; `file` names it in diagnostics. Appends
// every problem found to `errors`; the result is meaningful only when none
// were added.
TestFile ParseTestFile(const std::string& file, const std::string& content,
                       std::vector<Diagnostic>* errors);

}  // namespace tosgate::policies
