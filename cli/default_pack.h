// The default policy pack, built into the binary (see cli/CMakeLists.txt).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tosgate::cli {
// (file name, content) of every policy file of policies/packs/default.
std::vector<std::pair<std::string, std::string>> DefaultPackFiles();
}  // namespace tosgate::cli
