// libpq helpers and the fleet audit schema against a real PostgreSQL.
#include <doctest/doctest.h>

#include <string>

#include "storage/audit/postgres/schema.h"
#include "storage/audit/postgres/util.h"
#include "tests/storage/postgres_server.h"

namespace tosgate::storage {
namespace {

using test::PostgresAvailable;
using test::PostgresServer;

TEST_CASE("RedactDsn hides the password in both DSN forms") {
  const std::string kv = RedactDsn("host=db.example port=5433 user=gw password=s3cret dbname=audit");
  CHECK(kv.find("s3cret") == std::string::npos);
  CHECK(kv.find("password=***") != std::string::npos);
  CHECK(kv.find("host=db.example") != std::string::npos);
  const std::string uri = RedactDsn("postgresql://gw:s3cret@db.example:5433/audit");
  CHECK(uri.find("s3cret") == std::string::npos);
  CHECK(uri.find("user=gw") != std::string::npos);
  CHECK(uri.find("port=5433") != std::string::npos);
  CHECK(RedactDsn("postgresql://gw:s3cret@[::1/audit") == "<unparseable DSN>");
}

TEST_CASE("ConnectPostgres: a malformed DSN is a configuration error without its password") {
  auto c = ConnectPostgres("host=x nonsense_option=1 password=s3cret");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Status::Code::kInvalidArgument);
  CHECK(c.status().message().find("s3cret") == std::string::npos);
  CHECK(c.status().message().find("nonsense_option") != std::string::npos);
  auto u = ConnectPostgres("postgresql://gw:s3cret@[::1/audit");
  REQUIRE_FALSE(u.ok());
  CHECK(u.status().code() == Status::Code::kInvalidArgument);
  CHECK(u.status().message().find("s3cret") == std::string::npos);
}

TEST_CASE("ConnectPostgres: nothing listening is Unavailable and names host and port") {
  const int port = test::FreeLoopbackPorts(1).at(0);
  auto c = ConnectPostgres("host=127.0.0.1 port=" + std::to_string(port) +
                           " user=gw dbname=audit password=s3cret connect_timeout=2");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Status::Code::kUnavailable);
  const std::string& m = c.status().message();
  CHECK(m.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(m.find("gw@") != std::string::npos);
  CHECK(m.find("/audit") != std::string::npos);
  CHECK(m.find("s3cret") == std::string::npos);
}

TEST_CASE("ConnectPostgres: a wrong password is an authentication error naming the user") {
  if (!PostgresAvailable()) return;
  PostgresServer pg("right-password");
  auto good = ConnectPostgres(pg.Dsn());
  REQUIRE_MESSAGE(good.ok(), good.status().message());
  auto bad = ConnectPostgres(pg.DsnWithPassword("wrong-password"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  const std::string& m = bad.status().message();
  CHECK(m.find("authentication failed") != std::string::npos);
  CHECK(m.find("tosgate@127.0.0.1:" + std::to_string(pg.port()) + "/postgres") !=
        std::string::npos);
  CHECK(m.find("wrong-password") == std::string::npos);
}

TEST_CASE("EnsurePostgresAuditSchema creates once, is idempotent, and refuses a foreign table") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  auto c = ConnectPostgres(pg.Dsn());
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  REQUIRE(EnsurePostgresAuditSchema(c->get()).ok());
  Status again = EnsurePostgresAuditSchema(c->get());
  REQUIRE_MESSAGE(again.ok(), again.message());
  auto v = PgExec(c->get(), "SELECT value FROM tosgate_meta WHERE key = 'schema_version'", "t");
  REQUIRE(v.ok());
  CHECK(PgText(v->get(), 0, 0) == "1");
  const std::string select =
      "SELECT " + std::string(kPostgresDecisionColumns) + " FROM tosgate_decisions";
  auto cols = PgExec(c->get(), select.c_str(), "t");
  REQUIRE(cols.ok());
  CHECK(PQnfields(cols->get()) == 25);

  // A newer schema version is refused, naming both versions.
  REQUIRE(PgExec(c->get(), "UPDATE tosgate_meta SET value = '2' WHERE key = 'schema_version'", "t")
              .ok());
  Status newer = EnsurePostgresAuditSchema(c->get());
  CHECK(newer.code() == Status::Code::kInvalidArgument);
  CHECK(newer.message().find("schema version 2") != std::string::npos);

  // A tosgate_decisions table that someone else made is not written into.
  REQUIRE(PgExec(c->get(), "DROP TABLE tosgate_meta, tosgate_decisions", "t").ok());
  REQUIRE(PgExec(c->get(), "CREATE TABLE tosgate_decisions (x int)", "t").ok());
  Status foreign = EnsurePostgresAuditSchema(c->get());
  CHECK(foreign.code() == Status::Code::kInvalidArgument);
  CHECK(foreign.message().find("not a tosgate audit store") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
