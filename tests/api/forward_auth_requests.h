// Requests as the gateway receives them, and their translation, for the
// forward-auth tests (forward_auth_test.cc, forward_auth_attacks_test.cc).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/request/forward_auth.h"

namespace tosgate::test {

// From a proxy on the same host (127.0.0.1): trusted by default.
inline api::IncomingRequest Incoming(std::string method, std::string target,
                                     std::vector<std::pair<std::string, std::string>> headers,
                                     std::string body = "") {
  api::IncomingRequest in;
  in.method = std::move(method);
  in.target = std::move(target);
  in.headers = std::move(headers);
  in.body = std::move(body);
  in.peer_ip = "127.0.0.1";
  return in;
}

// The same request from a peer outside the default trusted_proxies.
inline api::IncomingRequest Untrusted(api::IncomingRequest in) {
  in.peer_ip = "10.0.0.2";
  return in;
}

// The same request arriving at the inline proxy: its request line is the client's.
inline api::IncomingRequest Inline(api::IncomingRequest in) {
  in.inline_mode = true;
  return in;
}

// Translates a request that must be accepted.
inline Request Translate(const api::IncomingRequest& in, const api::ForwardAuthConfig& cfg = {},
                         api::Forwarding* fwd = nullptr) {
  Request r;
  api::Refusal refusal;
  const bool ok = api::Translate(in, cfg, &r, fwd, &refusal);
  REQUIRE_MESSAGE(ok, refusal.type << ": " << refusal.detail);
  return r;
}

// Translates a request that must be refused, and returns why.
inline api::Refusal Refused(const api::IncomingRequest& in, const api::ForwardAuthConfig& cfg = {}) {
  Request r;
  api::Forwarding fwd;
  api::Refusal refusal;
  const bool ok = api::Translate(in, cfg, &r, &fwd, &refusal);
  REQUIRE_MESSAGE(!ok, "accepted: " << r.method << " " << r.path);
  CHECK_FALSE(refusal.type.empty());
  return refusal;
}

// True when `secret` appears in any string the Request holds.
inline bool Holds(const Request& r, std::string_view secret) {
  auto in = [&](const std::string& s) { return s.find(secret) != std::string::npos; };
  if (in(r.request_id) || in(r.method) || in(r.path) || in(r.client_ip) || in(r.key_id) ||
      in(r.operation) || in(r.purpose) || in(r.body.model) || in(r.body.prompt_text))
    return true;
  for (const auto& [k, v] : r.headers)
    if (in(k) || in(v)) return true;
  return false;
}

}  // namespace tosgate::test
