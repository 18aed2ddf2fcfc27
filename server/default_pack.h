// The default policy pack, built into the binary (see server/CMakeLists.txt).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tosgate::server {
// (file name, content) of every policy file of policies/packs/default.
std::vector<std::pair<std::string, std::string>> DefaultPackFiles();
}  // namespace tosgate::server
