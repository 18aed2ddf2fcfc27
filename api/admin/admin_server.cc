// The cpp-httplib side of the control plane. This file and
// admin_connections.{h,cc} (how connections are held) are the only ones in
// api/ that include httplib.h; the handlers see admin::AdminRequest and
// admin::AdminResponse only (api/admin/router.h).
//
// Debian's libcpp-httplib is compiled with OpenSSL, zlib and Brotli support,
// and those switches change the layout of httplib::Request and Client: they
// must be defined the same way wherever the header is included.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include "api/admin/admin_server.h"

#include <httplib.h>
#include <openssl/rand.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <thread>

#include "api/admin/admin_connections.h"
#include "api/admin/console.h"
#include "api/admin/handlers.h"
#include "api/admin/router.h"
#include "engine/engine.h"

namespace tosgate::api {
namespace {

constexpr time_t kKeepAliveTimeoutS = 2;
constexpr size_t kKeepAliveMaxCount = 100;

// The whole answer to a connection over max_connections_per_address.
std::string TooManyConnections() {
  const admin::AdminResponse r = admin::Problem(
      503, "too-many-connections",
      "this address holds as many admin connections as it may (admin.max_connections_per_address)");
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + r.content_type +
         "\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
}

admin::ConnectionLimits LimitsOf(const AdminServerOptions& o) {
  admin::ConnectionLimits l;
  l.request_timeout = std::max(o.request_timeout, std::chrono::milliseconds(1));
  l.read_timeout = o.read_timeout;
  l.write_timeout = o.write_timeout;
  l.keep_alive_timeout = std::chrono::seconds(kKeepAliveTimeoutS);
  l.keep_alive_max = kKeepAliveMaxCount;
  l.max_per_address = o.max_connections_per_address;
  l.over_limit_response = TooManyConnections();
  return l;
}

void Reply(const admin::AdminResponse& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  res.set_content(r.body, r.content_type.empty() ? "text/plain" : r.content_type.c_str());
}

bool HasBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

admin::AdminRequest ToAdminRequest(const httplib::Request& req, bool with_body) {
  admin::AdminRequest out;
  out.method = req.method;
  out.path = req.path;
  // The query string only: httplib also puts a form-encoded body in
  // req.params (curl -d without a content type sends one).
  if (size_t q = req.target.find('?'); q != std::string::npos) {
    httplib::Params params;
    httplib::detail::parse_query_text(req.target.substr(q + 1), params);
    for (const auto& [k, v] : params) out.query.emplace(k, v);
  }
  for (const auto& [k, v] : req.headers) {
    std::string name = k;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), v);
  }
  if (with_body) out.body = req.body;
  out.remote_addr = req.remote_addr;
  return out;
}

std::string EventId() {
  unsigned char b[12];
  if (RAND_bytes(b, sizeof b) != 1) return "adm_unknown";
  static const char kHex[] = "0123456789abcdef";
  std::string out = "adm_";
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

struct AdminServer::Impl {
  Impl(AdminServerOptions o, admin::AdminServices s)
      : options(std::move(o)),
        services(std::move(s)),
        auth(options.tokens, services.clock, options.backoff),
        router(&auth),
        guard(LimitsOf(options)) {}
  ~Impl() { Stop(); }

  Status Create() {
    if (options.tls_cert.empty() != options.tls_key.empty())
      return Status::InvalidArgument("admin TLS needs both a certificate and a key");
    if (!options.tls_cert.empty()) {
      auto ssl = std::make_unique<admin::GuardedServer<httplib::SSLServer>>(
          &guard, options.tls_cert.c_str(), options.tls_key.c_str());
      if (!ssl->is_valid())
        return Status::InvalidArgument("admin TLS: cannot load the certificate " + options.tls_cert +
                                       " and key " + options.tls_key + " (PEM, matching pair)");
      server = std::move(ssl);
    } else {
      server = std::make_unique<admin::GuardedServer<httplib::Server>>(&guard);
    }
    return Status::Ok();
  }

  void RecordEvent(const admin::Route& route, const admin::AdminRequest& req,
                   const admin::AdminResponse& res) {
    if (!services.audit) return;
    engine::AuditRecord r;
    r.id = EventId();
    r.time_ms = services.clock->wall_ms();
    if (const std::string* rid = req.header("x-request-id")) r.request_id = *rid;
    r.account = "admin:" + req.caller.name;  // who acted; the target is in the path
    r.client_ip = req.remote_addr;
    r.method = req.method;
    r.path = req.path;
    r.operation = "admin." + route.action;
    r.kind = engine::RecordKind::kAdmin;
    r.status = res.status;
    if (!res.audit_note.empty()) {
      r.reason = res.audit_note;
    } else if (res.status >= 400) {
      auto j = nlohmann::json::parse(res.body, nullptr, false);
      r.reason = j.is_object() ? j.value("reason", "error") : "error";
    }
    if (auto snap = services.engine->snapshot()) r.policy_revision = snap->revision;
    if (!services.audit->Submit(std::move(r)).ok()) events_failed.fetch_add(1);
  }

  void Routes() {
    admin::AddAllRoutes(router, &services);
    router.on_action = [this](const admin::Route& route, const admin::AdminRequest& req,
                              const admin::AdminResponse& res) { RecordEvent(route, req, res); };
    // Every request passes here before its body is read: unknown routes,
    // bad methods, missing or wrong tokens and roles are refused without
    // reading an upload. Requests without a body are answered right here.
    admin::ConsoleOptions console_options;
    console_options.tls = !options.tls_cert.empty();
    console = std::make_unique<admin::Console>(&router, &auth, services.clock, console_options);
    console->on_event = router.on_action;
    server->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      admin::AdminRequest ar = ToAdminRequest(req, false);
      if (admin::Console::Owns(ar.path)) return ConsolePreRouting(ar, res);
      if (!HasBody(req.method)) {
        Reply(router.Handle(ar), res);
        return httplib::Server::HandlerResponse::Handled;
      }
      const admin::Route* route = nullptr;
      admin::AdminResponse error;
      if (router.Gate(ar, &route, &error)) return httplib::Server::HandlerResponse::Unhandled;
      // The unread body would be taken for the next request: close.
      error.headers.emplace_back("Connection", "close");
      Reply(error, res);
      return httplib::Server::HandlerResponse::Handled;
    });
    // Bodies are read by httplib (up to max_body_bytes), then the request
    // goes through the router again; the pattern only has to match anything.
    auto with_body = [this](const httplib::Request& req, httplib::Response& res) {
      admin::AdminRequest ar = ToAdminRequest(req, true);
      Reply(admin::Console::Owns(ar.path) ? console->Handle(ar) : router.Handle(ar), res);
    };
    server->Post(".*", with_body);
    server->Put(".*", with_body);
    server->Patch(".*", with_body);
    // Every other error status without a body becomes problem+json too;
    // handlers that wrote a body keep it.
    server->set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          admin::AdminResponse r;
          if (res.status == 404)
            r = admin::Problem(404, "not-found", "no such endpoint: " + req.path);
          else if (res.status == 413)
            r = admin::Problem(413, "body-too-large", "the request body is larger than the admin server accepts");
          else
            r = admin::Problem(res.status, "http-error", "the request could not be served");
          Reply(r, res);
          return httplib::Server::HandlerResponse::Handled;
        }));
    server->set_exception_handler([this](const httplib::Request&, httplib::Response& res,
                                         std::exception_ptr) {
      internal_errors.fetch_add(1, std::memory_order_relaxed);
      Reply(admin::Problem(500, "internal-error", "the admin server failed while handling the request"), res);
    });
  }

  // The web console (api/admin/console.h): as for the API, a request with
  // a body passes the console's checks before the body is read.
  httplib::Server::HandlerResponse ConsolePreRouting(admin::AdminRequest& ar, httplib::Response& res) {
    if (!HasBody(ar.method)) {
      Reply(console->Handle(ar), res);
      return httplib::Server::HandlerResponse::Handled;
    }
    admin::AdminResponse error;
    if (console->Gate(ar, &error)) return httplib::Server::HandlerResponse::Unhandled;
    error.headers.emplace_back("Connection", "close");
    Reply(error, res);
    return httplib::Server::HandlerResponse::Handled;
  }

  void Configure() {
    const size_t threads = options.threads > 0 ? static_cast<size_t>(options.threads) : 1;
    const size_t max_threads = std::max<size_t>(threads, options.max_threads > 0 ? options.max_threads : 0);
    server->new_task_queue = [this, threads, max_threads] {
      return new admin::ElasticPool(threads, max_threads, &workers);
    };
    server->set_read_timeout(options.read_timeout);
    server->set_write_timeout(options.write_timeout);
    server->set_keep_alive_timeout(kKeepAliveTimeoutS);
    server->set_keep_alive_max_count(kKeepAliveMaxCount);
    server->set_payload_max_length(options.max_body_bytes);
    // The library's default sets SO_REUSEPORT, which would let a second
    // server share the port silently; SO_REUSEADDR alone makes it an error.
    // TCP_NODELAY (inherited by accepted sockets): httplib writes the head
    // and the body separately, and Nagle plus the client's delayed ACK
    // held every POST answer back by about 40 ms.
    server->set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    });
  }

  Status Bind() {
    const std::string& listen = options.listen;
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
      return Status::InvalidArgument("listen address '" + listen + "' has no port");
    std::string host = listen.substr(0, colon);
    std::string p = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "0.0.0.0";
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(p) > 65535)
      return Status::InvalidArgument("listen address '" + listen + "' has a bad port");
    int port = static_cast<int>(std::stoul(p));
    if (port == 0) {
      port = server->bind_to_any_port(host);
      if (port < 0) port = 0;
    } else if (!server->bind_to_port(host, port)) {
      port = 0;
    }
    if (port == 0)
      return Status::Unavailable("listen on " + listen +
                                 ": cannot bind (address in use, or not an address of this host)");
    bound_port = port;
    return Status::Ok();
  }

  void Stop() {
    if (stopped.exchange(true) || !thread.joinable()) return;
    // httplib's stop() does nothing until listen_after_bind() has marked the
    // server running; wait for that (a matter of microseconds) or its end.
    while (!server->is_running() && !listen_done.load()) std::this_thread::yield();
    server->stop();
    thread.join();
  }

  AdminServerOptions options;
  admin::AdminServices services;
  admin::Authenticator auth;
  admin::Router router;
  admin::ConnectionGuard guard;  // before `server`, whose connections use it
  std::unique_ptr<httplib::Server> server;
  std::unique_ptr<admin::Console> console;
  std::atomic<size_t> workers{0};  // threads the pool has started
  std::thread thread;
  int bound_port = 0;
  std::atomic<bool> stopped{false};
  std::atomic<bool> listen_done{false};
  std::atomic<uint64_t> internal_errors{0};
  std::atomic<uint64_t> events_failed{0};
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() {
  if (impl_) impl_->Stop();
}

Result<std::unique_ptr<AdminServer>> AdminServer::Start(AdminServerOptions options,
                                                        admin::AdminServices services) {
  if (!services.engine) return Status::InvalidArgument("the admin server needs an engine");
  auto checked = admin::Authenticator::Check(std::move(options.tokens));
  if (!checked.ok()) return checked.status();
  options.tokens = std::move(checked).value();
  static const SystemClock kSystemClock;
  if (!services.clock) services.clock = &kSystemClock;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(services));
  if (Status s = impl->Create(); !s.ok()) return s;
  impl->Configure();
  impl->Routes();
  if (Status s = impl->Bind(); !s.ok()) return s;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->server->listen_after_bind();
    raw->listen_done.store(true);
  });
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

Result<std::unique_ptr<AdminServer>> AdminServer::Start(AdminServerOptions options,
                                                        engine::Engine& engine,
                                                        std::function<bool(std::string*)> ready) {
  admin::AdminServices s;
  s.engine = &engine;
  s.ready = std::move(ready);
  return Start(std::move(options), std::move(s));
}

int AdminServer::port() const { return impl_->bound_port; }
void AdminServer::Stop() { impl_->Stop(); }
uint64_t AdminServer::internal_errors() const {
  return impl_->internal_errors.load(std::memory_order_relaxed);
}
uint64_t AdminServer::admin_events_failed() const { return impl_->events_failed.load(); }
uint64_t AdminServer::slow_clients() const { return impl_->guard.slow_clients(); }
uint64_t AdminServer::refused_connections() const { return impl_->guard.refused(); }
size_t AdminServer::worker_threads() const { return impl_->workers.load(); }

}  // namespace tosgate::api
