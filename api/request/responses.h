// What the forward-auth endpoint answers: a Decision, or an error of the
// gateway itself, as status, headers and body. No Boost: the server copies
// the result into its own response type.
//
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tosgate/decision.h"

namespace tosgate::api {

struct HttpResponse {
  int status = 200;
  std::string content_type;  // empty: no body
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Empties the response but keeps its capacity, for reuse per connection:
  // the header strings too, which AddHeader hands out again.
  void Clear();
  // Appends a header whose strings the caller fills (assign, never
  // reallocating once a connection's answers have been this long).
  std::pair<std::string, std::string>& AddHeader();

 private:
  std::vector<std::pair<std::string, std::string>> spare_;  // cleared headers' strings
};

// Which proxy asked, when it needs answers in a form of its own.
enum class ProxyDialect : uint8_t {
  kPlain,  // Envoy, Traefik, Caddy: the status and body are used as they are
  // nginx auth_request passes only 2xx, 401 and 403 (anything else becomes a
  // 500) and never reads the body. Asked for with `X-Tos-Proxy: nginx`: other
  // refusals are sent as 403, and the problem+json also goes in X-Tos-Problem,
  // for the nginx configuration to answer with (deploy/nginx/tosgate.conf).
  kNginx,
};

// allow -> 200 with X-Tos-Decision, X-Tos-Decision-Id, X-Tos-Account,
// X-Tos-Operation and the decision's headers (RateLimit-Policy, RateLimit,
// X-Tos-Flag); deny/throttle -> decision.status (403, 429, 401, 503) with an
// application/problem+json body (ProblemJson), X-Tos-Reason,
// X-Tos-Rule, X-Tos-Status (the status meant, also when the dialect sends
// another) and, on throttles, Retry-After. Header values are stripped of
// control characters so that no policy or account text can split a header.
void RenderDecision(const Decision& d, HttpResponse* out,
                    ProxyDialect dialect = ProxyDialect::kPlain);

// An error of the gateway itself (400 bad body, 404 unknown route, 405,
// 413 too large, 431, 500): problem+json with `reason` as a stable code,
// e.g. RenderError(413, "body-too-large", "the body is 2 MiB, ...").
void RenderError(int status, std::string_view reason, std::string_view detail, HttpResponse* out);

// RFC 9457 problem+json body for a deny or throttle: type, title, status,
// detail, reason, rules, decision_id; a throttle adds violated_policies and
// retry_after. The one place a decision becomes a problem (the gateway, the
// inline proxy and the C API all render through RenderDecision).
std::string ProblemJson(const Decision& d);

// The title of every problem tosgate writes, decisions and errors alike:
// the RFC 9110 reason phrase ("Bad Request", "Not Found", ...; "Error" for
// codes it does not know), except two that docs/forward-auth.md shows and
// clients may match: 429 is "Too many requests", and a decision's 403 (a
// policy denial) is "Request denied by policy" (DecisionTitle).
std::string_view StatusTitle(int status);
std::string_view DecisionTitle(const Decision& d);

}  // namespace tosgate::api
