#include "api/request/request_description.h"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/request/forward_auth.h"

namespace tosgate::api {

Status RequestFromDescription(const RequestDescription& d, Request* out) {
  // A description is trusted data written by the operator (a policy test, a
  // capture, a check file): it is the client's own request line, relayed by
  // a proxy trusted to name the client's address, as the gateway's inline
  // mode reads one behind a trusted load balancer.
  IncomingRequest in;
  in.method = d.method;
  in.target = d.path;
  in.peer_ip = d.client_ip;
  in.inline_mode = true;
  if (!d.key.empty()) in.headers.emplace_back("authorization", "Bearer " + d.key);
  auto named = [](std::string_view name, std::string_view lower) {
    return std::equal(name.begin(), name.end(), lower.begin(), lower.end(),
                      [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a + 32 : a) == b; });
  };
  bool typed = false;
  for (const auto& h : d.headers) {
    // The body was re-serialized (captures keep it as JSON): the length the
    // client sent is not this body's.
    if (named(h.first, "content-length")) continue;
    typed = typed || named(h.first, "content-type");
    in.headers.push_back(h);
  }
  if (!d.body.empty() && !typed) in.headers.emplace_back("content-type", "application/json");
  in.body = d.body;
  return RequestFromIncoming(in, out);
}

Status RequestFromIncoming(const IncomingRequest& in, Request* out) {
  // Made once: an embedding proxy translates every request it decides.
  static const ForwardAuthConfig cfg = [] {
    ForwardAuthConfig c;
    c.path_prefix.clear();
    c.trusted_proxies.resize(2);
    engine::ParseCidr("0.0.0.0/0", &c.trusted_proxies[0]);
    engine::ParseCidr("::/0", &c.trusted_proxies[1]);
    return c;
  }();
  if (Status s = TranslateForwardAuth(in, cfg, out); !s.ok()) return s;
  // Trusted even when client_ip is not an address; decided, not relayed.
  out->peer_trusted = true;
  out->inline_proxy = false;
  return Status::Ok();
}

Status RequestFromTest(const policies::TestRequest& t, Request* out) {
  RequestDescription d;
  d.method = t.method;
  d.path = t.path;
  d.client_ip = t.client_ip;
  d.key = t.key;
  d.headers = t.headers;
  d.body = t.body;
  return RequestFromDescription(d, out);
}

namespace {

Status ReadText(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Status::InvalidArgument(std::string("\"") + key + "\" must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace

Status DescriptionFromJson(std::string_view json, RequestDescription* out) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("not a JSON object");
  *out = RequestDescription{};
  for (auto [key, field] : {std::pair{"method", &out->method}, std::pair{"path", &out->path},
                            std::pair{"client_ip", &out->client_ip}})
    if (Status s = ReadText(j, key, field); !s.ok()) return s;
  if (auto h = j.find("headers"); h != j.end() && !h->is_null()) {
    if (!h->is_object()) return Status::InvalidArgument("\"headers\" must be an object");
    for (const auto& [k, v] : h->items())
      out->headers.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  if (auto b = j.find("body"); b != j.end() && !b->is_null()) out->body = b->dump();
  return Status::Ok();
}

}  // namespace tosgate::api
