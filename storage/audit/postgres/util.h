// Small helpers around libpq for storage/'s PostgreSQL code: owning handles,
// connecting with errors that say where and why (never the password), and
// turning a failed result into a Status. Only the tosgate_postgres library
// includes this (and so libpq-fe.h).
//
// Thread-safety: a PGconn is used by one thread at a time; the functions
// here are otherwise free of shared state.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::storage {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;
using PgResult = std::unique_ptr<PGresult, PgResultClearer>;

// `dsn` (key=value or postgres:// URI) with any password replaced by ***,
// as key=value pairs, for logs and errors. A DSN libpq cannot parse becomes
// "<unparseable DSN>": it might hold a password in a form we cannot find.
std::string RedactDsn(std::string_view dsn);

// "PostgreSQL <user>@<host>:<port>/<db>" for an open (or failed) connection.
std::string PgDescribe(const PGconn* conn);

// Connects and checks the connection. Errors:
//   InvalidArgument: the DSN does not parse, or the server refused the
//     user, password or database (authentication failed, no such database);
//   Unavailable: nothing answers (refused, unreachable, timed out).
// The message names host, port, database and user, never the password.
// `connect_timeout` applies unless the DSN sets its own.
Result<PgConn> ConnectPostgres(const std::string& dsn,
                               std::chrono::seconds connect_timeout = std::chrono::seconds(10));

// A Status for a failed command on `conn` (`res` may be null): connection
// lost, server shutting down, serialization or lock timeouts -> Unavailable;
// disk full and other resource shortages -> IoError; syntax, undefined
// table or column, constraint violations -> InvalidArgument; else Internal.
// The message is "<PgDescribe>: <what>: <server message>".
Status PgStatus(const PGconn* conn, const PGresult* res, std::string_view what);

// Whether the connection is gone (the server closed it or the socket died).
bool PgConnectionLost(const PGconn* conn);

// Runs `sql` (no parameters) and returns its result when it succeeded
// (PGRES_COMMAND_OK or PGRES_TUPLES_OK), else PgStatus.
Result<PgResult> PgExec(PGconn* conn, const char* sql, std::string_view what);

// PgExec with text parameters ($1, $2, ...); null pointers are SQL NULL.
Result<PgResult> PgExecParams(PGconn* conn, const char* sql, int n, const char* const* values,
                              std::string_view what);

// Text of a cell ("" for NULL).
inline std::string PgText(const PGresult* r, int row, int col) {
  return PQgetisnull(r, row, col) ? std::string()
                                  : std::string(PQgetvalue(r, row, col),
                                                static_cast<size_t>(PQgetlength(r, row, col)));
}

// A bytea cell in text format ("\x0a1b...") decoded to raw bytes; "" for
// NULL or anything else.
std::string PgBytea(const PGresult* r, int row, int col);

}  // namespace tosgate::storage
