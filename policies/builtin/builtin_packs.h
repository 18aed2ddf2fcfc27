// The packs of policies/packs/* built into the binary, by directory name:
// default, distillation, prohibited-use, rate-limits. `imports:
// [{pack: NAME}]` resolves through BuiltinPacks() in the CLI and the server.
#pragma once

#include <string>

#include "policies/pack_resolver.h"

namespace tosgate::policies {

// The built-in packs; one instance for the process, read-only.
const PackResolver& BuiltinPacks();

// Packs in the sub-directories of `dir` (--packs-dir): a pack NAME is
// dir/NAME; a name found there wins over a built-in pack of that name, so a
// pack can be tried out before it is built in. Files are read on each Find.
class DirPackResolver : public PackResolver {
 public:
  DirPackResolver(std::string dir, const PackResolver* fallback) : dir_(std::move(dir)), fallback_(fallback) {}
  bool Find(std::string_view name, PackFiles* files) const override;
  std::vector<std::string> Names() const override;

 private:
  std::string dir_;
  const PackResolver* fallback_;
};

}  // namespace tosgate::policies
