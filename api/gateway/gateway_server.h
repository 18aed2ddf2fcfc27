// GatewayServer: the data plane's HTTP/1.1 server (Boost.Beast, hidden here).
//
// Serves the forward-auth check (`path_prefix` and everything under it, any
// method), POST /v1/usage (usage reports, see usage_report.h) and GET
// /healthz; with `upstream_url`, everything else as an inline proxy. An
// allowed check that delay mode holds is answered after its delay, on a timer.
//
// Where each endpoint is served (docs/inline-proxy.md, "Control endpoints"):
//
//   endpoint        | forward-auth mode           | inline mode (upstream_url)
//   /healthz        | listen, control_listen      | listen, control_listen
//   check (prefix)  | listen, control_listen      | control_listen only
//   POST /v1/usage  | control_listen if set, else | control_listen only
//                   | listen                      |
//   anything else   | 404                         | listen: decided and relayed
//
// In inline mode the client port is the client's: a usage report or a check
// sent there is answered 404 and never relayed, so that a client cannot
// refund its own reservation or probe decisions for itself.
//
// One io_context per thread; the listening sockets hand each accepted
// connection to the next thread in turn, so a connection stays on one
// thread for its life and its handlers never race.
//
// Thread-safety: every method may be called from any thread; Stop() is
// idempotent and is also run by the destructor. The engine must outlive the
// server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/request/forward_auth.h"
#include "tosgate/status.h"

namespace tosgate::engine {
class AuditSink;
class Engine;
}

namespace tosgate::api {

struct GatewayServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port, [v6]:port; port 0 picks a free one
  // The control listener, for the proxy or the operator rather than
  // clients: the check and usage reports (see the table above). Empty: none.
  // Its connections are not counted against max_connections, so that a
  // flood on the client port cannot shut out usage reports.
  std::string control_listen;
  // When set (64 hex digits, the SHA-256 of a secret), POST /v1/usage must
  // carry X-Tos-Control-Token: <secret>, compared in constant time; else 401.
  std::string control_token_sha256;
  int threads = 0;                        // 0: one per hardware thread
  ForwardAuthConfig forward_auth;
  std::chrono::seconds read_timeout{30};       // to receive a request's body, once its header is in
  std::chrono::seconds idle_timeout{60};       // between requests on a keep-alive connection
  // To receive a request's whole header: from the accept on a new
  // connection, from the first byte on a kept-alive one. A client that
  // trickles its header (slowloris) is closed after it, counted.
  std::chrono::milliseconds header_timeout{10000};
  // Open client connections at most; one more is answered 503
  // too-many-connections and closed at once, counted. 0: no limit.
  size_t max_connections = 10000;
  size_t max_header_bytes = 16 * 1024;         // larger: 431, then close
  std::chrono::milliseconds stop_grace{2000};  // Stop() waits this long for in-flight requests
  // Inline proxy mode when set: every request other than the check, usage
  // and health endpoints is decided and, when allowed, relayed to this
  // http://host:port, its answer streamed back (see inline_proxy.h).
  std::string upstream_url;
  std::chrono::milliseconds upstream_connect_timeout{5000};    // then 502 (refused) / 504
  std::chrono::milliseconds upstream_response_timeout{60000};  // to the response header: 504
  std::chrono::milliseconds upstream_idle_timeout{300000};     // between streamed chunks
  // Synchronous audit durability: when set (it must be the engine's audit
  // sink), the gateway submits each decision's record itself and answers
  // only once the sink says it is committed (AuditSink::SubmitThen), without
  // holding a thread; a refused record then decides by failure_mode.
  engine::AuditSink* durable_audit = nullptr;
};

// Counted once, read by /metrics. Relaxed atomics: exact totals, no ordering.
struct GatewayServerStats {
  uint64_t requests = 0;         // responses sent, all statuses
  uint64_t checks = 0;           // forward-auth decisions made
  uint64_t bad_requests = 0;     // 400, 413, 431 and refusals before a decision
  uint64_t internal_errors = 0;  // 500: an exception reached the boundary
  uint64_t connections = 0;      // accepted in total
  uint64_t open_connections = 0;
  uint64_t refused_connections = 0;  // over max_connections: 503 and closed
  uint64_t read_timeouts = 0;    // closed: a header or body did not arrive in time
  uint64_t delayed = 0;          // answers held by delay mode before they were sent
  uint64_t proxied = 0;          // inline proxy: requests relayed upstream
  uint64_t upstream_errors = 0;  // inline proxy: 502/504 given, or a stream cut by the upstream
  uint64_t client_aborts = 0;    // inline proxy: clients gone mid-relay (upstream cancelled)
  uint64_t open_streams = 0;     // inline proxy: relays in progress
};

class GatewayServer {
 public:
  // Binds and listens synchronously, so "address in use" or a bad `listen`
  // is a Status, never a crash or a half-started server; then starts the
  // worker threads.
  static Result<std::unique_ptr<GatewayServer>> Start(GatewayServerOptions options,
                                                      engine::Engine& engine);
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  int port() const;          // the bound port
  int control_port() const;  // the control listener's bound port; 0 without one
  // Stops accepting, closes idle keep-alive connections, lets requests in
  // flight finish (each connection closes after its current response), waits
  // at most `stop_grace`, then joins the threads. Idempotent.
  void Stop();

  uint64_t requests_served() const;
  GatewayServerStats stats() const;

 private:
  struct Impl;
  explicit GatewayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::api
