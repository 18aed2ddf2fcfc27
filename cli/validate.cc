// tosgate validate [--strict] DIR...: loads each policy directory and prints
// every error, then the warnings of the semantic checks (rules that can never
// match, shadowed rules, per-tier limits out of order). Warnings alone exit 0
// unless --strict is given.
#include <iostream>

#include "cli/commands.h"
#include "server/policy_source.h"
#include "policies/semantic_checks.h"

namespace tosgate::cli {

int RunValidate(const Args& args) {
  bool strict = false;
  std::vector<std::string> dirs;
  for (const std::string& arg : args) {
    if (arg == "--strict") {
      strict = true;
    } else if (arg.rfind("--", 0) == 0) {
      std::cerr << "tosgate validate: unknown option " << arg << "\n";
      return 2;
    } else {
      dirs.push_back(arg);
    }
  }
  if (dirs.empty()) {
    std::cerr << "usage: tosgate validate [--strict] DIR...\n";
    return 2;
  }
  size_t errors = 0, warnings = 0;
  for (const std::string& dir : dirs) {
    policies::LoadResult r = server::LoadPolicySource(dir);
    errors += server::ReportPolicyErrors(r);
    if (!r.errors.empty()) continue;
    const std::vector<policies::Diagnostic> found = policies::SemanticChecks(r);
    for (const policies::Diagnostic& d : found) std::cerr << d.ToString() << "\n";
    warnings += found.size();
    std::cout << dir << ": ok (" << r.snapshot->rules.size() << " rules in " << r.files.size()
              << (r.files.size() == 1 ? " file" : " files") << ", revision " << r.snapshot->revision
              << ")";
    if (!found.empty())
      std::cout << ", " << found.size() << (found.size() == 1 ? " warning" : " warnings");
    std::cout << "\n";
  }
  if (errors) return 1;
  return strict && warnings ? 1 : 0;
}

}  // namespace tosgate::cli
