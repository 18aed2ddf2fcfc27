// Forward-auth request translation: what a reverse proxy sends to tosgate's
// check endpoint, turned into the engine's Request.
//
// Pure functions over plain values, no I/O and no Boost, so that every proxy
// dialect can be tested without a server. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "engine/condition.h"
#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::api {

// What to do with a body the gateway cannot read: one that is not a JSON
// object (whatever its Content-Type says), one cut short (Envoy's
// x-envoy-auth-partial-body: true, or shorter than its Content-Length), or a
// multipart form it does not parse. kRefuse answers 400 unreadable-body and
// the request never reaches a decision; kPass decides without the body and
// sets Request::body_unread, which a policy can refuse (body.unread).
enum class UnreadableBody : uint8_t { kRefuse, kPass };

// 127.0.0.0/8 and ::1: a proxy on the same host.
std::vector<engine::Cidr> LoopbackProxies();

struct ForwardAuthConfig {
  // Envoy's ext_authz HTTP service prepends this to the original path, so the
  // request line after it is the original URI: /v1/check/v1/chat/completions.
  std::string path_prefix = "/v1/check";
  size_t max_body_bytes = 1 << 20;
  UnreadableBody unreadable_body = UnreadableBody::kRefuse;
  // Peers whose forwarding headers (X-Forwarded-*, X-Original-*, X-Real-IP,
  // Forwarded) count; from any other peer they are dropped and the request
  // is marked Request::peer_trusted = false, so that identity headers do not
  // count either. Empty: no peer is trusted.
  std::vector<engine::Cidr> trusted_proxies = LoopbackProxies();
};

// One HTTP request as the server received it.
struct IncomingRequest {
  std::string method;
  std::string target;  // the request line's target, query included
  std::vector<std::pair<std::string, std::string>> headers;  // names as received
  std::string body;
  std::string peer_ip;  // the TCP peer, i.e. the proxy
  // The inline proxy: the request line is the client's own request; there
  // is no path prefix and no proxy to name the original method or URI.
  bool inline_mode = false;
};

// Where the one credential the decision was made on came from.
enum class CredentialCarrier : uint8_t {
  kNone,
  kAuthorization,  // Authorization: Bearer <key> (OpenAI and most others)
  kXApiKey,        // x-api-key (Anthropic)
  kApiKey,         // api-key (Azure OpenAI)
  kXGoogApiKey,    // x-goog-api-key (Gemini)
  kQueryKey,       // ?key=<key> (Gemini)
};

// What the inline proxy relays upstream: the request exactly as it was
// decided. The credential is kept only for this; it is never logged.
struct Forwarding {
  // The canonical path, then '?' and the query as received with every
  // credential parameter removed (unless the credential came in the query,
  // then only that one parameter is kept).
  std::string target;
  CredentialCarrier carrier = CredentialCarrier::kNone;
  std::string credential;  // the value to send in `carrier` (for kAuthorization, "Bearer <key>")
};

// Why a request was refused before any decision: answered as
// application/problem+json with this status and type (docs/errors.md).
struct Refusal {
  int status = 400;
  std::string type;    // stable: body-too-large, unreadable-body, ambiguous-path, ambiguous-credentials, ...
  std::string detail;  // for a person; never holds a secret
};

// Fills `out` (which it first resets) and, when non-null, `fwd` from `in`:
// - the client's method and URI: from X-Original-Method/X-Original-URI (nginx
//   auth_request), else X-Forwarded-Method/X-Forwarded-Uri (Traefik, Caddy),
//   when the peer is a trusted proxy; else the request line itself after
//   `path_prefix` (Envoy ext_authz; the inline proxy has no prefix). The
//   path is canonicalized (CanonicalPath); an ambiguous one is refused.
// - client_ip from the first X-Forwarded-For hop, else X-Real-IP, when the
//   peer is trusted; else the peer.
// - key_id = engine::KeyId(key) for the one credential the request carries,
//   in any carrier above; two different credentials are refused
//   (ambiguous-credentials). Secrets are dropped from out->headers.
// - purpose from x-usage-purpose, request_id from x-request-id; every kept
//   header with its name lower-cased.
// - body: parsed as JSON whatever the Content-Type says (engine::ParseBody);
//   what cannot be read is refused or passed per cfg.unreadable_body.
// Returns false with `refusal` filled when the request is refused.
bool Translate(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out,
               Forwarding* fwd, Refusal* refusal);

// Translate() for callers that only need the Request: a refusal becomes
// ResourceExhausted (body-too-large) or InvalidArgument carrying the detail.
Status TranslateForwardAuth(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out);

// The path a request is classified and forwarded by, or false when the path
// is ambiguous (an upstream or another proxy could read it differently):
// percent-encoded '/', '\\', '%', NUL or control characters, a raw '\\', a
// ';' (matrix parameters), a '..' or '.' segment left after decoding, or a
// path not starting with '/'. Percent-encoded unreserved characters are
// decoded and repeated slashes collapse.
bool CanonicalPath(std::string_view raw, std::string* out);

// Normalizes the path the way an upstream would resolve it, so that
// /v1//chat/./completions cannot slip past a rule written for
// /v1/chat/completions: percent-encoded unreserved characters are decoded,
// repeated slashes collapse, "." and ".." segments are resolved (never above
// the root). A path that does not start with '/' gets one.
std::string NormalizePath(std::string_view path);



}  // namespace tosgate::api
