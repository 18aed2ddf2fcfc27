#include "api/gateway/request_description.h"

#include "api/gateway/forward_auth.h"

namespace tosgate::api {

Status RequestFromDescription(const RequestDescription& d, Request* out) {
  IncomingRequest in;
  in.method = "POST";
  in.target = ForwardAuthConfig{}.path_prefix;
  in.peer_ip = d.client_ip;
  in.headers = {{"x-original-method", d.method}, {"x-original-uri", d.path}};
  if (!d.key.empty()) in.headers.emplace_back("authorization", "Bearer " + d.key);
  for (const auto& h : d.headers) in.headers.push_back(h);
  if (!d.body.empty()) {
    in.headers.emplace_back("content-type", "application/json");
    in.body = d.body;
  }
  return TranslateForwardAuth(in, ForwardAuthConfig{}, out);
}

}  // namespace tosgate::api
