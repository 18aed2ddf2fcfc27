// AdminServer: the control plane's HTTP server (cpp-httplib, hidden here).
//
// For now: GET /healthz (the process is up) and GET /readyz (a policy
// snapshot is published and the embedding program says it is ready).
// Policies, accounts, decisions and metrics endpoints come next.
//
// Thread-safety: every method may be called from any thread; Stop() is
// idempotent and is also run by the destructor. The engine and the `ready`
// callback must outlive the server; `ready` is called from the server's
// threads, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tosgate/status.h"

namespace tosgate::engine {
class Engine;
}

namespace tosgate::api {

struct AdminServerOptions {
  std::string listen = "127.0.0.1:9090";  // host:port; port 0 picks a free one
  int threads = 4;
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  size_t max_body_bytes = 1 << 20;
};

class AdminServer {
 public:
  // Binds synchronously, so "address in use" is a Status; then serves on a
  // thread of its own with a pool of `threads` workers. `ready` may be empty.
  static Result<std::unique_ptr<AdminServer>> Start(AdminServerOptions options,
                                                    engine::Engine& engine,
                                                    std::function<bool(std::string*)> ready);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const;
  void Stop();
  uint64_t internal_errors() const;  // exceptions that reached the library

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::api
