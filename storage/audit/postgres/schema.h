// The fleet audit store's schema in PostgreSQL (docs/scaling.md, "Fleet
// audit on PostgreSQL"): tosgate_meta and tosgate_decisions, the SQLite
// store's `decisions` columns with the writing gateway's `instance` first.
// Each instance's rows form their own hash chain (storage/audit/chain.h),
// seq 1..n. Shared by the writer (storage/audit/postgres/sink) and the readers.
#pragma once

#include <libpq-fe.h>

#include <cstdint>

#include "tosgate/status.h"

namespace tosgate::storage {

// tosgate_meta's schema_version of a store this code writes.
inline constexpr int kPostgresAuditSchemaVersion = 1;

// The lock EnsurePostgresAuditSchema holds for its transaction, so that
// gateways starting at once do not race to create the tables.
inline constexpr int64_t kPostgresSchemaLockKey = 0x746f7367617465;  // "tosgate"

// Every column of tosgate_decisions in table order, for SELECT and COPY.
extern const char kPostgresDecisionColumns[];

// The columns of tosgate_traces and of tosgate_costs, for COPY.
extern const char kPostgresTraceColumns[];
extern const char kPostgresCostColumns[];

// Creates the tables and indexes if missing (idempotent, one transaction
// under an advisory lock), or checks that existing ones are a tosgate audit
// store of a version this code understands. Errors name the connection: a
// newer schema_version, a tosgate_decisions table with other columns, or
// no right to create tables.
Status EnsurePostgresAuditSchema(PGconn* conn);

}  // namespace tosgate::storage
