// The Check of Envoy's gRPC ext_authz over libtosgate (service.h).
#include "api/extauthz/service.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

namespace tosgate::extauthz {
namespace {

using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using envoy::service::auth::v3::HeaderValueOption;

constexpr int kGrpcOk = 0, kGrpcInvalidArgument = 3, kGrpcPermissionDenied = 7,
              kGrpcResourceExhausted = 8, kGrpcUnavailable = 14;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Envoy lower-cases every header name in the CheckRequest.
bool Untrusted(std::string_view name) {
  return StartsWith(name, "x-tos-") || StartsWith(name, "x-forwarded-") ||
         StartsWith(name, "x-original-") || StartsWith(name, "x-envoy-") || name == "x-real-ip" ||
         name == "forwarded";
}

bool Named(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

void Add(google::protobuf::RepeatedPtrField<HeaderValueOption>* to, std::string_view k,
         std::string_view v) {
  HeaderValueOption* h = to->Add();
  h->mutable_header()->set_key(std::string(k));
  h->mutable_header()->set_value(std::string(v));
  h->mutable_append()->set_value(false);  // replaces a header of the same name
}

void Deny(CheckResponse* resp, int grpc_code, int http_status, const std::string& body,
          const tosgate_decision* d) {
  resp->mutable_status()->set_code(grpc_code);
  auto* denied = resp->mutable_denied_response();
  denied->mutable_status()->set_code(http_status);
  denied->set_body(body);
  Add(denied->mutable_headers(), "content-type", "application/problem+json");
  const tosgate_header* h = nullptr;
  const size_t n = tosgate_decision_headers(d, &h);
  for (size_t i = 0; i < n; ++i)
    if (h[i].to & TOSGATE_HEADER_CLIENT)
      Add(denied->mutable_headers(), {h[i].name.data, h[i].name.len},
          {h[i].value.data, h[i].value.len});
}

std::string Problem(int status, std::string_view title, std::string_view detail) {
  std::string out = "{\"type\":\"about:blank\",\"title\":\"" + std::string(title) +
                    "\",\"status\":" + std::to_string(status) + ",\"detail\":\"";
  for (char c : detail) out += (c >= 0x20 && c != '"' && c != '\\') ? c : ' ';
  return out + "\"}";
}

void Decide(tosgate_engine* engine, const CheckRequest& req, CheckResponse* resp) {
  const auto& attrs = req.attributes();
  const auto& http = attrs.request().http();
  // The engine reads the request's own strings: no copies.
  std::vector<tosgate_str> names, values;
  names.reserve(static_cast<size_t>(http.headers().size()));
  values.reserve(static_cast<size_t>(http.headers().size()));
  std::vector<std::string_view> client_tos;  // the client's X-Tos-* names, removed upstream
  bool partial = false;
  for (const auto& [k, v] : http.headers()) {
    if (k == "x-envoy-auth-partial-body") partial = v == "true";
    if (StartsWith(k, "x-tos-")) client_tos.push_back(k);
    if (Untrusted(k) || StartsWith(k, ":")) continue;
    names.push_back({k.data(), k.size()});
    values.push_back({v.data(), v.size()});
  }
  if (partial) {
    Deny(resp, kGrpcInvalidArgument, 413,
         Problem(413, "Request body too large",
                 "the body was cut at the proxy's max_request_bytes; tosgate decides only on whole bodies"),
         nullptr);
    return;
  }
  const std::string& body = http.raw_body().empty() ? http.body() : http.raw_body();
  const std::string& ip = attrs.source().address().socket_address().address();
  tosgate_request r{};
  r.method = {http.method().data(), http.method().size()};
  r.path = {http.path().data(), http.path().size()};
  r.client_ip = {ip.data(), ip.size()};
  r.header_names = names.data();
  r.header_values = values.data();
  r.header_count = names.size();
  r.body = {body.data(), body.size()};
  char* error = nullptr;
  std::unique_ptr<tosgate_decision, void (*)(tosgate_decision*)> d(
      tosgate_check_request(engine, &r, &error), tosgate_decision_destroy);
  if (!d) {
    const std::string msg = error ? error : "unreadable request";
    tosgate_free_string(error);
    Deny(resp, kGrpcInvalidArgument, 400, Problem(400, "Bad request", msg), nullptr);
    return;
  }
  const tosgate_effect effect = tosgate_decision_effect(d.get());
  if (effect != TOSGATE_ALLOW) {
    const int status = tosgate_decision_status(d.get());
    const int code = status == 429 ? kGrpcResourceExhausted
                     : status == 503 ? kGrpcUnavailable
                                     : kGrpcPermissionDenied;
    Deny(resp, code, status, tosgate_decision_problem_json(d.get()), d.get());
    return;
  }
  resp->mutable_status()->set_code(kGrpcOk);
  auto* ok = resp->mutable_ok_response();
  const tosgate_header* h = nullptr;
  const size_t n = tosgate_decision_headers(d.get(), &h);
  for (size_t i = 0; i < n; ++i) {
    const std::string_view k(h[i].name.data, h[i].name.len), v(h[i].value.data, h[i].value.len);
    if (h[i].to & TOSGATE_HEADER_UPSTREAM) Add(ok->mutable_headers(), k, v);
    if (h[i].to & TOSGATE_HEADER_CLIENT) Add(ok->mutable_response_headers_to_add(), k, v);
  }
  // A client's X-Tos-* header that the decision does not set must not reach
  // the upstream either (a forged X-Tos-Watermark, say). Envoy's names are
  // lower case; tosgate's are not.
  for (const std::string_view k : client_tos) {
    bool set = false;
    for (size_t i = 0; i < n && !set; ++i)
      set = (h[i].to & TOSGATE_HEADER_UPSTREAM) && Named({h[i].name.data, h[i].name.len}, k);
    if (!set) ok->add_headers_to_remove(std::string(k));
  }
}

}  // namespace

grpc::Status Service::Check(grpc::ServerContext*, const CheckRequest* req, CheckResponse* resp) {
  Decide(engine_, *req, resp);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* CallbackService::Check(grpc::CallbackServerContext* ctx,
                                                 const CheckRequest* req, CheckResponse* resp) {
  // A check is a few microseconds of CPU and never waits: it runs on the
  // thread gRPC called from, without a hand-over to a pool.
  Decide(engine_, *req, resp);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace tosgate::extauthz
