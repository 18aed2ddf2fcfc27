// The inline proxy: relays a request tosgate allowed to the configured
// upstream and streams the answer back without buffering it, reading the
// token usage as it passes (UsageScanner) and reporting it to the engine at
// the end, which reconciles budgets and releases concurrency leases.
//
// Internal to the data plane (Beast types): included by gateway_server.cc
// and inline_proxy.cc only. Everything here runs on one worker's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/request/batch_watch.h"
#include "api/request/forward_auth.h"
#include "tosgate/status.h"

namespace tosgate::engine {
class Engine;
}

namespace tosgate::api::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Executor = net::io_context::executor_type;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;

struct UpstreamOptions {
  std::string url;  // http://host:port[/base]
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds response_timeout{60000};  // until the response header
  std::chrono::milliseconds idle_timeout{300000};     // between body chunks
  size_t max_idle_connections = 64;                   // per worker thread
};

// The upstream, resolved once at start.
struct Upstream {
  UpstreamOptions options;
  std::string host_header;  // host[:port] as the upstream should see it
  std::string base_path;    // prepended to every target ("" for none)
  std::vector<tcp::endpoint> endpoints;
};

// Parses and resolves `options.url`. InvalidArgument for what is not an
// http:// URL (https upstreams are not supported yet), Unavailable when the
// host does not resolve.
Result<Upstream> ResolveUpstream(UpstreamOptions options);

// Idle keep-alive connections to the upstream, one pool per worker thread.
class ConnectionPool {
 public:
  explicit ConnectionPool(size_t max_idle) : max_idle_(max_idle) {}
  std::unique_ptr<Stream> Take();
  void Put(std::unique_ptr<Stream> stream);

 private:
  size_t max_idle_;
  std::vector<std::unique_ptr<Stream>> idle_;
};

struct ProxyCounters {
  std::atomic<uint64_t> proxied{0};          // relays started
  std::atomic<uint64_t> upstream_errors{0};  // 502 / 504 given, or a stream cut
  std::atomic<uint64_t> client_aborts{0};    // clients that left mid-relay
  std::atomic<uint64_t> open_streams{0};
};

// One relay: what the session hands over.
struct Exchange {
  Stream* client = nullptr;
  std::shared_ptr<void> keep_alive_owner;  // keeps the session (and *client) alive
  http::request<http::string_body> request;  // to send upstream, target and headers set
  std::vector<std::pair<std::string, std::string>> client_headers;  // added to the answer
  unsigned version = 11;
  bool client_keep_alive = true;
  bool head = false;
  std::string decision_id;
  // A step of the batch APIs (batch_watch.h); null for any other request.
  std::unique_ptr<BatchWatch> batch;
  // Called once, on the worker's thread, when the client has the whole
  // answer (true: the connection may serve another request) or the relay
  // failed (false: close it).
  std::function<void(bool)> done;
};

// What the upstream request is built from besides the client's headers:
// the request as it was decided.
struct Outgoing {
  std::string_view method;    // Request::method: the client's, upper case
  std::string target;         // Upstream::base_path + Forwarding::target
  const Forwarding* forwarding = nullptr;  // the one credential to send
  // Request::peer_trusted: a trusted proxy in front of the gateway may name
  // the client (its X-Forwarded-* and identity headers are kept, and the
  // peer is appended to X-Forwarded-For); anyone else's are stripped.
  bool peer_trusted = false;
  std::string_view peer_ip;
  // The policy's identity.trusted_headers (lower case; empty ones ignored):
  // stripped from an untrusted peer, so that no client names its own
  // account to the upstream either.
  std::vector<std::string_view> identity_headers;
  std::string_view host_header;  // Upstream::host_header
  // The decision's X-Tos-* headers, set for the upstream (who called, which
  // decision let it in, watermark and flags).
  const std::vector<std::pair<std::string, std::string>>* decision_headers = nullptr;
};

// Fills `up` from the client's headers and `o`, with `body` (the bytes that
// were decided on) as its body. Dropped: hop-by-hop and framing headers
// (Content-Length is set anew, Transfer-Encoding and Expect dropped: the body
// is whole), every credential carrier (Authorization, X-Api-Key, Api-Key,
// X-Goog-Api-Key, Proxy-Authorization) but the checked one, set from
// `o.forwarding` (a ?key= credential is already in the target), the
// client's own X-Tos-* headers, and, from an untrusted peer, forwarding
// (X-Forwarded-*, X-Original-*, X-Real-IP, Forwarded) and identity headers.
void BuildUpstreamRequest(const http::request<http::string_body>& client, const Outgoing& o,
                          std::string body, http::request<http::string_body>* up);

// Starts relaying `ex` to `upstream`; returns at once.
void Relay(Exchange ex, const Upstream& upstream, ConnectionPool& pool, engine::Engine& engine,
           ProxyCounters& counters);

}  // namespace tosgate::api::proxy
