// One connection of the data plane: read a request, answer it (forward-auth
// check, usage report, health, or inline proxy, by which listener it came in
// on: gateway_server.h), repeat while keep-alive. Private to api/gateway:
// its reading, writing and audit hand-off are here, its request handlers in
// session_handlers.cc, the functions the server calls in session.cc.
#pragma once

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>

#include <cerrno>

#include "api/request/responses.h"
#include "api/gateway/server_internal.h"
#include "api/gateway/wire.h"
#include "api/request/usage_report.h"
#include "engine/engine.h"
#include "engine/snapshot.h"

namespace tosgate::api::gateway_internal {

constexpr std::chrono::seconds kLingerTimeout{1};
constexpr size_t kFirstRead = 4096;  // an idle connection's first read
constexpr std::string_view kUsagePath = "/v1/usage";

inline bool IsHttpError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

inline std::string_view PathOf(std::string_view target) {
  size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

inline bool UnderPrefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

inline std::string PeerIp(const Socket& s) {
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
  Session(Socket socket, Shared* shared, Worker* worker, Listener listener)
      : stream_(std::move(socket)), shared_(shared), worker_(worker), listener_(listener) {
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

  // A new connection, or one with bytes of the next request already here,
  // has header_timeout for the whole header. An idle keep-alive connection
  // waits up to idle_timeout for the first byte, and the header deadline
  // starts then: a client trickling a header a byte at a time is cut off
  // after header_timeout, however slowly it sends.
  void ReadHeader() {
    state_ = State::kIdle;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
    body_limit_ = shared_->options.forward_auth.max_body_bytes;
    parser_->body_limit(body_limit_);
    if (first_ || buffer_.size() > 0) return ReadHeaderNow();
    WaitIdle();
  }

  // The wait for a kept-alive connection's next request. Readiness first,
  // then one recv: no speculative read that would find nothing (the client
  // is still reading our answer), and no timer armed per request: the idle
  // timer is armed once and, when it goes off early, re-armed for the
  // deadline the latest wait set. What the client sees is what Beast's
  // timed read gave: closed at idle_timeout, the same errors otherwise.
  void WaitIdle() {
    idle_deadline_ = std::chrono::steady_clock::now() + shared_->options.idle_timeout;
    idle_waiting_ = true;
    if (!idle_timer_armed_) ArmIdleTimer();
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) {
                                  self->OnIdleReady(ec);
                                });
  }

  void ArmIdleTimer() {
    idle_timer_armed_ = true;
    idle_timer_.expires_at(idle_deadline_);
    // Weak: a closed connection must not wait for its idle timer to go.
    idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock()) self->OnIdleTimer(ec);
    });
  }

  void OnIdleTimer(beast::error_code ec) {
    idle_timer_armed_ = false;
    if (ec || !idle_waiting_) return;  // not waiting now: the next wait re-arms it
    if (std::chrono::steady_clock::now() < idle_deadline_) return ArmIdleTimer();
    idle_timed_out_ = true;  // as basic_stream does: close, and report a timeout
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  void OnIdleReady(beast::error_code ec) {
    idle_waiting_ = false;
    if (idle_timed_out_) return OnReadError(beast::error::timeout, /*idle=*/true);
    if (ec) return OnReadError(ec, /*idle=*/true);
    const auto into = buffer_.prepare(kFirstRead);
    const ssize_t n =
        ::recv(stream_.socket().native_handle(), into.data(), into.size(), MSG_DONTWAIT);
    if (n > 0) {
      buffer_.commit(static_cast<size_t>(n));
      return ParseBuffered();
    }
    if (n == 0) return OnReadError(net::error::eof, /*idle=*/true);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WaitIdle();
    OnReadError(beast::error_code(errno, boost::system::system_category()), /*idle=*/true);
  }

  // What async_read_header would do first with the bytes just read, done
  // here: a whole header in them (the usual case) is handled at once rather
  // than after a round through the io_context. Anything short of that
  // continues in async_read_header, whose parser state this leaves as it
  // would have been.
  void ParseBuffered() {
    beast::error_code ec;
    parser_->eager(false);
    const size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more || (!ec && !parser_->is_header_done()))
      return ReadHeaderNow();
    OnHeader(ec);
  }

  void ReadHeaderNow() {
    stream_.expires_after(shared_->options.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    state_ = State::kBusy;
    stream_.expires_after(shared_->options.read_timeout);
    if (parser_->is_done()) return OnRequest();
    // A usage report is small: one larger is refused before it is read.
    // (The parser checks a Content-Length against its limit only while it
    // reads the header, so a declared length is checked here.)
    if (IsUsageTarget()) {
      body_limit_ = kMaxUsageReportBytes;
      if (parser_->content_length() && *parser_->content_length() > body_limit_)
        return OnReadError(http::error::body_limit);
      parser_->body_limit(body_limit_);
    }
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

  // Whether the request whose header is in is a usage report.
  bool IsUsageTarget() {
    const auto target = parser_->get().target();
    return PathOf(std::string_view(target.data(), target.size())) == kUsagePath;
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  // `idle`: no byte of a request had come yet.
  void OnReadError(beast::error_code ec, bool idle = false) {
    if (ec == net::error::operation_aborted) return;  // closed by Stop()
    if (ec == beast::error::timeout && !idle) Bump(shared_->counters.read_timeouts);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == http::error::partial_message || !IsHttpError(ec)) {
      return Linger();  // the client left, went quiet, or the socket failed
    }
    state_ = State::kBusy;
    Bump(shared_->counters.bad_requests);
    if (ec == http::error::body_limit) {
      // Past the general limit already while the header was read.
      if (IsUsageTarget()) body_limit_ = kMaxUsageReportBytes;
      RenderError(413, "body-too-large",
                  "the request body is larger than " + std::to_string(body_limit_) + " bytes",
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
  using Then = void (Session::*)(Decision);
  void Decide(Then then) {
    engine::AuditSink* sink = shared_->options.durable_audit;
    engine::AuditRecord record;
    Decision d = sink ? shared_->engine.Check(request_, &record) : shared_->engine.Check(request_);
    Bump(shared_->counters.checks);
    if (!sink || record.id.empty()) return (this->*then)(std::move(d));
    waiting_audit_ = true;
    pending_ = std::move(d);
    pending_then_ = then;
    // `done` holds a bare pointer (stored inside std::function, no
    // allocation); audit_hold_ keeps the session alive until OnAudited,
    // which always runs after this returns (it is posted to this thread).
    sink->SubmitThen(std::move(record), [this](Status s) { Audited(worker_, this, std::move(s)); });
    audit_hold_ = shared_from_this();
  }

 public:
  // The audit writer's thread (or SubmitThen itself): queues the commit for
  // the session's worker, which is woken once per batch, not per record.
  static void Audited(Worker* w, Session* s, Status status) {
    engine::MutexLock lock(w->audit_mu);
    const bool wake = w->audited.empty();
    w->audited.emplace_back(s, std::move(status));
    lock.Unlock();
    if (wake) net::post(w->ioc, [w] { DrainAudited(w); });
  }

  // On the worker's thread: answers every session whose record is committed.
  static void DrainAudited(Worker* w) {
    {
      engine::MutexLock lock(w->audit_mu);
      std::swap(w->audited, w->audited_batch);
    }
    for (auto& [s, status] : w->audited_batch) s->OnAudited(std::move(status));
    w->audited_batch.clear();
  }

  // The decision's record is committed (or refused): answer.
  void OnAudited(Status s) {
    const std::shared_ptr<Session> self = std::move(audit_hold_);
    shared_->engine.AuditOutcome(&pending_, s);
    (this->*pending_then_)(std::move(pending_));
    waiting_audit_ = false;
    Respond();
  }
  void DropAuditHold() { audit_hold_.reset(); }

 private:
  // Request handlers (session_handlers.cc).
  // Routes by path and by listener (the table in gateway_server.h).
  void Handle(http::request<http::string_body>& req);

  // A control endpoint asked for on the client port (or, with a control
  // listener in forward-auth mode, a usage report on the main port). Never
  // relayed either: the upstream is no place for a usage report or a check.
  void NotOnThisPort();

  // Whether a canonical path names a control endpoint.
  bool IsControlPath(std::string_view path) const;

  void Health(http::request<http::string_body>& req);
  void Usage(http::request<http::string_body>& req);

  // Turns the HTTP request into request_ (and, for the inline proxy, fwd_:
  // what is relayed), or renders the refusal and returns false. The body is
  // moved into in_, where it stays until the relay takes it: the upstream
  // gets the very bytes that were decided on.
  bool TranslateRequest(http::request<http::string_body>& req, std::string_view target,
                        bool inline_mode);

  void Check(http::request<http::string_body>& req, std::string_view target);
  void Answer(Decision d);

  // Inline proxy mode: decide on the request itself, then relay it.
  void Proxy(http::request<http::string_body>& req, std::string_view target);

  void Relay(Decision d);
  void StartRelay();

  // Writing the answer, and after it.
  void Write(unsigned version, bool keep_alive, bool head) {
    keep_alive = keep_alive && !closing_ && !shared_->stopping.load(std::memory_order_relaxed);
    wire_.clear();
    if (AppendResponse(out_, version, keep_alive, head, &wire_)) return Send(keep_alive);
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

  // Writes wire_: straight into the socket when it takes it all (a small
  // answer into an empty send buffer, the usual case), else what is left
  // asynchronously under read_timeout, as Beast's write did.
  void Send(bool keep_alive) {
    Bump(shared_->counters.requests);  // before the write, as in Write
    const ssize_t n = ::send(stream_.socket().native_handle(), wire_.data(), wire_.size(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(wire_.size())) return OnWrite({}, keep_alive);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return OnWrite(beast::error_code(errno, boost::system::system_category()), keep_alive);
    const size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
    stream_.expires_after(shared_->options.read_timeout);
    net::async_write(stream_, net::buffer(wire_.data() + sent, wire_.size() - sent),
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
  const Listener listener_;
  size_t body_limit_ = 0;  // the current request's
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;  // written by Beast: what wire.h leaves to it
  std::string wire_;                       // written by us: the answer's bytes, reused
  // Reused from request to request on this connection.
  IncomingRequest in_;
  Request request_;
  Forwarding fwd_;  // inline proxy: what to relay
  HttpResponse out_;
  std::array<char, 512> drain_;
  // The idle wait's timer (WaitIdle).
  net::steady_timer idle_timer_{stream_.get_executor()};
  std::chrono::steady_clock::time_point idle_deadline_{};
  bool idle_waiting_ = false, idle_timer_armed_ = false, idle_timed_out_ = false;
  net::steady_timer delay_timer_{stream_.get_executor()};
  int64_t delay_ms_ = 0;  // delay mode: hold the current answer this long
  std::optional<proxy::Exchange> relay_;  // inline proxy: the request to relay
  bool waiting_audit_ = false;  // the answer waits for the audit commit
  // While it waits: the decision, what to do with it, and the session itself.
  Decision pending_;
  Then pending_then_ = nullptr;
  std::shared_ptr<Session> audit_hold_;
  ProxyDialect dialect_ = ProxyDialect::kPlain;  // the check's
  // The request being answered.
  unsigned version_ = 11;
  bool head_ = false, keep_alive_ = true;
  State state_ = State::kIdle;
  bool first_ = true;
  bool closing_ = false;
};

}  // namespace tosgate::api::gateway_internal
