// tosgate validate DIR...: loads each policy directory and prints every error.
#include <iostream>

#include "cli/commands.h"
#include "cli/policy_source.h"

namespace tosgate::cli {

int RunValidate(const Args& args) {
  if (args.empty()) {
    std::cerr << "usage: tosgate validate DIR...\n";
    return 2;
  }
  size_t errors = 0;
  for (const std::string& dir : args) {
    if (dir.rfind("--", 0) == 0) {
      std::cerr << "tosgate validate: unknown option " << dir << "\n";
      return 2;
    }
    policies::LoadResult r = LoadPolicySource(dir);
    errors += ReportPolicyErrors(r);
    if (r.errors.empty())
      std::cout << dir << ": ok (" << r.snapshot->rules.size() << " rules in " << r.files.size()
                << (r.files.size() == 1 ? " file" : " files") << ", revision "
                << r.snapshot->revision << ")\n";
  }
  return errors ? 1 : 0;
}

}  // namespace tosgate::cli
