// AdminServer: the control plane's HTTP server (cpp-httplib, hidden here).
//
// Serves the route table of api/admin/handlers.h (policies, evaluate,
// accounts and keys, review queue, decisions, /metrics) behind bearer-token
// authentication, plus /healthz and /readyz without a token. HTTPS when a
// certificate and key are given. Connections are held as
// api/admin/admin_connections.h says: slow clients cannot starve it. docs/admin-api.md is the user's guide,
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
  // Workers kept ready. Each holds one connection for its life; while all
  // of them hold one, more are started, up to max_threads, so that slow
  // clients cannot keep /healthz and /readyz from being answered.
  int threads = 4;
  int max_threads = 64;
  // To receive a request's header and body: from the accept on a new
  // connection, from its first byte on a kept-alive one. A client that
  // trickles its request (slowloris) is closed then, counted.
  std::chrono::milliseconds request_timeout{10000};
  // Connections open from one client address at most; one more is answered
  // 503 too-many-connections (plain HTTP) and closed, counted. 0: no limit.
  size_t max_connections_per_address = 16;
  std::chrono::seconds read_timeout{5};   // each read, within request_timeout
  std::chrono::seconds write_timeout{5};  // each write; a response within request_timeout
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
  uint64_t slow_clients() const;         // connections closed at request_timeout
  uint64_t refused_connections() const;  // over max_connections_per_address
  size_t worker_threads() const;         // started so far (threads..max_threads)

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::api
