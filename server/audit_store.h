// The audit store a reader opens: an SQLite file or a fleet's PostgreSQL
// trail, behind one AuditReadStore (query, export, stats). `tosgate audit`
// chooses it with --db / --dsn (cli/audit_store.h); serve's admin API reads
// the store it writes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "storage/audit/query.h"
#include "tosgate/status.h"

namespace tosgate::server {

struct AuditStoreArg {
  std::string db;   // SQLite file, when dsn is empty
  std::string dsn;  // PostgreSQL, when set
};

// Opens the store. `note` receives what an SQLite open has to say (indexes
// being built on an old file); may be empty.
Result<std::unique_ptr<storage::AuditReadStore>> OpenAuditStore(
    const AuditStoreArg& store, bool build_indexes, std::function<void(const std::string&)> note);

}  // namespace tosgate::server
