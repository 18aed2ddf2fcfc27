// Checks over a policy set that loaded: mistakes the loader cannot call
// errors because the set is valid, but that almost certainly are not what the
// author meant. Each finding is a Diagnostic with Severity::kWarning:
//
//   - an attribute rule whose condition can never hold (an `all` with
//     contradictory comparisons on one field: eq two values, gt 5 and lt 3,
//     exists: false beside another comparison, ...);
//   - a rate_limit rule whose match.tiers names no tier it has a limit for;
//   - an attribute rule shadowed by an earlier enforced deny with the same
//     match and the same condition (it can never change a decision);
//   - per-tier limits out of order: a looser rate (requests per time) for a
//     lower tier than a higher one, in the order free < pro < enterprise.
//
// The checks are conservative: a warning means the problem is certain, not
// that every problem is found.
//
// Thread-safety: no state; any number of threads may run checks at once.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/snapshot.h"
#include "policies/loader.h"

namespace tosgate::policies {

// `files` are the set's policy files as (name, content), the names as the
// loader reported them; conditions and positions are read from them again,
// since a compiled rule keeps only "file:line". Warnings come in rule order.
std::vector<Diagnostic> SemanticChecks(
    const engine::PolicySnapshot& snapshot,
    const std::vector<std::pair<std::string, std::string>>& files);

// The same for a set loaded from a directory: reads `loaded.files` from disk.
// Returns nothing when the set did not load.
std::vector<Diagnostic> SemanticChecks(const LoadResult& loaded);

}  // namespace tosgate::policies
