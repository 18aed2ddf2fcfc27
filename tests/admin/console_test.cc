// The web console as the admin server serves it (api/admin/console.h): no
// route answers without a session, sign-in and sign-out, the cookie's
// attributes, CSRF and cross-site refusals, the headers that keep the page
// to its own origin, and calls passed on to the admin API with its roles
// and admin events. The pages themselves: tests/browser.
#include <doctest/doctest.h>

#include <cstdlib>
#include <regex>

#include "api/admin/console.h"
#include "api/admin/console_assets.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

using test::AdminFixture;

struct Browser {
  const AdminFixture& fx;
  std::string cookie;
  std::string csrf;

  httplib::Headers Headers(httplib::Headers extra = {}) const {
    if (!cookie.empty()) extra.emplace("Cookie", std::string(Console::kCookie) + "=" + cookie);
    return extra;
  }
  httplib::Result Get(const std::string& path, httplib::Headers extra = {}) const {
    return fx.Client().Get(path.c_str(), Headers(std::move(extra)));
  }
  httplib::Result Post(const std::string& path, const std::string& body, httplib::Headers extra = {},
                       const std::string& type = "application/json") const {
    return fx.Client().Post(path.c_str(), Headers(std::move(extra)), body, type.c_str());
  }
  // Signs in with `token`; the session cookie and CSRF token are kept.
  httplib::Result SignIn(const std::string& token) {
    auto r = Post("/console/session", nlohmann::json{{"token", token}}.dump());
    REQUIRE(r);
    if (r->status == 200) {
      std::smatch m;
      const std::string set = r->get_header_value("Set-Cookie");
      REQUIRE(std::regex_search(set, m, std::regex("tosgate_console=([0-9a-f]{64})")));
      cookie = m[1];
      csrf = nlohmann::json::parse(r->body)["csrf"];
    }
    return r;
  }
};

bool IsPublic(std::string_view path) {
  return path == "login.html" || path == "login.js" || path == "style.css" || path == "favicon.svg";
}

TEST_CASE("console: nothing but the sign-in page answers without a session") {
  AdminFixture fx;
  Browser anon{fx, "", ""};
  auto root = anon.Get("/console/");
  REQUIRE(root);
  CHECK(root->status == 303);
  CHECK(root->get_header_value("Location") == "/console/login");
  auto bare = anon.Get("/console");
  REQUIRE(bare);
  CHECK(bare->status == 308);
  auto login = anon.Get("/console/login");
  REQUIRE(login);
  CHECK(login->status == 200);
  CHECK(login->get_header_value("Content-Type").rfind("text/html", 0) == 0);
  size_t walked = 0;
  for (const ConsoleAsset& a : ConsoleAssets()) {
    INFO(a.path);
    auto r = anon.Get("/console/" + std::string(a.path));
    REQUIRE(r);
    if (IsPublic(a.path)) {
      CHECK(r->status == 200);
    } else if (a.path == "index.html") {
      CHECK(r->status == 303);
    } else {
      CHECK(r->status == 401);
      CHECK(r->body.find("sign in") != std::string::npos);
    }
    CHECK(r->get_header_value("Content-Security-Policy") == Console::kCsp);
    ++walked;
  }
  CHECK(walked >= 5);
  for (const char* path : {"/console/api/session", "/console/api/v1/admin/review", "/console/api/metrics",
                           "/console/api/v1/admin/decisions?effect=admin"}) {
    INFO(path);
    auto r = anon.Get(path);
    REQUIRE(r);
    CHECK(r->status == 401);
  }
  // An admin token in the Authorization header is not a console session.
  auto bearer = anon.Get("/console/api/v1/admin/review", fx.Auth(Role::kAdmin));
  REQUIRE(bearer);
  CHECK(bearer->status == 401);
  // A made-up cookie is no session either; changes are refused before the body.
  Browser forged{fx, std::string(64, 'a'), "x"};
  CHECK(forged.Get("/console/api/session")->status == 401);
  CHECK(forged.Post("/console/api/v1/admin/review/1/resolve", "{\"note\":\"n\"}", {{"X-CSRF-Token", "x"}})->status ==
        401);
}

TEST_CASE("console: every file stays on its own origin (CSP, no inline script, no other host)") {
  AdminFixture fx;
  const std::regex inline_script("<script(?![^>]*\\bsrc=)[^>]*>", std::regex::icase);
  const std::regex inline_handler("\\son[a-z]+\\s*=", std::regex::icase);
  const std::regex other_origin("(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", std::regex::icase);
  for (const ConsoleAsset& a : ConsoleAssets()) {
    INFO(a.path);
    std::string text(a.data);
    // The SVG namespace is a name, not a request.
    for (size_t at; (at = text.find("http://www.w3.org/2000/svg")) != std::string::npos;) text.erase(at, 26);
    CHECK_FALSE(std::regex_search(text, other_origin));
    if (a.content_type.rfind("text/html", 0) == 0) {
      CHECK_FALSE(std::regex_search(text, inline_script));
      CHECK_FALSE(std::regex_search(text, inline_handler));
      CHECK(text.find("style=") == std::string::npos);
    }
  }
  const std::string csp(Console::kCsp);
  CHECK(csp.find("default-src 'self'") == 0);
  CHECK(csp.find("unsafe") == std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
}

TEST_CASE("console: sign-in sets a strict cookie; the session shows the role's calls; sign-out ends it") {
  AdminFixture fx;
  Browser b{fx, "", ""};
  auto bad = b.SignIn("not-a-token");
  CHECK(bad->status == 401);
  CHECK(b.cookie.empty());
  auto ok = b.SignIn(test::TokenFor(Role::kAdmin));
  REQUIRE(ok->status == 200);
  const std::string set = ok->get_header_value("Set-Cookie");
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  CHECK(set.find("Path=/console") != std::string::npos);
  CHECK(set.find("Secure") == std::string::npos);  // plain HTTP here; see the TLS case
  auto info = nlohmann::json::parse(ok->body);
  CHECK(info["role"] == "admin");
  CHECK(info["name"] == "admin-token");
  CHECK(info.dump().find(test::TokenFor(Role::kAdmin)) == std::string::npos);

  auto page = b.Get("/console/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Security-Policy") == Console::kCsp);
  CHECK(page->get_header_value("X-Frame-Options") == "DENY");
  CHECK(page->get_header_value("Cache-Control") == "no-store");
  CHECK(b.Get("/console/login")->status == 303);  // signed in already

  // Without the CSRF token, sign-out is refused; with it the cookie is dead.
  auto no_csrf = fx.Client().Delete("/console/session", b.Headers());
  CHECK(no_csrf->status == 403);
  CHECK(b.Get("/console/api/session")->status == 200);
  auto out = fx.Client().Delete("/console/session", b.Headers({{"X-CSRF-Token", b.csrf}}));
  REQUIRE(out);
  CHECK(out->status == 200);
  CHECK(out->get_header_value("Set-Cookie").find("Max-Age=0") != std::string::npos);
  CHECK(b.Get("/console/api/session")->status == 401);
  CHECK(b.Get("/console/")->status == 303);

  // Both are admin events in the audit trail.
  auto events = AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?effect=admin"))["decisions"];
  std::string ops;
  for (const auto& e : events) ops += e.value("operation", "") + " ";
  CHECK(ops.find("admin.console.signin") != std::string::npos);
  CHECK(ops.find("admin.console.signout") != std::string::npos);
}

TEST_CASE("console: a cross-site or CSRF-less change is refused and changes nothing") {
  AdminFixture fx;
  REQUIRE(fx.reviews->Enqueue("acct_7", "distill.campaign", "risk 0.9").ok());
  Browser b{fx, "", ""};
  REQUIRE(b.SignIn(test::TokenFor(Role::kAdmin))->status == 200);
  const std::string path = "/console/api/v1/admin/review/1/resolve";
  const std::string body = "{\"note\":\"cleared\"}";
  const uint64_t rows = fx.AuditRows();
  const std::string self = "http://127.0.0.1:" + std::to_string(fx.server->port());

  CHECK(b.Post(path, body)->status == 403);                                  // no token
  CHECK(b.Post(path, body, {{"X-CSRF-Token", std::string(64, '0')}})->status == 403);  // wrong token
  auto evil = b.Post(path, body, {{"X-CSRF-Token", b.csrf}, {"Origin", "https://evil.example"}});
  CHECK(evil->status == 403);
  CHECK(nlohmann::json::parse(evil->body)["reason"] == "cross-site");
  CHECK(b.Post(path, body, {{"X-CSRF-Token", b.csrf}, {"Sec-Fetch-Site", "cross-site"}})->status == 403);
  CHECK(b.Post(path, body, {{"X-CSRF-Token", b.csrf}, {"Origin", "null"}})->status == 403);
  // A form posted from another site: no JSON, another origin.
  Browser stranger{fx, "", ""};
  auto form = stranger.Post("/console/session", "token=tok-admin", {{"Origin", "https://evil.example"}},
                            "application/x-www-form-urlencoded");
  CHECK(form->status == 403);
  CHECK(stranger.Post("/console/session", "{\"token\":\"tok-admin\"}", {}, "text/plain")->status == 415);
  CHECK(fx.reviews->Get(1)->resolved_ms == 0);
  CHECK(fx.AuditRows() == rows);

  // The same call from the console's own page goes through, as the admin.
  auto ok = b.Post(path, body, {{"X-CSRF-Token", b.csrf}, {"Origin", self}, {"Sec-Fetch-Site", "same-origin"}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(fx.reviews->Get(1)->resolved_by == "admin-token");
  auto events =
      AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?effect=admin"))["decisions"];
  bool found = false;
  for (const auto& e : events)
    found |= e.value("operation", "") == "admin.review.resolve" && e.value("account", "") == "admin:admin-token";
  CHECK(found);
}

TEST_CASE("console: a viewer's session has the viewer's calls only") {
  AdminFixture fx;
  REQUIRE(fx.reviews->Enqueue("acct_7", "distill.campaign", "risk 0.9").ok());
  Browser v{fx, "", ""};
  auto in = v.SignIn(test::TokenFor(Role::kViewer));
  REQUIRE(in->status == 200);
  const std::string allowed = nlohmann::json::parse(in->body)["allowed"].dump();
  CHECK(allowed.find("GET /v1/admin/policies") != std::string::npos);
  CHECK(allowed.find("/resolve") == std::string::npos);
  CHECK(allowed.find("suspend") == std::string::npos);
  CHECK(allowed.find("GET /v1/admin/review") == std::string::npos);
  CHECK(v.Get("/console/api/metrics")->status == 200);
  CHECK(v.Get("/console/api/v1/admin/review")->status == 403);
  auto resolve = v.Post("/console/api/v1/admin/review/1/resolve", "{\"note\":\"n\"}", {{"X-CSRF-Token", v.csrf}});
  CHECK(resolve->status == 403);
  CHECK(nlohmann::json::parse(resolve->body)["reason"] == "forbidden");
  CHECK(fx.reviews->Get(1)->resolved_ms == 0);
  // Only the admin API is reachable through the console.
  CHECK(v.Get("/console/api/healthz/../v1/admin/policies")->status == 404);
  CHECK(v.Get("/console/api/console/session")->status == 404);
}

TEST_CASE("console: a session ends after 30 idle minutes, and at most max_sessions are kept") {
  AdminFixture fx;
  Browser b{fx, "", ""};
  REQUIRE(b.SignIn(test::TokenFor(Role::kAuditor))->status == 200);
  fx.te.clock.advance_ms(29 * 60 * 1000);
  CHECK(b.Get("/console/api/session")->status == 200);  // the call restarts the idle time
  fx.te.clock.advance_ms(29 * 60 * 1000);
  CHECK(b.Get("/console/api/session")->status == 200);
  fx.te.clock.advance_ms(31 * 60 * 1000);
  CHECK(b.Get("/console/api/session")->status == 401);

  FakeClock clock;
  ConsoleSessionOptions small;
  small.max_sessions = 3;
  ConsoleSessions sessions(&clock, small);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(sessions.Open("t", {"n", Role::kViewer}).id);
  CHECK(sessions.size() == 3);
  CHECK_FALSE(sessions.Find(ids[0]));
  CHECK_FALSE(sessions.Find(ids[1]));
  CHECK(sessions.Find(ids[4]));
  CHECK(ids[3] != ids[4]);
  clock.advance_ns(int64_t{13} * 3600 * 1'000'000'000);
  CHECK_FALSE(sessions.Find(ids[4]));
}

TEST_CASE("console: cookie parsing") {
  const std::string h = "a=1; tosgate_console=abc;other=2";
  CHECK(CookieValue(&h, "tosgate_console") == "abc");
  CHECK(CookieValue(&h, "other") == "2");
  CHECK(CookieValue(&h, "tosgate") == "");
  CHECK(CookieValue(nullptr, "a") == "");
}

TEST_CASE("console: with TLS the cookie is Secure and the origin is https") {
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
  const std::string origin = "https://127.0.0.1:" + std::to_string((*srv)->port());
  auto r = c.Post("/console/session", {{"Origin", origin}}, "{\"token\":\"t0k\"}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Set-Cookie").find("; Secure") != std::string::npos);
  auto http_origin = c.Post("/console/session", {{"Origin", "http://127.0.0.1:" + std::to_string((*srv)->port())}},
                            "{\"token\":\"t0k\"}", "application/json");
  REQUIRE(http_origin);
  CHECK(http_origin->status == 403);
}

}  // namespace
}  // namespace tosgate::api::admin
