#include "server/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace tosgate::server {

Status SdNotifyTo(const std::string& socket_path, std::string_view state) {
  if (socket_path.empty()) return Status::Ok();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // systemd may also name a vsock address ("vsock:CID:PORT", for VMs); the
  // gateway runs on the host it is started by, so only AF_UNIX is spoken.
  if ((socket_path[0] != '/' && socket_path[0] != '@') || socket_path.size() >= sizeof addr.sun_path)
    return Status::InvalidArgument("NOTIFY_SOCKET: not an AF_UNIX socket path: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  // An abstract socket's name starts with a NUL byte where '@' is written.
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size());

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("NOTIFY_SOCKET: socket: ") + std::strerror(errno));
  const ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  const int err = errno;
  close(fd);
  if (sent < 0) return Status::IoError("NOTIFY_SOCKET " + socket_path + ": " + std::strerror(err));
  if (static_cast<size_t>(sent) != state.size()) return Status::IoError("NOTIFY_SOCKET: short send");
  return Status::Ok();
}

Status SdNotify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  return SdNotifyTo(path ? path : "", state);
}

}  // namespace tosgate::server
