#include "storage/audit/postgres/util.h"

#include <algorithm>
#include <memory>

namespace tosgate::storage {
namespace {

struct ConninfoFreer {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using Conninfo = std::unique_ptr<PQconninfoOption, ConninfoFreer>;

// libpq's messages end in newlines and may span lines ("connection to
// server ... failed: ...\n\tIs the server running ..."): one line for logs.
std::string OneLine(std::string_view m) {
  std::string out;
  bool space = false;
  for (char c : m) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The user:password part of a URI DSN ("" if none), so that a parse error
// quoting the DSN can be scrubbed of it.
std::string UriUserinfo(std::string_view dsn) {
  const size_t scheme = dsn.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = dsn.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  const size_t at = rest.rfind('@');
  return at == std::string_view::npos ? "" : std::string(rest.substr(0, at));
}

std::string ReplaceAll(std::string s, const std::string& what, std::string_view with) {
  if (what.empty()) return s;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size()))
    s.replace(p, what.size(), with);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string RedactDsn(std::string_view dsn) {
  char* err = nullptr;
  Conninfo opts(PQconninfoParse(std::string(dsn).c_str(), &err));
  if (err) PQfreemem(err);
  if (!opts) return "<unparseable DSN>";
  std::string out;
  for (const PQconninfoOption* o = opts.get(); o->keyword; ++o) {
    if (!o->val) continue;
    if (!out.empty()) out.push_back(' ');
    out += o->keyword;
    out.push_back('=');
    if (std::string_view(o->keyword) == "password") {
      out += "***";
      continue;
    }
    const std::string_view v = o->val;
    const bool quote = v.empty() || v.find_first_of(" '\\") != std::string_view::npos;
    if (quote) out.push_back('\'');
    for (char c : v) {
      if (quote && (c == '\'' || c == '\\')) out.push_back('\\');
      out.push_back(c);
    }
    if (quote) out.push_back('\'');
  }
  return out;
}

std::string PgDescribe(const PGconn* conn) {
  if (!conn) return "PostgreSQL";
  auto str = [](const char* s) { return std::string(s ? s : ""); };
  PGconn* c = const_cast<PGconn*>(conn);  // libpq's getters take non-const
  std::string host = str(PQhost(c));
  if (host.empty() || host[0] == '/') host = host.empty() ? "localhost" : "[socket " + host + "]";
  return "PostgreSQL " + str(PQuser(c)) + "@" + host + ":" + str(PQport(c)) + "/" + str(PQdb(c));
}

Result<PgConn> ConnectPostgres(const std::string& dsn, std::chrono::seconds connect_timeout) {
  // Parse first: a malformed DSN is a configuration error, said as such.
  char* err = nullptr;
  Conninfo parsed(PQconninfoParse(dsn.c_str(), &err));
  if (!parsed) {
    std::string why = err ? OneLine(err) : "out of memory";
    if (err) PQfreemem(err);
    why = ReplaceAll(std::move(why), UriUserinfo(dsn), "***");
    return Status::InvalidArgument("PostgreSQL DSN " + RedactDsn(dsn) + " is not valid: " + why);
  }
  // Earlier keywords are defaults the expanded DSN (dbname) may override.
  const std::string timeout = std::to_string(std::max<int64_t>(connect_timeout.count(), 1));
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "tosgate", dsn.c_str(), nullptr};
  PgConn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return Status::Internal("PostgreSQL: out of memory while connecting");
  if (PQstatus(conn.get()) == CONNECTION_OK) {
    // Server NOTICEs ("relation already exists, skipping") would go to
    // stderr; nothing here acts on them.
    PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
    return conn;
  }

  const std::string why = OneLine(PQerrorMessage(conn.get()));
  const std::string where = PgDescribe(conn.get());
  if (Contains(why, "authentication failed") || Contains(why, "no password supplied") ||
      Contains(why, "pg_hba.conf") || PQconnectionUsedPassword(conn.get())) {
    return Status::InvalidArgument(where + ": authentication failed (check the user and "
                                   "password): " + why);
  }
  // Values libpq checks only when connecting ("invalid port number").
  if (Contains(why, "does not exist") || Contains(why, "invalid"))
    return Status::InvalidArgument(where + ": " + why);
  return Status::Unavailable(where + ": cannot connect: " + why);
}

bool PgConnectionLost(const PGconn* conn) {
  return !conn || PQstatus(conn) != CONNECTION_OK;
}

Status PgStatus(const PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg = PgDescribe(conn) + ": " + std::string(what) + ": ";
  const char* server = res ? PQresultErrorMessage(res) : nullptr;
  if (!server || !*server) server = PQerrorMessage(const_cast<PGconn*>(conn));
  msg += OneLine(server ? server : "unknown error");
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view code = state ? state : "";
  if (PgConnectionLost(conn) || code.empty()) return Status::Unavailable(std::move(msg));
  const std::string_view cls = code.substr(0, 2);
  if (cls == "08" || cls == "57" || cls == "40" || code == "55P03")
    return Status::Unavailable(std::move(msg));
  if (cls == "53" || cls == "58") return Status::IoError(std::move(msg));
  if (cls == "42" || cls == "22" || cls == "23") return Status::InvalidArgument(std::move(msg));
  return Status::Internal(std::move(msg));
}

namespace {
Result<PgResult> Checked(PGconn* conn, PgResult r, std::string_view what) {
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return PgStatus(conn, r.get(), what);
}
}  // namespace

Result<PgResult> PgExec(PGconn* conn, const char* sql, std::string_view what) {
  return Checked(conn, PgResult(PQexec(conn, sql)), what);
}

Result<PgResult> PgExecParams(PGconn* conn, const char* sql, int n, const char* const* values,
                              std::string_view what) {
  return Checked(conn, PgResult(PQexecParams(conn, sql, n, nullptr, values, nullptr, nullptr, 0)),
                 what);
}

std::string PgBytea(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return "";
  const char* v = PQgetvalue(r, row, col);
  const size_t n = static_cast<size_t>(PQgetlength(r, row, col));
  if (n < 2 || v[0] != '\\' || v[1] != 'x' || n % 2) return "";
  std::string out;
  out.reserve((n - 2) / 2);
  for (size_t i = 2; i < n; i += 2) {
    const int hi = HexValue(v[i]), lo = HexValue(v[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace tosgate::storage
