#include "api/admin/handlers.h"

#include <algorithm>

namespace tosgate::api::admin {

bool ParseJsonBody(const AdminRequest& req, std::initializer_list<const char*> allowed,
                   nlohmann::json* out, AdminResponse* error, bool empty_ok) {
  if (req.body.empty() && empty_ok) {
    *out = nlohmann::json::object();
    return true;
  }
  *out = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    *error = Problem(400, "bad-json", "the body is not valid JSON");
    return false;
  }
  if (!out->is_object()) {
    *error = Problem(400, "bad-json", "the body must be a JSON object");
    return false;
  }
  for (auto it = out->begin(); it != out->end(); ++it) {
    const bool known = std::any_of(allowed.begin(), allowed.end(),
                                   [&](const char* a) { return it.key() == a; });
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      *error = Problem(400, "unknown-field",
                       "unknown field \"" + it.key() + "\" (expected: " + list + ")");
      return false;
    }
  }
  return true;
}

bool CheckQuery(const AdminRequest& req, std::initializer_list<const char*> allowed,
                AdminResponse* error) {
  // Not a structured binding: clang 14 (the thread-safety check's
  // compiler) cannot capture one in a lambda.
  for (const auto& kv : req.query) {
    const std::string& k = kv.first;
    const bool known = std::any_of(allowed.begin(), allowed.end(),
                                   [&](const char* a) { return k == a; });
    if (!known) {
      *error = Problem(400, "unknown-parameter", "unknown query parameter \"" + k + "\"");
      return false;
    }
  }
  return true;
}

bool ParseId(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::stoll(text);
  return *out > 0;
}

AdminResponse NotConfigured(const std::string& what) {
  return Problem(503, "not-configured", what + " is not configured on this server");
}

AdminResponse StatusProblem(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound: return Problem(404, "not-found", s.message());
    case Status::Code::kAlreadyExists: return Problem(409, "conflict", s.message());
    case Status::Code::kInvalidArgument: return Problem(400, "bad-request", s.message());
    case Status::Code::kUnavailable: return Problem(503, "unavailable", s.message());
    default: return Problem(500, "internal-error", s.message());
  }
}

AdminResponse Json(int status, const nlohmann::json& j) {
  return JsonText(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void AddAllRoutes(Router& r, AdminServices* s) {
  AddHealthRoutes(r, s);
  AddPolicyRoutes(r, s);
  AddEvaluateRoutes(r, s);
  AddAccountRoutes(r, s);
  AddDecisionRoutes(r, s);
  AddIndicatorRoutes(r, s);
}

}  // namespace tosgate::api::admin
