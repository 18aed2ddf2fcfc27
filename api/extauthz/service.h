// Envoy's gRPC ext_authz (envoy.service.auth.v3.Authorization/Check) over
// libtosgate's engine: what tosgate-extauthz serves. Included only by the
// server's main and its test; gRPC stays out of every other header.
#pragma once

#include <cstdint>
#include <string>

#include "api/extauthz/ext_authz.grpc.pb.h"
#include "tosgate/tosgate.h"

namespace tosgate::extauthz {

// Decides each Check with `engine` (not owned; shared by gRPC's threads, as
// the C API allows):
//  - allowed: OK, the decision's X-Tos-* headers for the upstream (a
//    client's own X-Tos-* headers removed), RateLimit fields and the
//    decision id for the client;
//  - denied or throttled: the decision's status (403, 429, ...) with its
//    problem+json body, Retry-After and RateLimit fields;
//  - a body Envoy cut at max_request_bytes (x-envoy-auth-partial-body: true)
//    or one that is not a JSON object: refused (413, 400): tosgate never
//    decides on part of a request.
// The client address is the source peer's; a client's X-Forwarded-*,
// Forwarded and X-Real-IP are not believed.
// gRPC's synchronous API: each call handed to a thread of the server's pool.
class Service final : public envoy::service::auth::v3::Authorization::Service {
 public:
  explicit Service(tosgate_engine* engine) : engine_(engine) {}
  grpc::Status Check(grpc::ServerContext* ctx, const envoy::service::auth::v3::CheckRequest* req,
                     envoy::service::auth::v3::CheckResponse* resp) override;

 private:
  tosgate_engine* engine_;
};

// The same answers through gRPC's callback API: decided on the thread that
// read the call, no hand-over (tosgate-extauthz's default; --api sync for
// the other).
class CallbackService final : public envoy::service::auth::v3::Authorization::CallbackService {
 public:
  explicit CallbackService(tosgate_engine* engine) : engine_(engine) {}
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const envoy::service::auth::v3::CheckRequest* req,
                                  envoy::service::auth::v3::CheckResponse* resp) override;

 private:
  tosgate_engine* engine_;
};

}  // namespace tosgate::extauthz
