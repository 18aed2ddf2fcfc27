// policies/schema.json, built into the binary (cli/CMakeLists.txt) so that
// `tosgate init` can put a copy beside the policy files it writes.
#pragma once

#include <string_view>

namespace tosgate::cli {

std::string_view PolicySchemaJson();

}  // namespace tosgate::cli
