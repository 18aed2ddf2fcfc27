// tosgate test DIR...: runs the *.test.yaml files of each policy set against
// it (policies/test_runner.h), turning each described request into the
// engine's Request exactly as the forward-auth endpoint would.
#include <algorithm>
#include <iostream>

#include "api/request/request_description.h"
#include "cli/commands.h"
#include "policies/test_runner.h"

namespace tosgate::cli {

int RunTest(const Args& args) {
  if (args.empty() || std::any_of(args.begin(), args.end(), [](const std::string& a) { return a.rfind("-", 0) == 0; })) {
    std::cerr << "usage: tosgate test DIR...\n";
    return 2;
  }
  const policies::RequestBuilder build = &api::RequestFromTest;
  int code = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args.size() > 1) std::cout << (i ? "\n" : "") << "== " << args[i] << "\n";
    const policies::TestReport report = policies::RunPolicyTestDir(args[i], build, std::cout);
    code = std::max(code, report.ExitCode());
  }
  return code;
}

}  // namespace tosgate::cli
