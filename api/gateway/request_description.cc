#include "api/gateway/request_description.h"

#include <nlohmann/json.hpp>

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
