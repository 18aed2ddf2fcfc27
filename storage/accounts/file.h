// Accounts from a JSON Lines file (docs/accounts.md, "import"): one account
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
// The line format itself is storage/accounts/account_json.h. Safe from any thread
// (it only reads the file).
#pragma once

#include <string>
#include <vector>

#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// The accounts in file order. NotFound when the file does not exist;
// InvalidArgument naming "<path>:<line>: <problem>" for the first bad line.
Result<std::vector<Account>> LoadAccountsJsonl(const std::string& path);

// Every line of a file, good and bad: for importers that report all
// problems at once rather than the first.
struct AccountsFile {
  struct Line {
    size_t line = 0;  // 1-based line number in the file
    Account account;
  };
  struct Problem {
    size_t line = 0;
    std::string message;  // "<path>:<line>: <problem>"
  };
  std::vector<Line> accounts;     // the good lines, in file order
  std::vector<Problem> problems;  // one per bad line, in file order
};
// NotFound / IoError only when the file cannot be read; bad lines (including
// a repeated account id or a key given twice) go to `problems`.
Result<AccountsFile> ReadAccountsJsonl(const std::string& path);

}  // namespace tosgate::storage
