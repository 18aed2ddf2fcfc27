#include "api/admin/console.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/admin/console_assets.h"

namespace tosgate::api::admin {
namespace {

constexpr std::string_view kPrefix = "/console/";
constexpr std::string_view kApi = "/console/api/";
// What the sign-in page needs; everything else waits for a session.
constexpr std::string_view kPublicFiles[] = {"login.html", "login.js", "style.css", "favicon.svg"};

bool Reads(const std::string& method) { return method == "GET" || method == "HEAD"; }

const ConsoleAsset* FindAsset(std::string_view path) {
  for (const ConsoleAsset& a : ConsoleAssets())
    if (a.path == path) return &a;
  return nullptr;
}

void Secure(AdminResponse* r) {
  auto& h = r->headers;
  h.emplace_back("Content-Security-Policy", std::string(Console::kCsp));
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("Referrer-Policy", "no-referrer");
  h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  h.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  const bool cached = std::any_of(h.begin(), h.end(), [](const auto& kv) { return kv.first == "Cache-Control"; });
  if (!cached) h.emplace_back("Cache-Control", "no-store");
}

AdminResponse Redirect(int status, std::string location) {
  AdminResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

AdminResponse NeedSession() {
  return Problem(401, "unauthorized", "sign in to the console first (/console/login)");
}

// The routes the role may call, "METHOD pattern": the pages show only what
// these allow, from the same table the router enforces.
nlohmann::json Allowed(const Router& router, Role role) {
  nlohmann::json out = nlohmann::json::array();
  for (const Route& r : router.routes())
    if (r.roles != 0 && (r.roles & RoleBit(role)) != 0) out.push_back(r.method + " " + r.pattern);
  return out;
}

}  // namespace

std::string CookieValue(const std::string* header, std::string_view name) {
  if (!header) return "";
  std::string_view h = *header;
  while (!h.empty()) {
    size_t end = h.find(';');
    std::string_view part = h.substr(0, end);
    h = end == std::string_view::npos ? std::string_view() : h.substr(end + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
  }
  return "";
}

Console::Console(const Router* router, Authenticator* auth, const Clock* clock, ConsoleOptions options)
    : router_(router), auth_(auth), options_(options), sessions_(clock, options.sessions) {}

bool Console::Owns(std::string_view path) {
  return path == "/console" || path.substr(0, kPrefix.size()) == kPrefix;
}

bool Console::SameOrigin(const AdminRequest& req) const {
  if (const std::string* site = req.header("sec-fetch-site"))
    if (*site != "same-origin" && *site != "none") return false;
  const std::string* origin = req.header("origin");
  if (!origin) return true;
  const std::string* host = req.header("host");
  return host && *origin == (options_.tls ? "https://" : "http://") + *host;
}

std::string Console::SessionCookie(const std::string& value, bool expire) const {
  std::string c = std::string(kCookie) + "=" + value + "; Path=/console; HttpOnly; SameSite=Strict";
  if (options_.tls) c += "; Secure";
  if (expire) c += "; Max-Age=0";
  return c;
}

bool Console::Gate(AdminRequest& req, AdminResponse* error) {
  const bool sign_in = req.path == "/console/session" && req.method == "POST";
  if (!Reads(req.method) && !SameOrigin(req)) {
    *error = Problem(403, "cross-site", "the console refuses changes sent from another site");
  } else if (sign_in) {
    const std::string* type = req.header("content-type");
    // A cross-site form can post text/plain or a form; only script can send
    // JSON, and another origin's script cannot without a CORS preflight.
    if (type && type->rfind("application/json", 0) == 0) return true;
    *error = Problem(415, "unsupported-media-type", "sign in with a JSON body: {\"token\": \"...\"}");
  } else if (Reads(req.method)) {
    return true;  // Handle decides: public file, page redirect or 401
  } else if (auto s = sessions_.Find(CookieValue(req.header("cookie"), kCookie)); !s) {
    *error = NeedSession();
  } else if (const std::string* csrf = req.header("x-csrf-token");
             !csrf || !ConsoleSessions::SameSecret(*csrf, s->csrf)) {
    *error = Problem(403, "csrf", "a console change needs the session's X-CSRF-Token header");
  } else {
    return true;
  }
  Secure(error);
  return false;
}

AdminResponse Console::Handle(AdminRequest& req) {
  AdminResponse r;
  if (!Gate(req, &r)) return r;
  std::optional<ConsoleSession> s;
  if (req.path != "/console/session" || req.method != "POST")
    s = sessions_.Find(CookieValue(req.header("cookie"), kCookie));
  if (req.path == "/console") {
    r = Redirect(308, "/console/");
  } else if (req.path == "/console/session") {
    if (req.method == "POST") r = SignIn(req);
    else if (req.method == "DELETE") r = s ? SignOut(req, *s) : NeedSession();
    else r = Problem(405, "method-not-allowed", "/console/session answers POST (sign in) and DELETE (sign out)");
  } else if (req.path.rfind(kApi, 0) == 0) {
    if (!s) r = NeedSession();
    else if (req.path == "/console/api/session") r = SessionInfo(*s);
    else r = Proxy(req, *s);
  } else if (!Reads(req.method)) {
    r = Problem(405, "method-not-allowed", "console files answer GET");
  } else {
    r = Serve(req, s.has_value());
  }
  Secure(&r);
  return r;
}

AdminResponse Console::Serve(const AdminRequest& req, bool signed_in) {
  std::string_view file = std::string_view(req.path).substr(kPrefix.size());
  if (file.empty()) file = "index.html";
  if (file == "login") file = "login.html";
  const bool open = std::find(std::begin(kPublicFiles), std::end(kPublicFiles), file) != std::end(kPublicFiles);
  if (!open && !signed_in)
    return file == "index.html" ? Redirect(303, "/console/login") : NeedSession();
  if (signed_in && file == "login.html") return Redirect(303, "/console/");
  const ConsoleAsset* a = FindAsset(file);
  if (!a) return Problem(404, "not-found", "no such console file: " + std::string(file));
  AdminResponse r;
  const std::string etag = "\"" + std::string(a->etag) + "\"";
  if (a->content_type.rfind("text/html", 0) != 0) {
    // Scripts and styles are revalidated, never stored by shared caches.
    r.headers.emplace_back("Cache-Control", "private, no-cache");
    r.headers.emplace_back("ETag", etag);
    if (const std::string* inm = req.header("if-none-match"); inm && *inm == etag) {
      r.status = 304;
      r.content_type.clear();
      return r;
    }
  }
  r.content_type = std::string(a->content_type);
  r.body = std::string(a->data);
  return r;
}

AdminResponse Console::SignIn(AdminRequest& req) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string() ||
      body["token"].get<std::string>().empty())
    return Problem(400, "bad-request", "sign in with {\"token\": \"<admin token>\"}");
  const std::string token = body["token"].get<std::string>();
  const std::string bearer = "Bearer " + token;
  Authenticator::Verdict v = auth_->Authenticate(&bearer, req.remote_addr);
  if (v.outcome == Authenticator::Outcome::kSlowDown) {
    AdminResponse r = Problem(429, "too-many-auth-failures",
                              "too many failed attempts from this address; try again in " +
                                  std::to_string(v.retry_after_s) + "s");
    r.headers.emplace_back("Retry-After", std::to_string(v.retry_after_s));
    return r;
  }
  if (v.outcome != Authenticator::Outcome::kOk) return Problem(401, "unauthorized", "the admin token is not valid");
  ConsoleSession s = sessions_.Open(token, v.caller);
  if (s.id.empty()) return Problem(500, "internal-error", "no random bytes for a session id");
  AdminResponse r = SessionInfo(s);
  r.headers.emplace_back("Set-Cookie", SessionCookie(s.id, false));
  r.audit_note = "console sign-in";
  req.caller = v.caller;
  static const Route kSignIn{"POST", "/console/session", RoleBit(Role::kViewer), "console.signin", nullptr};
  if (on_event) on_event(kSignIn, req, r);
  return r;
}

AdminResponse Console::SignOut(const AdminRequest& req, const ConsoleSession& s) {
  sessions_.Close(s.id);
  AdminResponse r = JsonText(200, "{\"signed_out\":true}");
  r.headers.emplace_back("Set-Cookie", SessionCookie("", true));
  r.audit_note = "console sign-out";
  AdminRequest who = req;
  who.caller = s.caller;
  static const Route kSignOut{"DELETE", "/console/session", RoleBit(Role::kViewer), "console.signout", nullptr};
  if (on_event) on_event(kSignOut, who, r);
  return r;
}

AdminResponse Console::SessionInfo(const ConsoleSession& s) const {
  nlohmann::json j = {{"name", s.caller.name},
                      {"role", std::string(RoleName(s.caller.role))},
                      {"csrf", s.csrf},
                      {"allowed", Allowed(*router_, s.caller.role)}};
  return JsonText(200, j.dump());
}

AdminResponse Console::Proxy(AdminRequest& req, const ConsoleSession& s) const {
  const std::string rest = req.path.substr(kApi.size() - 1);  // "/v1/admin/..." or "/metrics"
  if (rest.rfind("/v1/admin/", 0) != 0 && rest != "/metrics" && rest != "/readyz")
    return Problem(404, "not-found", "no such console endpoint: " + req.path);
  AdminRequest call;
  call.method = req.method;
  call.path = rest;
  call.query = req.query;
  // The browser's cookie and CSRF token stop here; the session's token goes on.
  for (const auto& h : req.headers)
    if (h.first != "cookie" && h.first != "authorization" && h.first != "x-csrf-token") call.headers.push_back(h);
  call.headers.emplace_back("authorization", "Bearer " + s.token);
  call.body = std::move(req.body);
  call.remote_addr = req.remote_addr;
  return router_->Handle(call);
}

}  // namespace tosgate::api::admin
