#include "api/admin/router.h"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "api/request/responses.h"
#include "engine/json_util.h"

namespace tosgate::api::admin {

const std::string* AdminRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

std::string AdminRequest::Query(std::string_view name, std::string_view fallback) const {
  auto it = query.find(std::string(name));
  return it == query.end() ? std::string(fallback) : it->second;
}

const std::string& AdminRequest::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

AdminResponse Problem(int status, std::string_view reason, std::string_view detail) {
  HttpResponse r;
  RenderError(status, reason, detail, &r);
  AdminResponse out;
  out.status = r.status;
  out.content_type = r.content_type;
  out.headers = std::move(r.headers);
  out.body = std::move(r.body);
  return out;
}

AdminResponse JsonText(int status, std::string json_text) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(json_text);
  return r;
}

bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string>* params) {
  size_t p = 0, q = 0;
  while (p < pattern.size() && q < path.size()) {
    if (pattern[p] == '{') {
      const size_t close = pattern.find('}', p);
      const size_t end = path.find('/', q);
      std::string_view value = path.substr(q, end == std::string_view::npos ? end : end - q);
      if (value.empty()) return false;
      (*params)[std::string(pattern.substr(p + 1, close - p - 1))] = std::string(value);
      p = close + 1;
      q += value.size();
      continue;
    }
    if (pattern[p] != path[q]) return false;
    ++p;
    ++q;
  }
  return p == pattern.size() && q == path.size();
}

std::string JsonString(std::string_view s) {
  std::string out;
  engine::AppendJsonString(&out, s);
  return out;
}

bool Router::Gate(AdminRequest& req, const Route** route, AdminResponse* error) const {
  // Among the routes whose pattern matches, the most specific (fewest {}
  // segments) decide: /policies/validate is not /policies/{id}.
  std::string allow;
  const Route* found = nullptr;
  size_t best = SIZE_MAX;
  std::vector<std::pair<const Route*, std::map<std::string, std::string>>> matches;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    if (!MatchPattern(r.pattern, req.path, &params)) continue;
    best = std::min(best, params.size());
    matches.emplace_back(&r, std::move(params));
  }
  for (auto& [r, params] : matches) {
    if (params.size() != best) continue;
    if (r->method == req.method || (req.method == "HEAD" && r->method == "GET")) {
      found = r;
      req.params = std::move(params);
      break;
    }
    allow += (allow.empty() ? "" : ", ") + r->method;
  }
  if (!found) {
    if (allow.empty()) {
      *error = Problem(404, "not-found", "no such endpoint: " + req.path);
    } else {
      *error = Problem(405, "method-not-allowed", "this endpoint answers " + allow);
      error->headers.emplace_back("Allow", allow);
    }
    return false;
  }
  *route = found;
  if (found->roles == 0) return true;
  Authenticator::Verdict v = auth_->Authenticate(req.header("authorization"), req.remote_addr);
  switch (v.outcome) {
    case Authenticator::Outcome::kOk:
      break;
    case Authenticator::Outcome::kMissing:
      *error = Problem(401, "unauthorized", "this endpoint needs an admin token: Authorization: Bearer <token>");
      error->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tosgate-admin\"");
      return false;
    case Authenticator::Outcome::kInvalid:
      *error = Problem(401, "unauthorized", "the admin token is not valid");
      error->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tosgate-admin\", error=\"invalid_token\"");
      return false;
    case Authenticator::Outcome::kSlowDown:
      *error = Problem(429, "too-many-auth-failures",
                       "too many failed attempts from this address; try again in " +
                           std::to_string(v.retry_after_s) + "s");
      error->headers.emplace_back("Retry-After", std::to_string(v.retry_after_s));
      return false;
  }
  req.caller = v.caller;
  if ((found->roles & RoleBit(v.caller.role)) == 0) {
    *error = Problem(403, "forbidden",
                     "role " + std::string(RoleName(v.caller.role)) + " may not " + req.method +
                         " " + found->pattern);
    return false;
  }
  return true;
}

AdminResponse Router::Handle(AdminRequest& req) const {
  const Route* route = nullptr;
  AdminResponse res;
  if (!Gate(req, &route, &res)) return res;
  try {
    res = route->handler(req);
  } catch (const std::exception& e) {
    res = Problem(500, "internal-error", std::string("the admin server failed: ") + e.what());
  } catch (...) {
    res = Problem(500, "internal-error", "the admin server failed while handling the request");
  }
  const bool read = req.method == "GET" || req.method == "HEAD";
  if ((!read || route->record_reads) && !res.read_only && route->roles != 0 && on_action)
    on_action(*route, req, res);
  return res;
}

}  // namespace tosgate::api::admin
