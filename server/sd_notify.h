// The systemd notification protocol (sd_notify(3)), written here rather than
// linked from libsystemd: one datagram of "KEY=value" lines to the AF_UNIX
// socket named by $NOTIFY_SOCKET. tosgate.service is Type=notify, so systemd
// counts the gateway started only when it says READY=1 (listeners up, audit
// store open) and sees STOPPING=1 as it drains.
//
// Thread-safe: each call opens and closes its own socket.
#pragma once

#include <string>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::server {

// Sends `state` (e.g. "READY=1\nSTATUS=serving") to `socket_path`: a
// filesystem path ("/run/systemd/notify") or an abstract socket ("@name").
// Ok without sending when `socket_path` is empty (not run by systemd).
Status SdNotifyTo(const std::string& socket_path, std::string_view state);

// SdNotifyTo($NOTIFY_SOCKET, state).
Status SdNotify(std::string_view state);

}  // namespace tosgate::server
