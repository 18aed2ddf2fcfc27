// The Beast side of the data plane. This is the only file in tosgate that
// includes Boost.Beast: its compile time stays here.
#include "api/gateway/gateway_server.h"

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "api/gateway/inline_proxy.h"
#include "api/gateway/responses.h"
#include "api/gateway/usage_report.h"
#include "engine/engine.h"

namespace tosgate::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using proxy::Executor;
using proxy::Stream;
using Socket = net::basic_stream_socket<tcp, Executor>;

constexpr std::chrono::seconds kLingerTimeout{1};
constexpr std::chrono::milliseconds kAcceptBackoff{50};

struct Counters {
  std::atomic<uint64_t> requests{0}, checks{0}, bad_requests{0}, internal_errors{0};
  std::atomic<uint64_t> connections{0}, open_connections{0}, delayed{0};
};

void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

// What every connection of one server shares. Outlives all sessions.
struct Shared {
  GatewayServerOptions options;
  engine::Engine& engine;
  Counters counters;
  std::atomic<bool> stopping{false};
  std::optional<proxy::Upstream> upstream;  // inline proxy mode when set
  proxy::ProxyCounters proxy_counters;
};

class Session;

// One thread with its own io_context. `sessions` is touched only on that
// thread; it is declared before `ioc` so that it outlives the handlers (and
// the sessions they hold) that the io_context destroys.
struct Worker {
  std::unordered_set<Session*> sessions;
  net::io_context ioc{1};
  // After ioc: its connections must go before the io_context does.
  std::unique_ptr<proxy::ConnectionPool> pool;
  std::optional<net::executor_work_guard<Executor>> guard;
  std::thread thread;
};

bool IsHttpError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

std::string_view PathOf(std::string_view target) {
  size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

bool UnderPrefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string PeerIp(const Socket& s) {
  beast::error_code ec;
  tcp::endpoint ep = s.remote_endpoint(ec);
  if (ec) return "";
  net::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

// One client connection: read a request, answer it, repeat while keep-alive.
// Every handler runs on its worker's thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Shared* shared, Worker* worker)
      : stream_(std::move(socket)), shared_(shared), worker_(worker) {
    Bump(shared_->counters.open_connections);
  }
  ~Session() {
    worker_->sessions.erase(this);
    shared_->counters.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    if (shared_->stopping.load()) return;  // dropped: the socket closes with us
    worker_->sessions.insert(this);
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    in_.peer_ip = PeerIp(stream_.socket());
    ReadHeader();
  }

  // Stop(): an idle connection closes now, a busy one after its response.
  void Shutdown() {
    closing_ = true;
    if (state_ == State::kIdle || state_ == State::kLingering) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    }
  }

 private:
  enum class State : uint8_t { kIdle, kBusy, kLingering };

  void ReadHeader() {
    state_ = State::kIdle;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
    parser_->body_limit(shared_->options.forward_auth.max_body_bytes);
    const bool waiting = first_ || buffer_.size() > 0;
    stream_.expires_after(waiting ? shared_->options.read_timeout : shared_->options.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    state_ = State::kBusy;
    stream_.expires_after(shared_->options.read_timeout);
    if (parser_->is_done()) return OnRequest();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body of some size.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (!ec) self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == net::error::operation_aborted) return;  // closed by Stop()
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == http::error::partial_message || !IsHttpError(ec)) {
      return Linger();  // the client left, went quiet, or the socket failed
    }
    state_ = State::kBusy;
    Bump(shared_->counters.bad_requests);
    if (ec == http::error::body_limit) {
      RenderError(413, "body-too-large",
                  "the request body is larger than " +
                      std::to_string(shared_->options.forward_auth.max_body_bytes) + " bytes",
                  &out_);
    } else if (ec == http::error::header_limit) {
      RenderError(431, "headers-too-large",
                  "the request headers are larger than " +
                      std::to_string(shared_->options.max_header_bytes) + " bytes",
                  &out_);
    } else {
      RenderError(400, "malformed-http", "the request is not valid HTTP/1.1: " + ec.message(),
                  &out_);
    }
    // The stream cannot be resynchronized after a bad message: close.
    Write(11, /*keep_alive=*/false, /*head=*/false);
  }

  void OnRequest() {
    auto& req = parser_->get();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    keep_alive_ = req.keep_alive();
    delay_ms_ = 0;
    relay_.reset();
    waiting_audit_ = false;
    try {
      Handle(req);
    } catch (...) {
      // Handlers do not throw by design; this is the last line of defence.
      Bump(shared_->counters.internal_errors);
      waiting_audit_ = false;
      RenderError(500, "internal-error", "the gateway failed while handling the request", &out_);
    }
    if (!waiting_audit_) Respond();
  }

  // Sends what the handler prepared: a relay, a held answer, or out_ now.
  void Respond() {
    if (relay_) {
      relay_->version = version_;
      relay_->client_keep_alive = keep_alive_;
      relay_->head = head_;
      if (delay_ms_ > 0) Bump(shared_->counters.delayed);
      delay_timer_.expires_after(std::chrono::milliseconds(delay_ms_));
      delay_timer_.async_wait([self = shared_from_this()](beast::error_code) { self->StartRelay(); });
      return;
    }
    if (delay_ms_ <= 0) return Write(version_, keep_alive_, head_);
    // Delay mode: the answer that lets the request through is held, on a
    // timer; the thread serves other connections meanwhile.
    Bump(shared_->counters.delayed);
    delay_timer_.expires_after(std::chrono::milliseconds(delay_ms_));
    delay_timer_.async_wait([self = shared_from_this()](beast::error_code) {
      self->Write(self->version_, self->keep_alive_, self->head_);
    });
  }

  // Decides request_ and hands the decision to `then`. With a durable audit
  // sink (synchronous durability) the record is submitted here and `then`
  // runs once it is committed, on this thread, which meanwhile serves other
  // connections: concurrent requests share one commit.
  void Decide(std::function<void(Decision)> then) {
    engine::AuditSink* sink = shared_->options.durable_audit;
    engine::AuditRecord record;
    Decision d = sink ? shared_->engine.Check(request_, &record) : shared_->engine.Check(request_);
    Bump(shared_->counters.checks);
    if (!sink || record.id.empty()) return then(std::move(d));
    waiting_audit_ = true;
    sink->SubmitThen(std::move(record), [self = shared_from_this(), d = std::move(d),
                                         then = std::move(then)](Status s) mutable {
      net::post(self->stream_.get_executor(),
                [self, d = std::move(d), then = std::move(then), s]() mutable {
                  self->shared_->engine.AuditOutcome(&d, s);
                  then(std::move(d));
                  self->waiting_audit_ = false;
                  self->Respond();
                });
    });
  }

  void Handle(http::request<http::string_body>& req) {
    const ForwardAuthConfig& cfg = shared_->options.forward_auth;
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = PathOf(target);
    if (path == "/v1/usage") return Usage(req);
    if (UnderPrefix(path, cfg.path_prefix)) return Check(req, target);
    if (shared_->upstream && path != "/healthz") return Proxy(req, target);
    if (path == "/healthz") {
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        RenderError(405, "method-not-allowed", "/healthz answers GET and HEAD", &out_);
        out_.headers.emplace_back("Allow", "GET, HEAD");
        return;
      }
      out_.Clear();
      out_.content_type = "application/json";
      out_.body = R"({"status":"ok"})";
      return;
    }
    RenderError(404, "not-found", "no such endpoint; the check endpoint is " + cfg.path_prefix,
                &out_);
  }

  void Usage(http::request<http::string_body>& req) {
    if (req.method() != http::verb::post) {
      RenderError(405, "method-not-allowed", "/v1/usage answers POST", &out_);
      out_.headers.emplace_back("Allow", "POST");
      return;
    }
    std::string decision_id;
    engine::Usage usage;
    if (Status s = ParseUsageReport(req.body(), &decision_id, &usage); !s.ok()) {
      Bump(shared_->counters.bad_requests);
      return RenderError(400, "bad-usage-report", s.message(), &out_);
    }
    if (Status s = shared_->engine.ReportUsage(decision_id, usage); !s.ok()) {
      return RenderError(s.code() == Status::Code::kNotFound ? 404 : 503,
                         s.code() == Status::Code::kNotFound ? "unknown-decision" : "usage-failed",
                         s.message(), &out_);
    }
    out_.Clear();
    out_.status = 204;
  }

  void Check(http::request<http::string_body>& req, std::string_view target) {
    in_.method.assign(req.method_string().data(), req.method_string().size());
    in_.target.assign(target);
    in_.headers.clear();
    for (const auto& f : req) {
      in_.headers.emplace_back(std::string(f.name_string().data(), f.name_string().size()),
                               std::string(f.value().data(), f.value().size()));
    }
    in_.body = std::move(req.body());
    Status s = TranslateForwardAuth(in_, shared_->options.forward_auth, &request_);
    if (!s.ok()) {
      Bump(shared_->counters.bad_requests);
      if (s.code() == Status::Code::kResourceExhausted)
        RenderError(413, "body-too-large", s.message(), &out_);
      else
        RenderError(400, "bad-request-body", s.message(), &out_);
      return;
    }
    const std::string* proxy = request_.header("x-tos-proxy");
    const ProxyDialect dialect =
        proxy && *proxy == "nginx" ? ProxyDialect::kNginx : ProxyDialect::kPlain;
    Decide([this, dialect](Decision d) {
      delay_ms_ = d.delay_ms;
      RenderDecision(d, &out_, dialect);
    });
  }

  // Inline proxy mode: decide on the request itself, then relay it.
  void Proxy(http::request<http::string_body>& req, std::string_view target) {
    in_.method.assign(req.method_string().data(), req.method_string().size());
    in_.target.assign(target);
    in_.headers.clear();
    for (const auto& f : req) {
      const beast::string_view name = f.name_string();
      // A client must not name another path, method or address for itself.
      if (beast::iequals(name.substr(0, 11), "x-original-") ||
          beast::iequals(name.substr(0, 12), "x-forwarded-") || beast::iequals(name, "x-real-ip"))
        continue;
      in_.headers.emplace_back(std::string(name.data(), name.size()),
                               std::string(f.value().data(), f.value().size()));
    }
    in_.body = req.body();  // a copy: the body also goes upstream
    ForwardAuthConfig direct = shared_->options.forward_auth;
    direct.path_prefix.clear();
    Status s = TranslateForwardAuth(in_, direct, &request_);
    if (!s.ok()) {
      Bump(shared_->counters.bad_requests);
      if (s.code() == Status::Code::kResourceExhausted)
        RenderError(413, "body-too-large", s.message(), &out_);
      else
        RenderError(400, "bad-request-body", s.message(), &out_);
      return;
    }
    Decide([this, target = std::string(target)](Decision d) { Relay(std::move(d), target); });
  }

  void Relay(Decision d, const std::string& target) {
    http::request<http::string_body>& req = parser_->get();
    RenderDecision(d, &out_, ProxyDialect::kPlain);
    if (d.effect != Effect::kAllow) return;  // answered here, as problem+json
    delay_ms_ = d.delay_ms;

    proxy::Exchange ex;
    ex.client = &stream_;
    ex.decision_id = d.decision_id;
    http::request<http::string_body>& up = ex.request;
    up.method_string(req.method_string());
    up.target(shared_->upstream->base_path + std::string(target));
    up.version(11);
    for (const auto& f : req) {
      const beast::string_view name = f.name_string();
      if (beast::iequals(name, "host") || beast::iequals(name, "connection") ||
          beast::iequals(name, "keep-alive") || beast::iequals(name, "te") ||
          beast::iequals(name, "upgrade") || beast::iequals(name, "proxy-connection") ||
          beast::iequals(name, "x-forwarded-for") || beast::iequals(name.substr(0, 6), "x-tos-"))
        continue;  // hop-by-hop, or ours to set: a client cannot speak for tosgate
      up.insert(f.name_string(), f.value());
    }
    up.set(http::field::host, shared_->upstream->host_header);
    up.set("X-Forwarded-For", in_.peer_ip);
    up.set("X-Forwarded-Proto", "http");
    for (const auto& [k, v] : out_.headers) {
      if (k.rfind("X-Tos-", 0) == 0) up.set(k, v);  // who called and which decision let it in
      if (k.rfind("RateLimit", 0) == 0 || k == "X-Tos-Decision-Id") ex.client_headers.emplace_back(k, v);
    }
    up.body() = std::move(req.body());
    up.keep_alive(true);
    up.prepare_payload();
    relay_.emplace(std::move(ex));
  }

  void StartRelay() {
    proxy::Exchange ex = std::move(*relay_);
    relay_.reset();
    ex.keep_alive_owner = shared_from_this();
    ex.done = [self = shared_from_this()](bool keep_alive) {
      Bump(self->shared_->counters.requests);
      if (!keep_alive || self->closing_ || self->shared_->stopping.load()) return self->Linger();
      self->first_ = false;
      self->ReadHeader();
    };
    proxy::Relay(std::move(ex), *shared_->upstream, *worker_->pool, shared_->engine,
                 shared_->proxy_counters);
  }

  void Write(unsigned version, bool keep_alive, bool head) {
    keep_alive = keep_alive && !closing_ && !shared_->stopping.load(std::memory_order_relaxed);
    try {
      res_ = {};
      res_.version(version == 10 ? 10 : 11);
      res_.result(static_cast<unsigned>(out_.status));
      res_.set(http::field::server, "tosgate");
      if (!out_.content_type.empty()) res_.set(http::field::content_type, out_.content_type);
      for (const auto& [k, v] : out_.headers) res_.insert(k, v);
      res_.body() = std::move(out_.body);
      res_.keep_alive(keep_alive);
      res_.prepare_payload();
      if (head) res_.body().clear();  // Content-Length still tells the size
    } catch (...) {
      Bump(shared_->counters.internal_errors);
      res_ = {};
      res_.version(11);
      res_.result(http::status::internal_server_error);
      res_.keep_alive(false);
      keep_alive = false;
      res_.prepare_payload();
    }
    // Counted before the write, so that a client that has read its response
    // always sees it counted.
    Bump(shared_->counters.requests);
    stream_.expires_after(shared_->options.read_timeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->OnWrite(ec, keep_alive);
                      });
  }

  void OnWrite(beast::error_code ec, bool keep_alive) {
    if (ec) return;  // the client is gone; the socket closes with us
    if (!keep_alive || closing_) return Linger();
    first_ = false;
    ReadHeader();
  }

  // Closes our side and drains what the client still sends for a moment, so
  // that unread input does not turn our last response into a reset.
  void Linger() {
    state_ = State::kLingering;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || closing_) return;
    stream_.expires_after(kLingerTimeout);
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec && !self->closing_) self->LingerMore();
                            });
  }
  void LingerMore() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec && !self->closing_) self->LingerMore();
                            });
  }

  Stream stream_;
  Shared* shared_;
  Worker* worker_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  // Reused from request to request on this connection.
  IncomingRequest in_;
  Request request_;
  HttpResponse out_;
  std::array<char, 512> drain_;
  net::steady_timer delay_timer_{stream_.get_executor()};
  int64_t delay_ms_ = 0;  // delay mode: hold the current answer this long
  std::optional<proxy::Exchange> relay_;  // inline proxy: the request to relay
  bool waiting_audit_ = false;  // the answer waits for the audit commit
  // The request being answered.
  unsigned version_ = 11;
  bool head_ = false, keep_alive_ = true;
  State state_ = State::kIdle;
  bool first_ = true;
  bool closing_ = false;
};

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
      : shared{std::move(options), engine, {}, {}, {}, {}} {}

  ~Impl() { Stop(); }

  Status Bind() {
    std::string host;
    uint16_t port = 0;
    if (Status s = ParseListen(shared.options.listen, &host, &port); !s.ok()) return s;
    beast::error_code ec;
    net::ip::address addr = net::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(workers[0]->ioc);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty())
        return Status::InvalidArgument("listen address '" + shared.options.listen +
                                       "': cannot resolve '" + host + "': " + ec.message());
      addr = results.begin()->endpoint().address();
    }
    tcp::endpoint ep(addr, port);
    const std::string where = "listen on " + shared.options.listen + ": ";
    acceptor.emplace(workers[0]->ioc);
    // SO_REUSEADDR only (never SO_REUSEPORT): a second server on the same
    // port must fail here rather than silently share the traffic.
    if (acceptor->open(ep.protocol(), ec); ec) return Status::Unavailable(where + ec.message());
    if (acceptor->set_option(net::socket_base::reuse_address(true), ec); ec)
      return Status::Unavailable(where + ec.message());
    if (acceptor->bind(ep, ec); ec) return Status::Unavailable(where + ec.message());
    if (acceptor->listen(net::socket_base::max_listen_connections, ec); ec)
      return Status::Unavailable(where + ec.message());
    bound_port = acceptor->local_endpoint(ec).port();
    return Status::Ok();
  }

  void Accept() {
    Worker* w = workers[next_worker++ % workers.size()].get();
    acceptor->async_accept(w->ioc, [this, w](beast::error_code ec, Socket socket) {
      if (ec == net::error::operation_aborted || shared.stopping.load()) return;
      if (ec) {
        // E.g. out of file descriptors: back off instead of spinning.
        backoff.emplace(workers[0]->ioc, kAcceptBackoff);
        backoff->async_wait([this](beast::error_code ec) {
          if (!ec && !shared.stopping.load()) Accept();
        });
        return;
      }
      Bump(shared.counters.connections);
      // The session moves into the posted handler, so its last reference is
      // dropped on its own worker's thread, never on this one.
      auto session = std::make_shared<Session>(std::move(socket), &shared, w);
      net::post(w->ioc, [s = std::move(session)] { s->Start(); });
      Accept();
    });
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
    std::lock_guard<std::mutex> lock(done_mu);
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
      beast::error_code ec;
      if (acceptor) acceptor->close(ec);
      if (backoff) backoff->cancel();
    });
    for (auto& w : workers) {
      Worker* raw = w.get();
      net::post(w->ioc, [raw] {
        std::vector<Session*> all(raw->sessions.begin(), raw->sessions.end());
        for (Session* s : all) s->Shutdown();
      });
      w->guard.reset();
    }
    {
      std::unique_lock<std::mutex> lock(done_mu);
      done_cv.wait_for(lock, shared.options.stop_grace,
                       [this] { return threads_done == workers.size(); });
    }
    for (auto& w : workers) w->ioc.stop();  // past the grace: cut what is left
    for (auto& w : workers) w->thread.join();
  }

  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;  // on workers[0]
  std::optional<net::steady_timer> backoff;
  size_t next_worker = 0;  // touched only by the accept handler on workers[0]
  int bound_port = 0;
  std::atomic<bool> stopped{false};
  std::mutex done_mu;
  std::condition_variable done_cv;
  size_t threads_done = 0;  // guarded by done_mu
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
  for (int i = 0; i < threads; ++i) {
    impl->workers.push_back(std::make_unique<Worker>());
    if (impl->shared.upstream)
      impl->workers.back()->pool = std::make_unique<proxy::ConnectionPool>(
          impl->shared.upstream->options.max_idle_connections);
  }
  if (Status s = impl->Bind(); !s.ok()) return s;
  impl->Accept();
  impl->StartThreads();
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(impl)));
}

int GatewayServer::port() const { return impl_->bound_port; }
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
  s.delayed = c.delayed.load(std::memory_order_relaxed);
  const proxy::ProxyCounters& p = impl_->shared.proxy_counters;
  s.proxied = p.proxied.load(std::memory_order_relaxed);
  s.upstream_errors = p.upstream_errors.load(std::memory_order_relaxed);
  s.client_aborts = p.client_aborts.load(std::memory_order_relaxed);
  s.open_streams = p.open_streams.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tosgate::api
