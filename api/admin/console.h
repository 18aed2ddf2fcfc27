// The web console (docs/console.md) as the admin server serves it, under
// /console/: its files (compiled in, api/admin/console_assets.h), signing
// in with an admin token for a session cookie, and /console/api/..., which
// passes a call on to the admin API's router with the session's token, so
// that roles, validation and admin events are the API's own.
//
// What it enforces:
//   - every response carries a strict Content-Security-Policy (nothing from
//     another origin, no inline script or style), nosniff, no framing, and
//     no-store;
//   - nothing but the sign-in page (and the two files it needs) answers
//     without a live session: pages redirect to it, the rest is 401;
//   - the cookie is HttpOnly, SameSite=Strict, Path=/console, Secure with TLS;
//   - a call that changes anything (any method but GET and HEAD) needs the
//     session's CSRF token in X-CSRF-Token, and is refused when the browser
//     says it comes from another site (Sec-Fetch-Site) or names another
//     Origin; signing in needs a JSON body and the same origin checks.
//
// Thread-safety: Gate and Handle may run on many threads at once.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "api/admin/console_sessions.h"
#include "api/admin/router.h"

namespace tosgate::api::admin {

struct ConsoleOptions {
  bool tls = false;  // the admin server speaks HTTPS: Secure cookies, https origins
  ConsoleSessionOptions sessions;
};

class Console {
 public:
  // `router` serves the proxied calls; `auth` checks the token at sign-in
  // (its back-off applies). Both must outlive the console.
  Console(const Router* router, Authenticator* auth, const Clock* clock, ConsoleOptions options);

  // "/console" and everything under "/console/".
  static bool Owns(std::string_view path);

  // What can be checked before a request body is read (session, CSRF,
  // origin). False fills *error.
  bool Gate(AdminRequest& req, AdminResponse* error);
  AdminResponse Handle(AdminRequest& req);

  // Sign-in and sign-out, for the audit trail as admin events
  // ("admin.console.signin", "admin.console.signout").
  std::function<void(const Route&, const AdminRequest&, const AdminResponse&)> on_event;

  ConsoleSessions& sessions() { return sessions_; }

  static constexpr std::string_view kCookie = "tosgate_console";
  static constexpr std::string_view kCsp =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'";

 private:
  AdminResponse Serve(const AdminRequest& req, bool signed_in);
  AdminResponse SignIn(AdminRequest& req);
  AdminResponse SignOut(const AdminRequest& req, const ConsoleSession& s);
  AdminResponse SessionInfo(const ConsoleSession& s) const;
  AdminResponse Proxy(AdminRequest& req, const ConsoleSession& s) const;
  // Sec-Fetch-Site and Origin say the request comes from this origin (or
  // say nothing, as non-browser clients do).
  bool SameOrigin(const AdminRequest& req) const;
  std::string SessionCookie(const std::string& value, bool expire) const;

  const Router* router_;
  Authenticator* auth_;
  ConsoleOptions options_;
  ConsoleSessions sessions_;
};

// The value of one cookie in a Cookie header, or "".
std::string CookieValue(const std::string* header, std::string_view name);

}  // namespace tosgate::api::admin
