// Unified line diffs between two policy versions (`diff -u` style), for
// GET /v1/admin/policies/{id}/diff. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tosgate::api::admin {

// The unified diff of one file, with `context` lines around each change and
// "--- a/<name>" / "+++ b/<name>" headers; "" when the texts are equal. A
// side that is absent (file added or deleted) is passed as nullptr.
std::string UnifiedDiff(const std::string& name, const std::string* before, const std::string* after,
                        int context = 3);

// Every file of both sets, by name: added, deleted and changed files.
std::string DiffFileSets(const std::vector<std::pair<std::string, std::string>>& before,
                         const std::vector<std::pair<std::string, std::string>>& after);

}  // namespace tosgate::api::admin
