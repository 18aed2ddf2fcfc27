// tosgate doctor: a configuration that is right passes every check; each
// thing it checks, made wrong, fails with a line naming the key and a fix;
// a configuration that does not load is exit 2.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/cli/run_support.h"
#include "tests/integration/process_support.h"

namespace tosgate::test {
namespace {

// A serve.yaml on free loopback ports with its stores in `dir`, plus `extra`.
std::string Config(const std::string& dir, const std::vector<int>& ports, const std::string& extra = "") {
  return "listen: {gateway: 127.0.0.1:" + std::to_string(ports[0]) + ", admin: 127.0.0.1:" +
         std::to_string(ports[1]) + "}\naudit: {path: " + dir + "/var/audit.db}\nadmin: {db: " + dir +
         "/var/admin.db}\n" + extra;
}

TEST_CASE("doctor: a sound configuration passes, with a line per check") {
  const std::string dir = TempDir();
  const std::vector<int> ports = FreeLoopbackPorts(2);
  WriteFile(dir + "/serve.yaml", Config(dir, ports));
  const RunResult r = RunTosgate("doctor --config " + dir + "/serve.yaml");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok    config: " + dir + "/serve.yaml loads") != std::string::npos);
  CHECK(r.out.find("ok    policies: the built-in default pack:") != std::string::npos);
  CHECK(r.out.find("ok    port: listen.gateway 127.0.0.1:" + std::to_string(ports[0]) + " is free") !=
        std::string::npos);
  CHECK(r.out.find("ok    store: audit.path " + dir + "/var/audit.db can be created") != std::string::npos);
  CHECK(r.out.find("tosgate doctor: 0 failed") != std::string::npos);
}

TEST_CASE("doctor: a port in use fails with how to find its holder") {
  const std::string dir = TempDir();
  const std::vector<int> ports = FreeLoopbackPorts(2);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(ports[0]));
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(fd, 1) == 0);
  WriteFile(dir + "/serve.yaml", Config(dir, ports));
  const RunResult r = RunTosgate("doctor --config " + dir + "/serve.yaml");
  close(fd);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("FAIL  port: listen.gateway 127.0.0.1:" + std::to_string(ports[0]) +
                   ": Address already in use") != std::string::npos);
  CHECK(r.out.find("fix: stop what holds it (ss -ltnp 'sport = :" + std::to_string(ports[0]) + "'") !=
        std::string::npos);
  CHECK(r.out.find("ok    port: listen.admin") != std::string::npos);
  CHECK(r.out.find("tosgate doctor: 1 failed") != std::string::npos);
}

TEST_CASE("doctor: a store where no folder can be made, and policies that do not load") {
  const std::string dir = TempDir();
  const std::vector<int> ports = FreeLoopbackPorts(2);
  WriteFile(dir + "/plain-file", "not a folder\n");
  std::filesystem::create_directories(dir + "/policies");
  WriteFile(dir + "/policies/bad.yaml", "apiVersion: tosgate/v1\nkind: Policy\nrules: [{id: x, kind: nope}]\n");
  WriteFile(dir + "/serve.yaml", "listen: {gateway: 127.0.0.1:" + std::to_string(ports[0]) +
                                     ", admin: 127.0.0.1:" + std::to_string(ports[1]) + "}\naudit: {path: " +
                                     dir + "/plain-file/audit.db}\nadmin: {db: " + dir +
                                     "/admin.db}\npolicies: {dir: " + dir + "/policies}\n");
  const RunResult r = RunTosgate("doctor --config " + dir + "/serve.yaml");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("FAIL  store: audit.path " + dir + "/plain-file/audit.db: " + dir +
                   "/plain-file is not a folder") != std::string::npos);
  CHECK(r.out.find("ok    store: admin.db") != std::string::npos);
  CHECK(r.out.find("FAIL  policies: " + dir + "/policies does not load:") != std::string::npos);
  CHECK(r.out.find("bad.yaml") != std::string::npos);
  CHECK(r.out.find("tosgate doctor: 2 failed") != std::string::npos);
}

TEST_CASE("doctor: Redis configured but not there fails on state.url") {
  const std::string dir = TempDir();
  const std::vector<int> ports = FreeLoopbackPorts(3);  // the third: nothing listens there
  WriteFile(dir + "/serve.yaml",
            Config(dir, ports, "state: {backend: redis, url: \"redis://127.0.0.1:" + std::to_string(ports[2]) + "\"}\n"));
  const RunResult r = RunTosgate("doctor --config " + dir + "/serve.yaml");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("FAIL  redis: state.url:") != std::string::npos);
  CHECK(r.out.find("fix: start Redis or correct state.url") != std::string::npos);
}

TEST_CASE("doctor: a configuration that does not load is exit 2, with its errors") {
  const std::string dir = TempDir();
  WriteFile(dir + "/serve.yaml", "gateway: {colour: blue}\n");
  const RunResult r = RunTosgate("doctor --config " + dir + "/serve.yaml");
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("FAIL  config: " + dir + "/serve.yaml does not load:") != std::string::npos);
  CHECK(r.out.find("gateway.colour: unknown key") != std::string::npos);
  CHECK(RunTosgate("doctor --bogus").exit_code == 2);
}

}  // namespace
}  // namespace tosgate::test
