// Request translation: what arrived (a reverse proxy's check, or the
// client's own request at the inline proxy) turned into the one canonical
// request the engine decides and the inline proxy forwards. Whatever could
// be read two ways (body, path, credentials, forwarding headers) is either
// made unambiguous or refused here, before any decision.
//
// Pure functions over plain values, no I/O and no Boost, so that every proxy
// dialect can be tested without a server. Thread-safe: no shared state.
// Split over forward_auth.cc (Translate), forward_auth_path.cc (paths) and
// forward_auth_client.cc (trusted peers, client address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
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
  kAuthorization,  // Authorization: Bearer <key> (OpenAI and most others), or any other scheme
  kXApiKey,        // x-api-key (Anthropic)
  kApiKey,         // api-key (Azure OpenAI)
  kXGoogApiKey,    // x-goog-api-key (Gemini)
  kQueryKey,       // ?key=<key> (Gemini) or ?api_key=<key>; kept in Forwarding::target
};

// What the inline proxy relays upstream: the request exactly as it was
// decided. The credential is kept only for this; it is never logged.
struct Forwarding {
  // The canonical path, then '?' and the query as received with every
  // credential parameter removed (unless the credential came in the query,
  // then only that one parameter is kept); no '?' when nothing is left.
  std::string target;
  CredentialCarrier carrier = CredentialCarrier::kNone;
  // The value to send in `carrier`, every other carrier being stripped: for
  // kAuthorization the whole header value ("Bearer <key>", or another
  // scheme's value as received); for kQueryKey the decoded key, which
  // `target` already carries.
  std::string credential;
};

// Why a request was refused before any decision: answered as
// application/problem+json with this status and type (docs/errors.md).
struct Refusal {
  int status = 400;
  std::string type;    // stable: body-too-large, unreadable-body, ambiguous-path, ambiguous-credentials, ...
  std::string detail;  // for a person; never holds a secret
};

// Fills `out` (which it first resets) and, when non-null, `fwd` from `in`.
// docs/forward-auth.md says the same for users.
// - Trust: out->peer_trusted is whether in.peer_ip is inside
//   cfg.trusted_proxies. Forwarding headers (X-Original-*, X-Forwarded-*,
//   X-Real-IP, Forwarded) from any other peer are ignored and dropped.
// - The client's method and URI: from a trusted peer X-Original-Method /
//   X-Original-URI (nginx auth_request), else X-Forwarded-Method /
//   X-Forwarded-Uri (Traefik, Caddy); else the request line itself after
//   `path_prefix` (Envoy ext_authz). In inline mode always the request line,
//   without a prefix. The path is canonicalized (CanonicalPath); an
//   ambiguous path or a query with a raw control character, '#' or ';' is
//   refused (ambiguous-path).
// - client_ip, from a trusted peer: the rightmost X-Forwarded-For hop that
//   is not itself a trusted proxy, else Forwarded's for=, else X-Real-IP;
//   otherwise (and when these are not addresses) the peer.
// - key_id = engine::KeyId(key) for the one credential the request carries
//   in any carrier above, repeated headers included; the same value in
//   several carriers is one credential, two different values are refused
//   (ambiguous-credentials). Authorization with a scheme other than Bearer
//   is a credential too, its whole value the key. Secrets are dropped from
//   out->headers (and the URI headers, whose query may hold ?key=).
// - purpose from x-usage-purpose, request_id from x-request-id; every kept
//   header with its name lower-cased.
// - body: a multipart/form-data body through ParseMultipartBody, any other
//   parsed as JSON whatever the Content-Type says (engine::ParseBody). One
//   that does not parse, is marked cut short by Envoy
//   (x-envoy-auth-partial-body: true, outside inline mode) or is shorter
//   than its Content-Length is refused (unreadable-body), or with
//   UnreadableBody::kPass decided without and out->body_unread set. No
//   body at all is no body, not an unreadable one (nginx sends none).
//   Over max_body_bytes: body-too-large (413).
// Returns false with `refusal` filled when the request is refused; `out`
// and `fwd` are then unspecified.
bool Translate(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out,
               Forwarding* fwd, Refusal* refusal);

// Translate() for callers that only need the Request: a refusal becomes
// ResourceExhausted (body-too-large) or InvalidArgument carrying the detail.
Status TranslateForwardAuth(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out);

// The path a request is classified and forwarded by, or false when the path
// is ambiguous (an upstream or another proxy could read it differently),
// with `why` (when non-null) saying for a person what is wrong:
// - refused: a path not starting with '/'; percent-encoded '/', '\\', '%'
//   (double encoding), ';', NUL, control or non-ASCII bytes; a '%' not
//   followed by two hex digits; a raw '\\' or ';' (matrix parameters, which
//   Tomcat and Spring strip); any raw byte not allowed in a URI path (space,
//   control, non-ASCII, '#', '"', '<', '{', ...); a '..' segment, and a '.'
//   or '..' segment spelt with %2E: clients resolve them before sending,
//   and upstreams resolve '..' differently (before or after merging '//',
//   or not at all).
// - rewritten: percent-encoded unreserved characters, sub-delimiters, ':'
//   and '@' are decoded; other encodings get upper-case hex; '.' segments
//   are dropped, repeated slashes collapse and a trailing slash is dropped.
//   Case is kept.
// The result is its own canonical form.
bool CanonicalPath(std::string_view raw, std::string* out, std::string* why = nullptr);

// Normalizes the path the way an upstream would resolve it, so that
// /v1//chat/./completions cannot slip past a rule written for
// /v1/chat/completions: percent-encoded unreserved characters are decoded,
// repeated slashes collapse, "." and ".." segments are resolved (never above
// the root). A path that does not start with '/' gets one. For display and
// old callers; requests go through CanonicalPath, which refuses instead.
std::string NormalizePath(std::string_view path);

}  // namespace tosgate::api
