// One decision by its id, for the admin API's GET /v1/admin/decisions/{id}.
// The id is bound as a parameter. There is no index on id (the writer pays
// for every index on every insert), so this scans: fine for an operator's
// look-up, not for a hot path. Safe from any thread; opens the file read-only.
#pragma once

#include <string>
#include <string_view>

#include "storage/audit/reader.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// NotFound when the store or the decision does not exist.
Result<StoredDecision> FindDecision(const std::string& path, std::string_view id);

}  // namespace tosgate::storage
