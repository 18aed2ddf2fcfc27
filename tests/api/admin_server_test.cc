#include "api/admin/admin_server.h"

#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/api/raw_client.h"
#include "tests/api/test_engine.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;

AdminServerOptions Options() {
  AdminServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  return o;
}

RawResponse Get(int port, const std::string& method, const std::string& path) {
  RawClient c(port);
  REQUIRE(c.connected());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest(method, path, {{"Connection", "close"}}), &r));
  return r;
}

TEST_CASE("admin: healthz is 200 and readyz names the policy revision") {
  test::TestEngine te;
  auto s = AdminServer::Start(Options(), te.engine, nullptr);
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  int port = (*s)->port();
  CHECK(port > 0);

  RawResponse r = Get(port, "GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["status"] == "ok");

  r = Get(port, "GET", "/readyz");
  CHECK(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == "ready");
  CHECK(j["policy_revision"] == "rev-test-1");
  (*s)->Stop();
  (*s)->Stop();
}

TEST_CASE("admin: readyz is 503 without a snapshot, or when the program is not ready") {
  test::TestEngine te(/*publish=*/false);
  std::atomic<bool> ready{true};
  auto s = AdminServer::Start(Options(), te.engine, [&ready](std::string* why) {
    if (!ready.load()) *why = "audit store is opening";
    return ready.load();
  });
  REQUIRE(s.ok());
  int port = (*s)->port();

  RawResponse r = Get(port, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reason"] == "no policy snapshot is published");

  te.engine.Publish(test::TestSnapshot());
  CHECK(Get(port, "GET", "/readyz").status == 200);

  ready = false;
  r = Get(port, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reason"] == "audit store is opening");
}

TEST_CASE("admin: unknown routes and bad methods are problem+json") {
  test::TestEngine te;
  auto s = AdminServer::Start(Options(), te.engine, nullptr);
  REQUIRE(s.ok());
  RawResponse r = Get((*s)->port(), "GET", "/nope");
  CHECK(r.status == 404);
  CHECK(r.header("content-type") == "application/problem+json");
  CHECK(nlohmann::json::parse(r.body)["status"] == 404);

  r = Get((*s)->port(), "POST", "/readyz");
  CHECK(r.status == 405);
  CHECK(r.header("allow") == "GET");
  CHECK(r.header("content-type") == "application/problem+json");
}

TEST_CASE("admin: a port in use is an error Status") {
  test::TestEngine te;
  auto first = AdminServer::Start(Options(), te.engine, nullptr);
  REQUIRE(first.ok());
  AdminServerOptions o = Options();
  o.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = AdminServer::Start(o, te.engine, nullptr);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kUnavailable);
}

TEST_CASE("admin: Stop right after Start does not hang") {
  test::TestEngine te;
  for (int i = 0; i < 20; ++i) {
    auto s = AdminServer::Start(Options(), te.engine, nullptr);
    REQUIRE(s.ok());
    (*s)->Stop();
  }
}

// Slow clients (slowloris): each connection holds a worker for its life and
// httplib times out each recv on its own, so a client that sends a byte now
// and then keeps a worker as long as it likes. With a pool of `threads` they
// used to starve the server, health probes included.

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// Waits up to `ms` for the server to send something or close; true when it
// did (poll on the socket: the only waiting these tests do).
bool ServerSpokeWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

TEST_CASE("admin: health probes answer while more slow clients than workers trickle requests") {
  test::TestEngine te;
  AdminServerOptions o = Options();  // 2 workers kept ready
  o.read_timeout = std::chrono::seconds(3);  // each trickled byte would hold a worker this long
  auto s = AdminServer::Start(o, te.engine, nullptr);
  REQUIRE(s.ok());
  const int port = (*s)->port();
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: test\r\n";
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < o.threads + 2; ++i) {
    slow.push_back(std::make_unique<RawClient>(port));
    REQUIRE(slow.back()->connected());
  }
  // A byte at a time, round the connections: never a whole request.
  for (size_t b = 0; b < 4; ++b)
    for (auto& c : slow) REQUIRE(c->Send(head.substr(b, 1)));

  for (const char* probe : {"/healthz", "/readyz"}) {
    CAPTURE(probe);
    const auto start = SteadyClock::now();
    RawClient c(port);
    REQUIRE(c.connected());
    timeval tv{1, 0};  // the probe's own timeout, well under read_timeout
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    RawResponse r;
    REQUIRE(c.RoundTrip(test::HttpRequest("GET", probe, {{"Connection", "close"}}), &r));
    CHECK(r.status == 200);
    CHECK(SecondsSince(start) < 1.0);
  }
  CHECK((*s)->worker_threads() > static_cast<size_t>(o.threads));
  // The slow ones are still connected, and stopping does not wait for them.
  for (auto& c : slow) CHECK_FALSE(ServerSpokeWithin(c->fd(), 0));
  const auto stop = SteadyClock::now();
  (*s)->Stop();
  CHECK(SecondsSince(stop) < 1.0);
}

TEST_CASE("admin: a client that trickles its request is closed at request_timeout, counted") {
  test::TestEngine te;
  AdminServerOptions o = Options();
  o.request_timeout = std::chrono::milliseconds(300);
  auto s = AdminServer::Start(o, te.engine, nullptr);
  REQUIRE(s.ok());
  RawClient c((*s)->port());
  REQUIRE(c.connected());
  const auto start = SteadyClock::now();
  REQUIRE(c.Send("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: "));
  // One byte every 50 ms, far within read_timeout (5 s) each: only the
  // request's deadline can end it.
  bool closed = false;
  while (!closed && SecondsSince(start) < 3.0) {
    if (!c.Send("a")) break;
    closed = ServerSpokeWithin(c.fd(), 50);
  }
  CHECK(closed);
  // Whatever it said (httplib answers a header cut short with a 400), the
  // server then closed the connection.
  std::string said;
  char buf[512];
  ssize_t n;
  while ((n = ::recv(c.fd(), buf, sizeof buf, 0)) > 0) said.append(buf, static_cast<size_t>(n));
  CHECK(n == 0);
  CHECK((said.empty() || said.rfind("HTTP/1.1 400", 0) == 0));
  const double took = SecondsSince(start);
  CHECK(took >= 0.25);
  CHECK(took < 1.5);
  CHECK((*s)->slow_clients() == 1);

  // A client that sends its request in time is served, kept alive, and
  // each request on the connection has its own deadline.
  RawClient ok((*s)->port());
  RawResponse r;
  REQUIRE(ok.RoundTrip(test::HttpRequest("GET", "/healthz"), &r));
  CHECK(r.status == 200);
  REQUIRE(ok.RoundTrip(test::HttpRequest("GET", "/healthz"), &r));
  CHECK(r.status == 200);
  CHECK((*s)->slow_clients() == 1);
}

TEST_CASE("admin: connections past max_connections_per_address are answered 503 and closed") {
  test::TestEngine te;
  AdminServerOptions o = Options();
  o.max_connections_per_address = 2;
  auto s = AdminServer::Start(o, te.engine, nullptr);
  REQUIRE(s.ok());
  const int port = (*s)->port();
  // Two kept-alive connections; an answer on each says the server holds it.
  RawClient a(port), b(port);
  RawResponse r;
  REQUIRE(a.RoundTrip(test::HttpRequest("GET", "/healthz"), &r));
  REQUIRE(b.RoundTrip(test::HttpRequest("GET", "/healthz"), &r));
  RawClient third(port);
  REQUIRE(third.connected());
  REQUIRE(third.Read(&r));
  CHECK(r.status == 503);
  CHECK(r.header("content-type") == "application/problem+json");
  CHECK(nlohmann::json::parse(r.body)["reason"] == "too-many-connections");
  CHECK(third.Closed());
  CHECK((*s)->refused_connections() == 1);
  // The two held ones still work.
  REQUIRE(a.RoundTrip(test::HttpRequest("GET", "/healthz"), &r));
  CHECK(r.status == 200);
}

}  // namespace
}  // namespace tosgate::api
