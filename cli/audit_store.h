// Which audit store a `tosgate audit` command reads: an SQLite file (--db,
// the default var/tosgate.db) or a fleet's PostgreSQL database (--dsn, or
// the TOSGATE_AUDIT_DSN environment variable when neither flag is given).
#pragma once

#include <memory>
#include <string>

#include "cli/commands.h"
#include "storage/audit/query.h"

namespace tosgate::cli {

struct AuditStoreArg {
  std::string db;   // SQLite file, when dsn is empty
  std::string dsn;  // PostgreSQL, when set
};

// Takes --db and --dsn out of `args`. False (after saying why on stderr)
// when both are given or one lacks its value.
bool TakeAuditStore(Args* args, AuditStoreArg* out);

// Opens the store for query, export and stats; prints why not and returns
// null (exit 2: bad input, or a database that cannot be reached).
std::unique_ptr<storage::AuditReadStore> OpenAuditStore(const AuditStoreArg& store,
                                                        bool build_indexes);

}  // namespace tosgate::cli
