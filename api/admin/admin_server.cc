// The cpp-httplib side of the control plane. This is the only file in api/
// that includes httplib.h; the rest sees AdminServer only.
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
#include <sys/socket.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/gateway/responses.h"
#include "engine/engine.h"

namespace tosgate::api {
namespace {

constexpr time_t kKeepAliveTimeoutS = 2;
constexpr size_t kKeepAliveMaxCount = 100;

void Reply(const HttpResponse& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  res.set_content(r.body, r.content_type.empty() ? "text/plain" : r.content_type.c_str());
}

void ReplyError(int status, std::string_view reason, std::string_view detail,
                httplib::Response& res) {
  HttpResponse r;
  RenderError(status, reason, detail, &r);
  Reply(r, res);
}

void ReplyJson(int status, const nlohmann::json& j, httplib::Response& res) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

}  // namespace

struct AdminServer::Impl {
  Impl(AdminServerOptions o, engine::Engine& e, std::function<bool(std::string*)> r)
      : options(std::move(o)), engine(e), ready(std::move(r)) {}
  ~Impl() { Stop(); }

  void Routes() {
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      ReplyJson(200, {{"status", "ok"}}, res);
    });
    server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      std::string reason;
      if (ready && !ready(&reason)) {
        ReplyJson(503, {{"status", "not-ready"}, {"reason", reason.empty() ? "not ready" : reason}},
                  res);
        return;
      }
      auto snap = engine.snapshot();
      if (!snap) {
        ReplyJson(503, {{"status", "not-ready"}, {"reason", "no policy snapshot is published"}},
                  res);
        return;
      }
      ReplyJson(200, {{"status", "ready"}, {"policy_revision", snap->revision}}, res);
    });
    auto get_only = [](const httplib::Request&, httplib::Response& res) {
      ReplyError(405, "method-not-allowed", "this endpoint answers GET", res);
      res.set_header("Allow", "GET");
    };
    for (const char* path : {"/healthz", "/readyz"}) {
      server.Post(path, get_only);
      server.Put(path, get_only);
      server.Patch(path, get_only);
      server.Delete(path, get_only);
      server.Options(path, get_only);
    }
    // Every other error status without a body (unknown route: 404) becomes
    // problem+json too; handlers that wrote a body keep it.
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          if (res.status == 404)
            ReplyError(404, "not-found", "no such endpoint: " + req.path, res);
          else
            ReplyError(res.status, "http-error", "the request could not be served", res);
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler([this](const httplib::Request&, httplib::Response& res,
                                        std::exception_ptr) {
      internal_errors.fetch_add(1, std::memory_order_relaxed);
      ReplyError(500, "internal-error", "the admin server failed while handling the request", res);
    });
  }

  void Configure() {
    const size_t threads = options.threads > 0 ? static_cast<size_t>(options.threads) : 1;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_read_timeout(options.read_timeout);
    server.set_write_timeout(options.write_timeout);
    server.set_keep_alive_timeout(kKeepAliveTimeoutS);
    server.set_keep_alive_max_count(kKeepAliveMaxCount);
    server.set_payload_max_length(options.max_body_bytes);
    // The library's default sets SO_REUSEPORT, which would let a second
    // server share the port silently; SO_REUSEADDR alone makes it an error.
    server.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
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
      port = server.bind_to_any_port(host);
      if (port < 0) port = 0;
    } else if (!server.bind_to_port(host, port)) {
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
    while (!server.is_running() && !listen_done.load()) std::this_thread::yield();
    server.stop();
    thread.join();
  }

  AdminServerOptions options;
  engine::Engine& engine;
  std::function<bool(std::string*)> ready;
  httplib::Server server;
  std::thread thread;
  int bound_port = 0;
  std::atomic<bool> stopped{false};
  std::atomic<bool> listen_done{false};
  std::atomic<uint64_t> internal_errors{0};
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() {
  if (impl_) impl_->Stop();
}

Result<std::unique_ptr<AdminServer>> AdminServer::Start(AdminServerOptions options,
                                                        engine::Engine& engine,
                                                        std::function<bool(std::string*)> ready) {
  auto impl = std::make_unique<Impl>(std::move(options), engine, std::move(ready));
  impl->Configure();
  impl->Routes();
  if (Status s = impl->Bind(); !s.ok()) return s;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->server.listen_after_bind();
    raw->listen_done.store(true);
  });
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

int AdminServer::port() const { return impl_->bound_port; }
void AdminServer::Stop() { impl_->Stop(); }
uint64_t AdminServer::internal_errors() const {
  return impl_->internal_errors.load(std::memory_order_relaxed);
}

}  // namespace tosgate::api
