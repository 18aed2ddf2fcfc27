// tosgate test [--no-imported-tests] DIR...: runs the *.test.yaml files of each policy set against
// it (policies/test_runner.h), turning each described request into the
// engine's Request exactly as the forward-auth endpoint would.
#include <algorithm>
#include <iostream>

#include "api/request/request_description.h"
#include "cli/commands.h"
#include "policies/test_runner.h"
#include "server/policy_source.h"

namespace tosgate::cli {

int RunTest(const Args& args) {
  bool imported_tests = true;
  Args dirs;
  bool bad = false;
  for (const std::string& a : args) {
    if (a == "--no-imported-tests") imported_tests = false;
    else if (a.rfind("-", 0) == 0) bad = true;
    else dirs.push_back(a);
  }
  if (dirs.empty() || bad) {
    std::cerr << "usage: tosgate test [--no-imported-tests] DIR...\n";
    return 2;
  }
  const policies::RequestBuilder build = &api::RequestFromTest;
  int code = 0;
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (dirs.size() > 1) std::cout << (i ? "\n" : "") << "== " << dirs[i] << "\n";
    const policies::TestReport report = policies::RunPolicyTestDir(
        dirs[i], build, std::cout, server::PolicyLoadOptions(), imported_tests);
    code = std::max(code, report.ExitCode());
  }
  return code;
}

}  // namespace tosgate::cli
