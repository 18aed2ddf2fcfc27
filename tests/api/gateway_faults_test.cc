// Fault injection through the data plane: the audit store's disk fills up
// under synchronous durability, the upstream hangs or resets in the middle
// of an answer, a client trickles its header (slowloris), and a flood of idle
// and half-open connections. Each time the documented answer comes within
// a bounded time, the failure is counted, and other clients are served.
// docs/hardening.md#fault-injection has the table.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/gateway/gateway_server.h"
#include "engine/engine.h"
#include "policies/loader.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/api/raw_client.h"
#include "tests/storage/audit_test_support.h"
#include "tests/storage/fault_vfs.h"
#include "tests/storage/temp_dir.h"
#include "tosgate/clock.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::string PolicyWith(const std::string& failure_mode) {
  return R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: faults}
settings: {failure_mode: )" + failure_mode + R"(}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
  images: {methods: [POST], paths: [/v1/images]}
rules:
  - id: budget
    kind: token_budget
    match: {operations: [chat]}
    limit: {tokens: 1000, per: 1m}
    default_max_tokens: 16
  - id: inflight
    kind: rate_limit
    match: {operations: [images]}
    limit: {concurrent: 1}
)";
}

struct Gateway {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<GatewayServer> server;

  explicit Gateway(GatewayServerOptions o, engine::AuditSink* audit = nullptr,
                   const std::string& failure_mode = "closed") {
    engine = std::make_unique<engine::Engine>(
        engine::EngineOptions{&clock, state.get(), audit, nullptr});
    policies::LoadResult r = policies::LoadPolicyFiles({{"faults.yaml", PolicyWith(failure_mode)}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine->Publish(r.snapshot);
    o.listen = "127.0.0.1:0";
    o.threads = 1;  // one thread: a stuck connection would stall the others
    o.durable_audit = audit;
    auto s = GatewayServer::Start(std::move(o), *engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
  }
  int port() const { return server->port(); }
};

std::string CheckRequest(const std::string& path, const std::string& body = "{\"model\":\"m\"}") {
  return HttpRequest("POST", "/v1/check",
                     {{"X-Original-Method", "POST"}, {"X-Original-URI", path},
                      {"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}},
                     body);
}

RawResponse RoundTrip(int port, const std::string& request) {
  RawClient c(port);
  RawResponse r;
  REQUIRE(c.RoundTrip(request, &r));
  return r;
}

// Waits up to `limit` for the server to close `c`.
bool ClosedWithin(RawClient& c, std::chrono::milliseconds limit) {
  pollfd p{c.fd(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  return c.Closed();
}

// Polls `cond` until it holds, at most `limit`.
template <typename F>
bool Eventually(F cond, std::chrono::milliseconds limit = 5s) {
  const auto until = SteadyClock::now() + limit;
  while (!cond()) {
    if (SteadyClock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

void AuditDiskFull(bool open) {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  storage::audit_test::FaultVfs vfs;
  storage::SqliteAuditOptions ao;
  ao.path = path;
  ao.durability = storage::Durability::kSync;
  ao.commit_timeout = 150ms;
  auto sink = storage::audit_test::OpenSink(ao);
  Gateway g({}, sink.get(), open ? "open" : "closed");

  CHECK(RoundTrip(g.port(), CheckRequest("/v1/chat/completions")).status == 200);
  vfs.Set(storage::audit_test::FaultVfs::Fault::kDiskFull);
  RawClient stuck(g.port());
  REQUIRE(stuck.Send(CheckRequest("/v1/chat/completions")));
  // While that record waits for a commit, the thread serves others.
  const auto start = SteadyClock::now();
  CHECK(RoundTrip(g.port(), HttpRequest("GET", "/healthz")).status == 200);
  CHECK(SteadyClock::now() - start < 150ms);
  RawResponse r;
  REQUIRE(stuck.Read(&r));
  const auto waited = SteadyClock::now() - start;
  CHECK(waited < 3s);
  if (open) {
    CHECK(r.status == 200);
    CHECK(g.engine->counters().fail_open == 1);
  } else {
    CHECK(r.status == 503);
    CHECK(r.body.find("audit-unavailable") != std::string::npos);
    CHECK(g.engine->counters().fail_open == 0);
  }
  CHECK(g.engine->counters().audit_failures == 1);
  CHECK(sink->stats().write_errors >= 1);
  CHECK(sink->stats().commit_timeouts == 1);

  vfs.Set(storage::audit_test::FaultVfs::Fault::kNone);
  CHECK(RoundTrip(g.port(), CheckRequest("/v1/chat/completions")).status == 200);
  g.server->Stop();
  REQUIRE(sink->Close().ok());
  // The first, the one that waited (its decision as made) and the last.
  CHECK(storage::audit_test::CountSql(path, "SELECT count(*) FROM decisions") == 3);
}

TEST_CASE("gateway faults: the audit disk fills under sync durability; failure_mode decides, nothing accepted is lost") {
  SUBCASE("failure_mode: closed") { AuditDiskFull(false); }
  SUBCASE("failure_mode: open") { AuditDiskFull(true); }
}

// A loopback upstream that answers each connection with `script(i)`: the
// bytes to send for the i-th connection, and whether to reset after them.
class ScriptedUpstream {
 public:
  struct Reply {
    std::string bytes;
    bool reset = false;
  };
  explicit ScriptedUpstream(std::function<Reply(int)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedUpstream() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  void Serve() {
    for (int i = 0;; ++i) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string got;
      char buf[4096];
      while (got.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      const Reply reply = script_(i);
      (void)::send(c, reply.bytes.data(), reply.bytes.size(), MSG_NOSIGNAL);
      if (reply.reset) {
        linger l{1, 0};  // close with RST
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      ::close(c);
    }
  }
  std::function<Reply(int)> script_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string Inline(const std::string& path, const std::string& body) {
  return HttpRequest("POST", path, {{"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}},
                     body);
}

TEST_CASE("gateway faults: an upstream reset mid-answer cuts the client, releases the lease, serves on") {
  ScriptedUpstream up([](int i) -> ScriptedUpstream::Reply {
    if (i == 0)
      return {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"partial",
              true};
    return {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"};
  });
  GatewayServerOptions o;
  o.upstream_url = "http://127.0.0.1:" + std::to_string(up.port());
  o.upstream_response_timeout = 2s;
  Gateway g(o);
  {
    RawClient c(g.port());
    RawResponse r;
    const auto start = SteadyClock::now();
    REQUIRE(c.Send(Inline("/v1/images", "{}")));
    CHECK_FALSE(c.Read(&r));  // 200 and a few bytes, then the connection closes
    CHECK(SteadyClock::now() - start < 2s);  // closed, not the client's read timeout
  }
  REQUIRE(Eventually([&] { return g.server->stats().open_streams == 0; }));
  CHECK(g.server->stats().upstream_errors == 1);
  // One request at a time is allowed on /v1/images: the cut one gave its
  // lease back, so the next is relayed instead of throttled.
  RawResponse next = RoundTrip(g.port(), Inline("/v1/images", "{}"));
  CHECK(next.status == 200);
  CHECK(next.body == "{}");
}

TEST_CASE("gateway faults: a hanging upstream is a 504 after the timeout; others flow; the reservation is given back") {
  std::atomic<int> answered{0};
  // The first connection is accepted, read, and never answered.
  ScriptedUpstream up([&](int i) -> ScriptedUpstream::Reply {
    if (i == 0) {
      Eventually([&] { return answered.load() > 0; }, 5s);
      return {"", false};
    }
    return {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"};
  });
  GatewayServerOptions o;
  o.upstream_url = "http://127.0.0.1:" + std::to_string(up.port());
  o.upstream_response_timeout = 300ms;
  Gateway g(o);
  RawClient hung(g.port());
  // 900 of the 1000 tokens a minute reserved by the hanging request.
  REQUIRE(hung.Send(Inline("/v1/chat/completions", R"({"model":"m","max_tokens":900})")));
  CHECK(RoundTrip(g.port(), HttpRequest("GET", "/healthz")).status == 200);  // served meanwhile
  RawResponse r;
  REQUIRE(hung.Read(&r));
  answered = 1;
  CHECK(r.status == 504);
  CHECK(r.body.find("upstream-timeout") != std::string::npos);
  // Reported with zero usage: another 900 fits in the budget.
  RawResponse again = RoundTrip(g.port(), Inline("/v1/chat/completions", R"({"model":"m","max_tokens":900})"));
  CHECK(again.status == 200);
  CHECK(g.server->stats().upstream_errors == 1);
}

// `fresh`: the trickle starts a new connection; otherwise it follows a
// complete request on a kept-alive one (idle_timeout is 60 s there).
void Slowloris(bool fresh) {
  GatewayServerOptions o;
  o.header_timeout = 300ms;
  Gateway g(o);
  RawClient slow(g.port());
  if (!fresh) {
    RawResponse first;
    REQUIRE(slow.RoundTrip(HttpRequest("GET", "/healthz"), &first));
    CHECK(first.status == 200);
  }
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: ";
  const auto start = SteadyClock::now();
  bool closed = false;
  // One byte per 20 ms, as long as the server keeps the connection.
  for (size_t i = 0; !closed && SteadyClock::now() - start < 5s; ++i) {
    const char byte = i < head.size() ? head[i] : 'a';
    if (!slow.Send(std::string_view(&byte, 1))) break;
    closed = ClosedWithin(slow, 20ms);
    if (i % 5 == 0) {  // meanwhile a normal client, on the same thread
      const auto t = SteadyClock::now();
      CHECK(RoundTrip(g.port(), HttpRequest("GET", "/healthz")).status == 200);
      CHECK(SteadyClock::now() - t < 200ms);
    }
  }
  const auto lasted = SteadyClock::now() - start;
  CHECK(closed);
  CHECK(lasted >= 300ms);
  CHECK(lasted < 2s);
  // Beast closes the socket on the deadline before the read's handler runs
  // and counts: the client can see the close first.
  CHECK(Eventually([&] { return g.server->stats().read_timeouts == 1; }, 2s));
  CHECK(g.server->stats().read_timeouts == 1);
}

TEST_CASE("gateway faults: a client trickling its header is closed after header_timeout; others are served") {
  SUBCASE("on a new connection") { Slowloris(true); }
  SUBCASE("after a request on a kept-alive connection") { Slowloris(false); }
}

TEST_CASE("gateway faults: connections beyond max_connections get a 503; idle and half-open ones time out") {
  GatewayServerOptions o;
  o.max_connections = 8;
  o.header_timeout = 1s;
  Gateway g(o);
  std::vector<std::unique_ptr<RawClient>> flood;
  for (int i = 0; i < 8; ++i) {
    flood.push_back(std::make_unique<RawClient>(g.port()));
    REQUIRE(flood.back()->connected());
    if (i % 2) REQUIRE(flood.back()->Send("GET /healthz HTTP/1.1\r\nHo"));  // half-open
  }
  REQUIRE(Eventually([&] { return g.server->stats().open_connections == 8; }));
  RawClient over(g.port());
  RawResponse r;
  REQUIRE(over.Read(&r));
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "1");
  CHECK(r.body.find("\"reason\":\"too-many-connections\"") != std::string::npos);
  CHECK(ClosedWithin(over, 2s));
  CHECK(g.server->stats().refused_connections == 1);

  // Every flood connection sent at most part of a header: all are closed
  // after header_timeout, and the gateway takes connections again.
  for (auto& c : flood) CHECK(ClosedWithin(*c, 2s));
  REQUIRE(Eventually([&] { return g.server->stats().open_connections == 0; }));
  CHECK(RoundTrip(g.port(), HttpRequest("GET", "/healthz")).status == 200);
  CHECK(g.server->stats().open_connections <= 1);
  CHECK(g.server->stats().connections == 10);
}

}  // namespace
}  // namespace tosgate::api
