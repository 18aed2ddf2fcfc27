// AdminServer: the control plane's HTTP server (cpp-httplib, hidden here).
//
// Serves the route table of api/admin/handlers.h (policies, evaluate,
// accounts and keys, review queue, decisions, /metrics) behind bearer-token
// authentication, plus /healthz and /readyz without a token. HTTPS when a
// certificate and key are given. docs/admin-api.md is the user's guide,
// api/openapi.yaml the contract.
//
// Thread-safety: every method may be called from any thread; Stop() is
// idempotent and is also run by the destructor. Everything the services
// point to must outlive the server; handlers run on the server's threads,
// concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/admin/auth.h"
#include "api/admin/services.h"
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
  size_t max_body_bytes = 1 << 20;  // larger bodies: 413 (policy bundles included)
  // Bearer tokens (hashes) and their roles. None: every endpoint but
  // /healthz and /readyz answers 401.
  std::vector<admin::TokenSpec> tokens;
  admin::BackoffOptions backoff;
  // PEM files; both or neither. With them the server speaks HTTPS only.
  std::string tls_cert;
  std::string tls_key;
};

class AdminServer {
 public:
  // Binds synchronously, so "address in use" or an unreadable certificate
  // is a Status; then serves on a thread of its own with a pool of
  // `threads` workers. services.engine and services.clock are required.
  static Result<std::unique_ptr<AdminServer>> Start(AdminServerOptions options,
                                                    admin::AdminServices services);
  // Only the engine: health, readiness, metrics, evaluate; `ready` may be empty.
  static Result<std::unique_ptr<AdminServer>> Start(AdminServerOptions options,
                                                    engine::Engine& engine,
                                                    std::function<bool(std::string*)> ready);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const;
  void Stop();
  uint64_t internal_errors() const;   // exceptions that reached the library
  uint64_t admin_events_failed() const;  // admin events the audit sink refused

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::api
