// POST /v1/usage: a proxy plugin (or the upstream) reports what a request
// used, so that its token reservation is reconciled and its concurrency
// leases are released:
//
//   {"decision_id": "019b...", "input_tokens": 812, "output_tokens": 430}
//
// Token counts are optional (a report without them only completes the
// request). Pure function, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "engine/engine.h"
#include "tosgate/status.h"

namespace tosgate::api {

// InvalidArgument naming the problem when `body` is not such an object.
Status ParseUsageReport(std::string_view body, std::string* decision_id, engine::Usage* usage);

}  // namespace tosgate::api
