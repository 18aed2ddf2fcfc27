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
  // Called once, on the worker's thread, when the client has the whole
  // answer (true: the connection may serve another request) or the relay
  // failed (false: close it).
  std::function<void(bool)> done;
};

// Starts relaying `ex` to `upstream`; returns at once.
void Relay(Exchange ex, const Upstream& upstream, ConnectionPool& pool, engine::Engine& engine,
           ProxyCounters& counters);

}  // namespace tosgate::api::proxy
