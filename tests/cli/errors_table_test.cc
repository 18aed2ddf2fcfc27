// Runs every policy and file row of docs/errors.md's bad-input table through
// the tosgate binary and checks the exit code and what it prints.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/cli/run_support.h"
#include "tests/errors_table.h"

namespace tosgate::test {
namespace {

const std::string kPack = TOSGATE_SOURCE_DIR "/policies/packs/default";
const std::string kGoodRequest =
    R"({"method": "POST", "path": "/v1/chat/completions", "headers": )"
    R"({"authorization": "Bearer sk-1"}, "body": {"model": "m", "messages": []}})";

// The command that reads `row.input` as the file `row.where` names.
std::string CommandFor(const ErrorRow& row, const std::string& dir) {
  const std::string w = row.where;
  if (w == "policy file") {
    WriteFile(dir + "/p.yaml", row.input);
    return "validate " + dir;
  }
  if (w == "test file") {
    std::ifstream pack(kPack + "/policy.yaml");
    std::string policy((std::istreambuf_iterator<char>(pack)), std::istreambuf_iterator<char>());
    WriteFile(dir + "/policy.yaml", policy);
    WriteFile(dir + "/t.test.yaml", row.input);
    return "test " + dir;
  }
  if (w == "capture") {
    WriteFile(dir + "/c.jsonl", row.input + "\n");
    return "replay --policies " + kPack + " --capture " + dir + "/c.jsonl";
  }
  if (w == "request file") {
    WriteFile(dir + "/r.json", row.input);
    return "check --request " + dir + "/r.json";
  }
  if (w == "accounts file") {
    WriteFile(dir + "/r.json", kGoodRequest);
    WriteFile(dir + "/a.jsonl", row.input + "\n");
    return "check --request " + dir + "/r.json --accounts " + dir + "/a.jsonl";
  }
  if (w == "config file") {
    WriteFile(dir + "/c.yaml", row.input);
    return "serve --config " + dir + "/c.yaml";
  }
  FAIL("docs/errors.md:" << row.line << ": no command for where '" << w << "'");
  return "";
}

RunResult RunTosgateWithin(int seconds, const std::string& args) {
  const std::string cmd = "timeout " + std::to_string(seconds) + " " + TOSGATE_BINARY + " " +
                          args + " </dev/null 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST_CASE("errors table: every policy and file row gives the exit code and message it lists") {
  const std::vector<ErrorRow> rows = RowsOf({"policy", "file"});
  CHECK(rows.size() >= 10);
  for (const ErrorRow& row : rows) {
    INFO("docs/errors.md:" << row.line << " (" << row.where << "): " << row.input);
    const std::string dir = TempDir();
    const std::string cmd = CommandFor(row, dir);
    // A row that became valid input would run on (serve): `timeout` cuts it
    // off, and the exit code (124) fails the row instead of hanging the test.
    const RunResult r = RunTosgateWithin(20, cmd);
    INFO("output: " << r.out);
    REQUIRE(row.result.rfind("exit ", 0) == 0);
    CHECK(std::to_string(r.exit_code) == row.result.substr(5));
    CHECK(r.out.find(row.shows) != std::string::npos);
  }
}

}  // namespace
}  // namespace tosgate::test
