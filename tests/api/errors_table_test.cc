// Runs every request and admin row of docs/errors.md's bad-input table
// against a gateway and an admin server on loopback and checks the status
// and the problem+json reason it lists.
#include <doctest/doctest.h>

#include <string>

#include "api/admin/admin_server.h"
#include "api/gateway/gateway_server.h"
#include "engine/sha256.h"
#include "tests/api/raw_client.h"
#include "tests/api/test_engine.h"
#include "tests/errors_table.h"

namespace tosgate::api {
namespace {

using test::ErrorRow;
using test::RawClient;
using test::RawResponse;

// `METHOD TARGET [BODY]` as an HTTP/1.1 request with a JSON content type.
// "<a body of N MiB>" stands for that many bytes of JSON; a `where` of
// "HTTP" sends the input as the raw request head instead, and one of
// "connection" sends nothing: the connection itself is the input.
std::string RequestFor(const ErrorRow& row) {
  if (row.where == "HTTP") return row.input + "\r\n\r\n";
  const size_t sp1 = row.input.find(' ');
  const size_t sp2 = row.input.find(' ', sp1 + 1);
  REQUIRE(sp1 != std::string::npos);
  const std::string method = row.input.substr(0, sp1);
  const std::string target = row.input.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string body = sp2 == std::string::npos ? "" : row.input.substr(sp2 + 1);
  if (body.rfind("<a body of ", 0) == 0) {
    const size_t mib = std::stoul(body.substr(11));
    body = "{\"p\":\"" + std::string(mib << 20, 'x') + "\"}";
  }
  std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/json"}};
  // "admin API as <role>": sent with that role's token (see the admin server below).
  if (row.where.rfind("admin API as ", 0) == 0)
    headers.emplace_back("Authorization", "Bearer tok-" + row.where.substr(13));
  // "control port": the inline gateway's control listener, with its token.
  if (row.where == "control port") headers.emplace_back("X-Tos-Control-Token", "tok-control");
  return test::HttpRequest(method, target, headers, body);
}

TEST_CASE("errors table: every request and admin row gives the status and reason it lists") {
  test::TestEngine te;
  GatewayServerOptions go;
  go.listen = "127.0.0.1:0";
  go.threads = 1;
  auto gateway = GatewayServer::Start(std::move(go), te.engine);
  REQUIRE(gateway.ok());
  AdminServerOptions ao;
  ao.listen = "127.0.0.1:0";
  ao.threads = 1;
  for (admin::Role r : admin::kAllRoles)
    ao.tokens.push_back({std::string(admin::RoleName(r)), engine::Sha256Hex("tok-" + std::string(admin::RoleName(r))), r});
  auto admin = AdminServer::Start(ao, te.engine, nullptr);
  REQUIRE(admin.ok());

  // `inline client port` and `control port` rows: an inline gateway (its
  // upstream never reached) with a control listener that wants a token.
  GatewayServerOptions io;
  io.listen = "127.0.0.1:0";
  io.threads = 1;
  io.upstream_url = "http://127.0.0.1:1";
  io.control_listen = "127.0.0.1:0";
  io.control_token_sha256 = engine::Sha256Hex("tok-control");
  auto inline_gateway = GatewayServer::Start(std::move(io), te.engine);
  REQUIRE(inline_gateway.ok());

  // `connection` rows: a gateway already holding the one connection it may.
  GatewayServerOptions fo;
  fo.listen = "127.0.0.1:0";
  fo.threads = 1;
  fo.max_connections = 1;
  auto full = GatewayServer::Start(std::move(fo), te.engine);
  REQUIRE(full.ok());
  RawClient holder((*full)->port());
  REQUIRE(holder.connected());

  const std::vector<ErrorRow> rows = test::RowsOf({"request", "admin"});
  CHECK(rows.size() >= 8);
  for (const ErrorRow& row : rows) {
    INFO("docs/errors.md:" << row.line << " (" << row.where << "): " << row.input.substr(0, 80));
    const bool over = row.where == "connection";
    const bool control = row.where.rfind("control port", 0) == 0;
    const int port = row.kind == "admin"                ? (*admin)->port()
                     : over                             ? (*full)->port()
                     : control                          ? (*inline_gateway)->control_port()
                     : row.where == "inline client port" ? (*inline_gateway)->port()
                                                         : (*gateway)->port();
    RawClient c(port);
    REQUIRE(c.connected());
    RawResponse r;
    REQUIRE(over ? c.Read(&r) : c.RoundTrip(RequestFor(row), &r));
    INFO("body: " << r.body);
    CHECK(std::to_string(r.status) == row.result);
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(r.body.find(row.shows) != std::string::npos);
  }
}

}  // namespace
}  // namespace tosgate::api
