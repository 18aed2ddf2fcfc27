#include "api/gateway/inline_proxy.h"

#include <sys/socket.h>

#include <array>
#include <limits>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "api/request/responses.h"
#include "api/request/usage_scanner.h"
#include "engine/engine.h"

namespace tosgate::api::proxy {
namespace {

bool HopByHop(beast::string_view name) {
  static constexpr const char* kHop[] = {"connection", "keep-alive", "proxy-connection",
                                               "proxy-authenticate", "proxy-authorization", "te",
                                               "trailer", "transfer-encoding", "upgrade",
                                               "content-length"};
  for (const char* h : kHop)
    if (beast::iequals(name, h)) return true;
  return false;
}

bool StartsWithNoCase(beast::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         beast::iequals(s.substr(0, prefix.size()), beast::string_view(prefix.data(), prefix.size()));
}

// Headers the upstream never gets from the client as they are.
bool DroppedAlways(beast::string_view name) {
  static constexpr const char* kDropped[] = {
      // hop-by-hop, or ours to set
      "host", "connection", "keep-alive", "proxy-connection", "te", "upgrade", "trailer",
      "proxy-authenticate",
      // framing: the body is sent whole, with a Content-Length of its own
      "content-length", "transfer-encoding", "expect",
      // credentials: only the one that was checked is sent, set below
      "authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key"};
  for (const char* h : kDropped)
    if (beast::iequals(name, h)) return true;
  return StartsWithNoCase(name, "x-tos-");  // a client cannot speak for tosgate
}

bool IsForwardingHeader(beast::string_view name) {
  return StartsWithNoCase(name, "x-forwarded-") || StartsWithNoCase(name, "x-original-") ||
         beast::iequals(name, "x-real-ip") || beast::iequals(name, "forwarded");
}

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(Exchange ex, const Upstream& up, ConnectionPool& pool, engine::Engine& engine,
       ProxyCounters& counters)
      : ex_(std::move(ex)), up_(up), pool_(pool), engine_(engine), counters_(counters) {}

  void Start() {
    counters_.proxied.fetch_add(1, std::memory_order_relaxed);
    counters_.open_streams.fetch_add(1, std::memory_order_relaxed);
    WatchClient();
    Connect();
  }

 private:
  // A client that goes away while we wait for the upstream cancels it.
  void WatchClient() {
    ex_.client->socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](
                                                                 beast::error_code ec) {
      if (ec || self->finished_) return;
      char c;
      const ssize_t n = ::recv(self->ex_.client->socket().native_handle(), &c, 1,
                               MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) self->ClientGone();
      // Bytes of a pipelined next request: leave them for the session.
    });
  }

  void Connect() {
    upstream_ = pool_.Take();
    reused_ = upstream_ != nullptr;
    if (reused_) return Send();
    upstream_ = std::make_unique<Stream>(ex_.client->get_executor());
    upstream_->expires_after(up_.options.connect_timeout);
    upstream_->async_connect(up_.endpoints, [self = shared_from_this()](beast::error_code ec,
                                                                        const tcp::endpoint&) {
      if (self->finished_) return;
      if (ec) return self->Fail(ec == beast::error::timeout ? 504 : 502, "upstream-unreachable",
                                "cannot connect to the upstream: " + ec.message());
      beast::error_code ignored;
      self->upstream_->socket().set_option(tcp::no_delay(true), ignored);
      self->Send();
    });
  }

  void Send() {
    upstream_->expires_after(up_.options.response_timeout);
    http::async_write(*upstream_, ex_.request, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (self->finished_) return;
      if (ec) return self->RetryOrFail(ec);
      self->parser_.emplace();
      // Not boost::none: Boost 1.74 compares a content length against an
      // empty limit as exceeding it.
      self->parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      http::async_read_header(*self->upstream_, self->upstream_buffer_, *self->parser_,
                              [self](beast::error_code ec, size_t) { self->OnHeader(ec); });
    });
  }

  // A pooled connection the upstream had already closed: try once afresh.
  void RetryOrFail(beast::error_code ec) {
    if (reused_ && !retried_) {
      retried_ = true;
      upstream_.reset();
      upstream_buffer_.clear();
      reused_ = false;
      upstream_ = std::make_unique<Stream>(ex_.client->get_executor());
      upstream_->expires_after(up_.options.connect_timeout);
      upstream_->async_connect(up_.endpoints, [self = shared_from_this()](beast::error_code ec,
                                                                          const tcp::endpoint&) {
        if (self->finished_) return;
        if (ec) return self->Fail(502, "upstream-unreachable", "cannot connect to the upstream: " + ec.message());
        self->Send();
      });
      return;
    }
    if (ec == beast::error::timeout)
      return Fail(504, "upstream-timeout", "the upstream did not answer in time");
    Fail(502, "bad-upstream-response", "the upstream failed: " + ec.message());
  }

  void OnHeader(beast::error_code ec) {
    if (finished_) return;
    if (ec) return RetryOrFail(ec);
    auto& up = parser_->get();
    response_.version(ex_.version == 10 ? 10 : 11);
    response_.result(up.result_int());
    for (const auto& f : up)
      if (!HopByHop(f.name_string())) response_.insert(f.name_string(), f.value());
    for (const auto& [k, v] : ex_.client_headers) response_.set(k, v);
    if (parser_->content_length()) response_.content_length(*parser_->content_length());
    else if (!ex_.head && up.result_int() != 204 && up.result_int() != 304) response_.chunked(true);
    response_.keep_alive(ex_.client_keep_alive);
    const beast::string_view type = up[http::field::content_type];
    scanner_.emplace(std::string_view(type.data(), type.size()));
    serializer_.emplace(response_);
    ex_.client->expires_after(up_.options.idle_timeout);
    http::async_write_header(*ex_.client, *serializer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->ClientGone();
      self->ReadBody();
    });
  }

  void ReadBody() {
    if (finished_) return;
    if (parser_->is_done()) return Finish();
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    upstream_->expires_after(up_.options.idle_timeout);
    http::async_read(*upstream_, upstream_buffer_, *parser_, [self = shared_from_this()](
                                                                  beast::error_code ec, size_t) {
      if (self->finished_) return;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        // The answer has begun: all we can do is cut the client's stream.
        // What usage it showed is reported (the rest stays reserved) and
        // the request's concurrency leases are released.
        self->counters_.upstream_errors.fetch_add(1, std::memory_order_relaxed);
        self->ReportUsage(self->scanner_->Finish());
        return self->End(false);
      }
      const size_t n = self->chunk_.size() - self->parser_->get().body().size;
      self->scanner_->Feed(std::string_view(self->chunk_.data(), n));
      if (self->ex_.batch) self->ex_.batch->Feed(std::string_view(self->chunk_.data(), n));
      self->WriteChunk(n, self->parser_->is_done());
    });
  }

  void WriteChunk(size_t n, bool last) {
    auto& body = response_.body();
    body.data = n ? chunk_.data() : nullptr;
    body.size = n;
    body.more = !last;
    ex_.client->expires_after(up_.options.idle_timeout);
    http::async_write(*ex_.client, *serializer_, [self = shared_from_this(), last](beast::error_code ec, size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->ClientGone();
      if (last) return self->Finish();
      self->ReadBody();
    });
  }

  void Finish() {
    if (!serializer_->is_done()) return WriteChunk(0, true);
    const bool reusable = parser_->keep_alive();
    const int status = static_cast<int>(parser_->get().result_int());
    if (reusable) pool_.Put(std::move(upstream_));
    engine::Usage usage = scanner_->Finish();
    if (ex_.batch) {
      switch (ex_.batch->Finish(status, ex_.decision_id, engine_)) {
        case BatchWatch::Report::kScanned: break;
        case BatchWatch::Report::kNothing: usage = {0, 0}; break;  // refused: nothing ran
        case BatchWatch::Report::kHeld:
          // Accepted: the reservation waits for the batch's results; only
          // the submission's concurrency leases end here.
          reported_ = true;
          (void)engine_.ReleaseLeases(ex_.decision_id, engine::UsageSource::kInlineProxy);
          break;
      }
    }
    ReportUsage(usage);
    End(ex_.client_keep_alive);
  }

  void ClientGone() {
    if (finished_) return;
    counters_.client_aborts.fetch_add(1, std::memory_order_relaxed);
    if (scanner_) ReportUsage(scanner_->Finish());
    else ReportUsage({});  // unknown: keep what was reserved
    End(false);
  }

  // Before any byte went to the client: a problem+json of our own.
  void Fail(int status, std::string_view reason, const std::string& detail) {
    counters_.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    ReportUsage({0, 0});  // the upstream did no work
    HttpResponse r;
    RenderError(status, reason, detail, &r);
    error_.emplace();
    error_->version(ex_.version == 10 ? 10 : 11);
    error_->result(status);
    error_->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : ex_.client_headers) error_->set(k, v);
    error_->body() = std::move(r.body);
    error_->keep_alive(ex_.client_keep_alive);
    error_->prepare_payload();
    upstream_.reset();
    ex_.client->expires_after(up_.options.idle_timeout);
    http::async_write(*ex_.client, *error_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->End(!ec && self->ex_.client_keep_alive);
    });
  }

  void ReportUsage(engine::Usage usage) {
    if (reported_ || ex_.decision_id.empty()) return;
    reported_ = true;
    (void)engine_.ReportUsage(ex_.decision_id, usage,
                             engine::UsageSource::kInlineProxy);  // NotFound: nothing was held
  }

  void End(bool keep_alive) {
    if (finished_) return;
    finished_ = true;
    counters_.open_streams.fetch_sub(1, std::memory_order_relaxed);
    if (upstream_) {
      beast::error_code ec;
      upstream_->socket().close(ec);  // cancels what is pending on it
    }
    beast::error_code ec;
    ex_.client->socket().cancel(ec);  // the watch
    auto done = std::move(ex_.done);
    done(keep_alive);
  }

  Exchange ex_;
  const Upstream& up_;
  ConnectionPool& pool_;
  engine::Engine& engine_;
  ProxyCounters& counters_;
  std::unique_ptr<Stream> upstream_;
  beast::flat_buffer upstream_buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  http::response<http::buffer_body> response_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
  std::optional<http::response<http::string_body>> error_;
  std::optional<UsageScanner> scanner_;
  std::array<char, 16 * 1024> chunk_;
  bool reused_ = false, retried_ = false, reported_ = false, finished_ = false;
};

}  // namespace

Result<Upstream> ResolveUpstream(UpstreamOptions options) {
  Upstream up;
  const std::string& url = options.url;
  if (url.rfind("https://", 0) == 0)
    return Status::InvalidArgument("upstream " + url + ": https upstreams are not supported yet");
  if (url.rfind("http://", 0) != 0)
    return Status::InvalidArgument("upstream " + url + ": expected http://host:port");
  std::string rest = url.substr(7);
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  up.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!up.base_path.empty() && up.base_path.back() == '/') up.base_path.pop_back();
  std::string host = authority, port = "80";
  if (const size_t colon = authority.rfind(':');
      colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidArgument("upstream " + url + ": expected http://host:port");
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty())
    return Status::Unavailable("upstream " + url + ": cannot resolve " + host + ": " + ec.message());
  for (const auto& r : results) up.endpoints.push_back(r.endpoint());
  up.host_header = authority;
  up.options = std::move(options);
  return up;
}

std::unique_ptr<Stream> ConnectionPool::Take() {
  while (!idle_.empty()) {
    std::unique_ptr<Stream> s = std::move(idle_.back());
    idle_.pop_back();
    if (s->socket().is_open()) return s;
  }
  return nullptr;
}

void ConnectionPool::Put(std::unique_ptr<Stream> stream) {
  if (!stream || idle_.size() >= max_idle_) return;
  stream->expires_never();
  idle_.push_back(std::move(stream));
}

void BuildUpstreamRequest(const http::request<http::string_body>& client, const Outgoing& o,
                          std::string body, http::request<http::string_body>* up) {
  up->method_string(beast::string_view(o.method.data(), o.method.size()));
  up->target(o.target);
  up->version(11);
  std::string forwarded_for;  // a trusted proxy's, extended with its address
  bool forwarded_proto = false;
  for (const auto& f : client) {
    const beast::string_view name = f.name_string();
    if (DroppedAlways(name)) continue;
    if (IsForwardingHeader(name)) {
      if (!o.peer_trusted) continue;
      if (beast::iequals(name, "x-forwarded-for")) {
        if (!forwarded_for.empty()) forwarded_for += ", ";
        forwarded_for.append(f.value().data(), f.value().size());
        continue;
      }
      forwarded_proto = forwarded_proto || beast::iequals(name, "x-forwarded-proto");
    } else if (!o.peer_trusted) {
      bool identity = false;
      for (std::string_view h : o.identity_headers)
        identity = identity || (!h.empty() && beast::iequals(name, beast::string_view(h.data(), h.size())));
      if (identity) continue;
    }
    up->insert(name, f.value());
  }
  up->set(http::field::host, beast::string_view(o.host_header.data(), o.host_header.size()));
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += o.peer_ip;
  up->set("X-Forwarded-For", forwarded_for);
  if (!forwarded_proto) up->set("X-Forwarded-Proto", "http");
  if (const Forwarding* fwd = o.forwarding; fwd && !fwd->credential.empty()) {
    switch (fwd->carrier) {
      case CredentialCarrier::kAuthorization: up->set(http::field::authorization, fwd->credential); break;
      case CredentialCarrier::kXApiKey: up->set("x-api-key", fwd->credential); break;
      case CredentialCarrier::kApiKey: up->set("api-key", fwd->credential); break;
      case CredentialCarrier::kXGoogApiKey: up->set("x-goog-api-key", fwd->credential); break;
      case CredentialCarrier::kQueryKey:  // already in the target
      case CredentialCarrier::kNone: break;
    }
  }
  if (o.decision_headers)
    for (const auto& [k, v] : *o.decision_headers)
      if (k.rfind("X-Tos-", 0) == 0) up->set(k, v);
  up->body() = std::move(body);
  up->keep_alive(true);
  up->prepare_payload();
}

void Relay(Exchange ex, const Upstream& upstream, ConnectionPool& pool, engine::Engine& engine,
           ProxyCounters& counters) {
  std::make_shared<Call>(std::move(ex), upstream, pool, engine, counters)->Start();
}

}  // namespace tosgate::api::proxy
