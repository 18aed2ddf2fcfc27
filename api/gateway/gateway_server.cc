// GatewayServer: binds, accepts and hands connections to worker threads,
// one io_context each; the connections themselves are in session.cc.
#include "api/gateway/gateway_server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <array>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "api/request/responses.h"
#include "api/gateway/server_internal.h"
#include "api/request/usage_report.h"
#include "engine/thread_annotations.h"

namespace tosgate::api {
using namespace gateway_internal;
namespace {

constexpr std::chrono::milliseconds kAcceptBackoff{50};
// The answer to a connection over max_connections, whole.
std::string TooManyConnections() {
  HttpResponse r;
  RenderError(503, "too-many-connections",
              "the gateway holds as many connections as it is configured to "
              "(gateway.max_connections); retry shortly",
              &r);
  return "HTTP/1.1 503 Service Unavailable\r\nServer: tosgate\r\nContent-Type: " + r.content_type +
         "\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
}

Status ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return Status::InvalidArgument("listen address '" + listen + "' has no port");
  std::string h = listen.substr(0, colon);
  std::string p = listen.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(p) > 65535)
    return Status::InvalidArgument("listen address '" + listen + "' has a bad port");
  *host = h;
  *port = static_cast<uint16_t>(std::stoul(p));
  return Status::Ok();
}

}  // namespace

struct GatewayServer::Impl {
  explicit Impl(GatewayServerOptions options, engine::Engine& engine)
      : shared{std::move(options), engine, {}, {}, {}, {}, {}, {}} {}

  ~Impl() {
    Stop();
    for (auto& w : workers) ReleaseAudited(w.get());
  }

  // One listening socket: the client port, or the control one.
  struct Acceptor {
    Listener kind = Listener::kClient;
    std::string listen;
    std::optional<tcp::acceptor> acceptor;  // on workers[0]
    std::optional<net::steady_timer> backoff;
    int bound_port = 0;
  };

  Status Bind(Acceptor* a) {
    std::string host;
    uint16_t port = 0;
    if (Status s = ParseListen(a->listen, &host, &port); !s.ok()) return s;
    beast::error_code ec;
    net::ip::address addr = net::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(workers[0]->ioc);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty())
        return Status::InvalidArgument("listen address '" + a->listen + "': cannot resolve '" +
                                       host + "': " + ec.message());
      addr = results.begin()->endpoint().address();
    }
    tcp::endpoint ep(addr, port);
    const std::string where = "listen on " + a->listen + ": ";
    a->acceptor.emplace(workers[0]->ioc);
    tcp::acceptor& acc = *a->acceptor;
    // SO_REUSEADDR only (never SO_REUSEPORT): a second server on the same
    // port must fail here rather than silently share the traffic.
    if (acc.open(ep.protocol(), ec); ec) return Status::Unavailable(where + ec.message());
    if (acc.set_option(net::socket_base::reuse_address(true), ec); ec)
      return Status::Unavailable(where + ec.message());
    if (acc.bind(ep, ec); ec) return Status::Unavailable(where + ec.message());
    if (acc.listen(net::socket_base::max_listen_connections, ec); ec)
      return Status::Unavailable(where + ec.message());
    a->bound_port = acc.local_endpoint(ec).port();
    return Status::Ok();
  }

  void Accept(Acceptor* a) {
    Worker* w = workers[next_worker++ % workers.size()].get();
    a->acceptor->async_accept(w->ioc, [this, a, w](beast::error_code ec, Socket socket) {
      if (ec == net::error::operation_aborted || shared.stopping.load()) return;
      if (ec) {
        // E.g. out of file descriptors: back off instead of spinning.
        a->backoff.emplace(workers[0]->ioc, kAcceptBackoff);
        a->backoff->async_wait([this, a](beast::error_code ec) {
          if (!ec && !shared.stopping.load()) Accept(a);
        });
        return;
      }
      Bump(shared.counters.connections);
      const size_t max = shared.options.max_connections;
      // The control port is for the operator's proxy: never refused, so
      // that a flood of clients cannot shut out usage reports.
      if (a->kind == Listener::kClient && max > 0 &&
          shared.counters.open_connections.load(std::memory_order_relaxed) >= max) {
        Refuse(socket);
      } else {
        StartSession(std::move(socket), &shared, w, a->kind);
      }
      Accept(a);
    });
  }

  // Over max_connections: a fixed 503 written without blocking into the
  // new socket's empty send buffer, then closed. No session, no read.
  void Refuse(Socket& socket) {
    Bump(shared.counters.refused_connections);
    beast::error_code ec;
    socket.non_blocking(true, ec);
    net::const_buffer b(too_many.data(), too_many.size());
    socket.write_some(b, ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    // What the client already sent, read away: unread input would turn the
    // close into a reset that can destroy the 503 before it is read.
    std::array<char, 4096> drain;
    for (int i = 0; i < 4 && !ec; ++i) socket.read_some(net::buffer(drain), ec);
    socket.close(ec);
  }

  void Run(Worker* w) {
    for (;;) {
      try {
        w->ioc.run();
        break;
      } catch (...) {
        // A handler threw, which none should; count it and keep serving.
        Bump(shared.counters.internal_errors);
      }
    }
    engine::MutexLock lock(done_mu);
    ++threads_done;
    done_cv.notify_all();
  }

  void StartThreads() {
    for (auto& w : workers) {
      w->guard.emplace(w->ioc.get_executor());
      Worker* raw = w.get();
      w->thread = std::thread([this, raw] { Run(raw); });
    }
  }

  void Stop() {
    if (stopped.exchange(true)) return;
    shared.stopping.store(true);
    if (workers.empty() || !workers[0]->thread.joinable()) return;  // never started
    net::post(workers[0]->ioc, [this] {
      for (Acceptor& a : acceptors) {
        beast::error_code ec;
        if (a.acceptor) a.acceptor->close(ec);
        if (a.backoff) a.backoff->cancel();
      }
    });
    for (auto& w : workers) {
      Worker* raw = w.get();
      net::post(w->ioc, [raw] {
        std::vector<Session*> all(raw->sessions.begin(), raw->sessions.end());
        for (Session* s : all) ShutdownSession(s);
      });
      w->guard.reset();
    }
    {
      engine::MutexLock lock(done_mu);
      done_cv.wait_for(lock.native(), shared.options.stop_grace,
                       [this]() REQUIRES(done_mu) { return threads_done == workers.size(); });
    }
    for (auto& w : workers) w->ioc.stop();  // past the grace: cut what is left
    for (auto& w : workers) w->thread.join();
  }

  Shared shared;
  const std::string too_many = TooManyConnections();
  std::vector<std::unique_ptr<Worker>> workers;
  // [0] the client port, [1] the control port when there is one. Sized
  // before any accept starts: the handlers hold pointers into it.
  std::vector<Acceptor> acceptors;
  size_t next_worker = 0;  // touched only by the accept handlers on workers[0]
  std::atomic<bool> stopped{false};
  engine::Mutex done_mu;
  std::condition_variable done_cv;
  size_t threads_done GUARDED_BY(done_mu) = 0;
};

GatewayServer::GatewayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatewayServer::~GatewayServer() {
  if (impl_) impl_->Stop();
}

Result<std::unique_ptr<GatewayServer>> GatewayServer::Start(GatewayServerOptions options,
                                                            engine::Engine& engine) {
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  // Waiting on another sink than the one the engine records into would
  // answer before (or without) the decision's own record being committed.
  if (options.durable_audit && options.durable_audit != engine.audit_sink())
    return Status::InvalidArgument("durable_audit must be the engine's audit sink");
  if (!options.control_token_sha256.empty()) {
    if (!IsSha256Hex(options.control_token_sha256))
      return Status::InvalidArgument(
          "control_token_sha256 must be the 64 hex digits of the SHA-256 of the token");
    for (char& c : options.control_token_sha256)
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  std::optional<proxy::Upstream> upstream;
  if (!options.upstream_url.empty()) {
    proxy::UpstreamOptions uo;
    uo.url = options.upstream_url;
    uo.connect_timeout = options.upstream_connect_timeout;
    uo.response_timeout = options.upstream_response_timeout;
    uo.idle_timeout = options.upstream_idle_timeout;
    Result<proxy::Upstream> r = proxy::ResolveUpstream(std::move(uo));
    if (!r.ok()) return r.status();
    upstream = std::move(r).value();
  }
  auto impl = std::make_unique<Impl>(std::move(options), engine);
  impl->shared.upstream = std::move(upstream);
  impl->shared.inline_auth = impl->shared.options.forward_auth;
  impl->shared.inline_auth.path_prefix.clear();
  for (int i = 0; i < threads; ++i) {
    impl->workers.push_back(std::make_unique<Worker>());
    if (impl->shared.upstream)
      impl->workers.back()->pool = std::make_unique<proxy::ConnectionPool>(
          impl->shared.upstream->options.max_idle_connections);
  }
  impl->acceptors.resize(impl->shared.options.control_listen.empty() ? 1 : 2);
  impl->acceptors[0].listen = impl->shared.options.listen;
  if (impl->acceptors.size() > 1) {
    impl->acceptors[1].kind = Listener::kControl;
    impl->acceptors[1].listen = impl->shared.options.control_listen;
  }
  for (auto& a : impl->acceptors)
    if (Status s = impl->Bind(&a); !s.ok()) return s;
  for (auto& a : impl->acceptors) impl->Accept(&a);
  impl->StartThreads();
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(impl)));
}

int GatewayServer::port() const { return impl_->acceptors[0].bound_port; }
int GatewayServer::control_port() const {
  return impl_->acceptors.size() > 1 ? impl_->acceptors[1].bound_port : 0;
}
void GatewayServer::Stop() { impl_->Stop(); }

uint64_t GatewayServer::requests_served() const {
  return impl_->shared.counters.requests.load(std::memory_order_relaxed);
}

GatewayServerStats GatewayServer::stats() const {
  const Counters& c = impl_->shared.counters;
  GatewayServerStats s;
  s.requests = c.requests.load(std::memory_order_relaxed);
  s.checks = c.checks.load(std::memory_order_relaxed);
  s.bad_requests = c.bad_requests.load(std::memory_order_relaxed);
  s.internal_errors = c.internal_errors.load(std::memory_order_relaxed);
  s.connections = c.connections.load(std::memory_order_relaxed);
  s.open_connections = c.open_connections.load(std::memory_order_relaxed);
  s.refused_connections = c.refused_connections.load(std::memory_order_relaxed);
  s.read_timeouts = c.read_timeouts.load(std::memory_order_relaxed);
  s.delayed = c.delayed.load(std::memory_order_relaxed);
  const proxy::ProxyCounters& p = impl_->shared.proxy_counters;
  s.proxied = p.proxied.load(std::memory_order_relaxed);
  s.upstream_errors = p.upstream_errors.load(std::memory_order_relaxed);
  s.client_aborts = p.client_aborts.load(std::memory_order_relaxed);
  s.open_streams = p.open_streams.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tosgate::api
