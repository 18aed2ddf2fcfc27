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

#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::api {

// What to do with a body that does not say it is JSON (content type without
// "json"): ignore it (decide on the rest of the request), or refuse it (400).
enum class NonJsonBody : uint8_t { kIgnore, kReject };

struct ForwardAuthConfig {
  // Envoy's ext_authz HTTP service prepends this to the original path, so the
  // request line after it is the original URI: /v1/check/v1/chat/completions.
  std::string path_prefix = "/v1/check";
  size_t max_body_bytes = 1 << 20;
  NonJsonBody non_json = NonJsonBody::kIgnore;
};

// One HTTP request as the server received it.
struct IncomingRequest {
  std::string method;
  std::string target;  // the request line's target, query included
  std::vector<std::pair<std::string, std::string>> headers;  // names as received
  std::string body;
  std::string peer_ip;  // the TCP peer, i.e. the proxy
};

// Fills `out` (which it first resets) from `in`:
// - the client's method and URI from X-Original-Method/X-Original-URI (nginx
//   auth_request), else X-Forwarded-Method/X-Forwarded-Uri (Traefik, Caddy),
//   else the request line itself after `path_prefix` (Envoy ext_authz);
//   the path loses its query and is normalized (see NormalizePath);
// - client_ip from the first X-Forwarded-For hop, else X-Real-IP, else peer_ip;
// - key_id = engine::KeyId(key) for `Authorization: Bearer <key>` or
//   `x-api-key: <key>`. The secret is not copied anywhere into `out`:
//   authorization, proxy-authorization and x-api-key are dropped;
// - purpose from x-usage-purpose, request_id from x-request-id; every kept
//   header with its name lower-cased;
// - body: when it is JSON (no content type, or one that says json), what
//   engine::ParseBody reads from it; purpose from body metadata.purpose when
//   no x-usage-purpose header names one.
// Errors: ResourceExhausted when the body is larger than max_body_bytes;
// InvalidArgument naming the problem when the body is not a JSON object
// (malformed, too deep, invalid UTF-8, a NUL byte) unless Envoy marked it as
// truncated with x-envoy-auth-partial-body: true (then it is ignored), or
// when it is not JSON and cfg.non_json is kReject.
Status TranslateForwardAuth(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out);

// Normalizes the path the way an upstream would resolve it, so that
// /v1//chat/./completions cannot slip past a rule written for
// /v1/chat/completions: percent-encoded unreserved characters are decoded,
// repeated slashes collapse, "." and ".." segments are resolved (never above
// the root). A path that does not start with '/' gets one.
std::string NormalizePath(std::string_view path);



}  // namespace tosgate::api
