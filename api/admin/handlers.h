// The admin API's endpoints, one file per area, each adding its routes to
// the Router. AddAllRoutes builds the whole table: the server serves it and
// the tests walk it (every endpoint x every role, and the OpenAPI document).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "api/admin/router.h"
#include "api/admin/services.h"

namespace tosgate::api::admin {

// Who may call what.
inline constexpr uint8_t kPublic = 0;
inline constexpr uint8_t kAnyRole = RoleBit(Role::kViewer) | RoleBit(Role::kAuditor) |
                                    RoleBit(Role::kPolicyAuthor) | RoleBit(Role::kAdmin);
inline constexpr uint8_t kAuthors = RoleBit(Role::kPolicyAuthor) | RoleBit(Role::kAdmin);
inline constexpr uint8_t kAuditors = RoleBit(Role::kAuditor) | RoleBit(Role::kAdmin);
inline constexpr uint8_t kReaders = RoleBit(Role::kViewer) | RoleBit(Role::kAuditor) | RoleBit(Role::kAdmin);
inline constexpr uint8_t kAdmins = RoleBit(Role::kAdmin);

void AddHealthRoutes(Router& r, AdminServices* s);
void AddPolicyRoutes(Router& r, AdminServices* s);
void AddEvaluateRoutes(Router& r, AdminServices* s);
void AddAccountRoutes(Router& r, AdminServices* s);
void AddDecisionRoutes(Router& r, AdminServices* s);
void AddIndicatorRoutes(Router& r, AdminServices* s);  // taxii_server.cc
void AddAllRoutes(Router& r, AdminServices* s);

// The body as a JSON object with only `allowed` members. On failure fills
// *error with a 400 problem (bad-json, unknown-field) and returns false.
// An empty body reads as {} when `empty_ok`.
bool ParseJsonBody(const AdminRequest& req, std::initializer_list<const char*> allowed,
                   nlohmann::json* out, AdminResponse* error, bool empty_ok = false);
// Query parameters other than `allowed` are a 400 unknown-parameter.
bool CheckQuery(const AdminRequest& req, std::initializer_list<const char*> allowed,
                AdminResponse* error);
// A positive integer path or query value; false for anything else.
bool ParseId(const std::string& text, int64_t* out);
// 503 not-configured, naming what is missing.
AdminResponse NotConfigured(const std::string& what);
// A Status as a problem: NotFound 404, AlreadyExists 409, InvalidArgument
// 400, Unavailable 503, others 500.
AdminResponse StatusProblem(const Status& s);
AdminResponse Json(int status, const nlohmann::json& j);

}  // namespace tosgate::api::admin
