// `tosgate serve` under a stand-in for systemd (tosgate.service is
// Type=notify): READY=1 only once its listeners accept and the audit store
// is open, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 when SIGTERM
// starts the drain, and a clean exit after it.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>

#include "tests/integration/process_support.h"
#include "tests/server/notify_socket.h"

namespace tosgate::test {
namespace {

TEST_CASE("serve: READY=1 after the listeners are up, STOPPING=1 on drain") {
  const std::filesystem::path dir = MakeTempDir("tosgate-notify");
  const std::vector<int> ports = FreeLoopbackPorts(2);
  REQUIRE(ports.size() == 2);
  WriteFile(dir / "serve.yaml",
            "listen: {gateway: 127.0.0.1:" + std::to_string(ports[0]) + ", admin: 127.0.0.1:" +
                std::to_string(ports[1]) + "}\n" + "audit: {path: " + (dir / "audit.db").string() +
                "}\nadmin: {db: " + (dir / "admin.db").string() + "}\nanalyzer: {enabled: false}\n");
  NotifySocket sock((dir / "notify").string());
  REQUIRE(sock.ok());

  setenv("NOTIFY_SOCKET", sock.path().c_str(), 1);
  ChildProcess serve({TOSGATE_BINARY, "serve", "--config", (dir / "serve.yaml").string()}, dir / "out.txt",
                     dir / "err.txt");
  unsetenv("NOTIFY_SOCKET");
  REQUIRE(serve.started());

  // A bound on the start of a real process (policies compile), not a pause.
  const std::optional<std::string> ready = sock.Receive(60000);
  REQUIRE_MESSAGE(ready.has_value(), ReadFile(dir / "err.txt"));
  CHECK(ready->find("READY=1") != std::string::npos);
  // Told ready means serving: both listeners accept, and the store exists.
  CHECK(CanConnect(ports[0]));
  CHECK(CanConnect(ports[1]));
  CHECK(std::filesystem::exists(dir / "audit.db"));

  // SIGHUP (ExecReload): reloading, then ready again, still running. The
  // signal goes through Stop with no wait, which only sends it.
  CHECK_FALSE(serve.Stop(SIGHUP, std::chrono::milliseconds(0)).has_value());
  const std::optional<std::string> reloading = sock.Receive(60000);
  REQUIRE(reloading.has_value());
  CHECK(reloading->find("RELOADING=1") != std::string::npos);
  const std::optional<std::string> again = sock.Receive(60000);
  REQUIRE(again.has_value());
  CHECK(again->find("READY=1") != std::string::npos);
  CHECK(serve.Running());

  // SIGTERM: STOPPING=1 as the drain starts, then exit 0.
  const std::optional<int> st = serve.Stop(SIGTERM, std::chrono::milliseconds(60000));
  const std::optional<std::string> stopping = sock.Receive(1000);
  REQUIRE(stopping.has_value());
  CHECK(stopping->find("STOPPING=1") != std::string::npos);
  REQUIRE(st.has_value());
  CHECK(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tosgate::test
