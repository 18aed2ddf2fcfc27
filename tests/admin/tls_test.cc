// HTTPS when a certificate and key are configured (a self-signed pair made
// with the openssl command at test time), and clear errors when they are not
// usable.
#include <doctest/doctest.h>

#include <cstdlib>

#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

TEST_CASE("admin TLS: serves HTTPS with a configured certificate; bad configurations are errors") {
  test::TempDir dir;
  const std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                          key + " -out " + cert + " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);

  test::TestEngine te;
  AdminServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.tls_cert = cert;
  o.tls_key = key;
  o.tokens = {{"ops", engine::Sha256Hex("t0k"), Role::kViewer}};
  AdminServices s;
  s.engine = &te.engine;
  s.clock = &te.clock;
  auto srv = AdminServer::Start(o, s);
  REQUIRE_MESSAGE(srv.ok(), srv.status().ToString());
  httplib::SSLClient c("127.0.0.1", (*srv)->port());
  c.enable_server_certificate_verification(false);
  auto r = c.Get("/metrics", {{"Authorization", "Bearer t0k"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  // Plain HTTP on the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", (*srv)->port());
  plain.set_read_timeout(2, 0);
  auto p = plain.Get("/healthz");
  CHECK((!p || p->status != 200));

  AdminServerOptions half = o;
  half.tls_key.clear();
  CHECK(AdminServer::Start(half, s).status().message().find("both a certificate and a key") != std::string::npos);
  AdminServerOptions wrong = o;
  wrong.tls_cert = dir.path() + "/missing.pem";
  auto w = AdminServer::Start(wrong, s);
  CHECK_FALSE(w.ok());
  CHECK(w.status().message().find("cannot load the certificate") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::api::admin
