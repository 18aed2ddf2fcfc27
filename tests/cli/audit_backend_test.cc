// serve's audit.backend: configuration errors name the key, and a
// PostgreSQL that cannot be reached stops serve with one line naming the
// server, never the password. (The sink itself: tests/storage/postgres_audit_test.cc.)
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run_support.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

TEST_CASE("serve: audit.backend postgres needs audit.dsn, and signed checkpoints need sqlite") {
  const std::string dir = TempDir();
  WriteFile(dir + "/c.yaml", "listen: {gateway: 127.0.0.1:0, admin: 127.0.0.1:0}\n"
                             "audit: {backend: postgres, signing_key: k.pem}\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/c.yaml:2:8: audit.dsn: is required with backend: postgres") !=
        std::string::npos);
  CHECK(r.out.find("audit.signing_key: signed checkpoints need backend: sqlite") !=
        std::string::npos);

  WriteFile(dir + "/d.yaml", "audit: {backend: mysql}\n");
  auto other = RunTosgate("serve --config " + dir + "/d.yaml");
  CHECK(other.exit_code == 2);
  CHECK(other.out.find("audit.backend: must be one of sqlite, postgres") != std::string::npos);
}

TEST_CASE("serve: an unreachable PostgreSQL audit store stops serve naming it, not the password") {
  // A port nothing listens on: bound, never listened, closed after the run.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  const std::string dir = TempDir();
  WriteFile(dir + "/c.yaml",
            "listen: {gateway: 127.0.0.1:0, admin: 127.0.0.1:0}\n"
            "admin: {db: " + dir + "/admin.db}\n"
            "audit: {backend: postgres, instance: gw-1, dsn: 'host=127.0.0.1 port=" + port +
                " dbname=audit user=gw password=hunter2'}\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  close(fd);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("audit store: PostgreSQL gw@127.0.0.1:" + port + "/audit: cannot connect") !=
        std::string::npos);
  CHECK(r.out.find("hunter2") == std::string::npos);
}
