// server::SdNotifyTo: the datagram systemd reads from $NOTIFY_SOCKET, to a
// filesystem socket and an abstract one; nothing to do without a socket; an
// address that is not AF_UNIX refused.
#include <doctest/doctest.h>
#include <unistd.h>

#include "server/sd_notify.h"
#include "tests/server/notify_socket.h"
#include "tests/storage/temp_dir.h"

namespace tosgate::test {
namespace {

TEST_CASE("sd_notify: one datagram of the state to a socket path") {
  TempDir dir;
  NotifySocket sock(dir.File("notify"));
  REQUIRE(sock.ok());
  REQUIRE(server::SdNotifyTo(sock.path(), "READY=1\nSTATUS=serving").ok());
  CHECK(sock.Receive(1000) == std::optional<std::string>("READY=1\nSTATUS=serving"));
  REQUIRE(server::SdNotifyTo(sock.path(), "STOPPING=1").ok());
  CHECK(sock.Receive(1000) == std::optional<std::string>("STOPPING=1"));
}

TEST_CASE("sd_notify: an abstract socket (@name) as systemd may give it") {
  NotifySocket sock("@tosgate-notify-test-" + std::to_string(getpid()));
  REQUIRE(sock.ok());
  REQUIRE(server::SdNotifyTo(sock.path(), "READY=1").ok());
  CHECK(sock.Receive(1000) == std::optional<std::string>("READY=1"));
}

TEST_CASE("sd_notify: no socket is nothing to do; a bad one is an error") {
  CHECK(server::SdNotifyTo("", "READY=1").ok());
  CHECK(server::SdNotifyTo("vsock:2:1234", "READY=1").code() == Status::Code::kInvalidArgument);
  TempDir dir;
  const Status gone = server::SdNotifyTo(dir.File("nobody-listens"), "READY=1");
  CHECK(gone.code() == Status::Code::kIoError);
  CHECK(gone.message().find("nobody-listens") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::test
