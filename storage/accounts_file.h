// Accounts from a JSON Lines file (DESIGN.md, "Traffic files"): one account
// per line,
//
//   {"id": "acct_17", "org": "org_4", "tier": "pro", "country": "US",
//    "flags": [], "created": 1763000000000, "payment_fingerprint": "pf_9",
//    "keys": ["sk-live-..."]}
//
// `id` is required; the other members are optional. `keys` are API key
// secrets: each becomes its key id (engine::KeyId, hex SHA-256) and the
// secret is not kept. Files that should not hold secrets may give
// `key_ids` (64 lower-case hex digits each) instead or as well. `suspended`
// (boolean) is accepted too. Blank lines are skipped. Unknown members,
// repeated account ids and a key that belongs to two accounts are errors,
// so a typo cannot silently change who an account is.
//
// Safe from any thread (it only reads the file).
#pragma once

#include <string>
#include <vector>

#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// The accounts in file order. NotFound when the file does not exist;
// InvalidArgument naming "<path>:<line>: <problem>" for the first bad line.
Result<std::vector<Account>> LoadAccountsJsonl(const std::string& path);

}  // namespace tosgate::storage
