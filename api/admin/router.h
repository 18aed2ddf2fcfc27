// The admin API's own request and response types and its route table. The
// handlers are written against these; only admin_server.cc sees httplib.
//
// Thread-safety: a Router is built once and then only read; Handle may run
// on many threads at once (the handlers synchronize what they share).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/admin/auth.h"

namespace tosgate::api::admin {

struct AdminRequest {
  std::string method;  // upper case
  std::string path;    // without the query
  std::multimap<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;
  std::string remote_addr;
  // Filled by the router: {name} segments of the route, and who called.
  std::map<std::string, std::string> params;
  Caller caller;

  const std::string* header(std::string_view lower_name) const;
  // The first value of a query parameter, or `fallback`.
  std::string Query(std::string_view name, std::string_view fallback = "") const;
  bool HasQuery(std::string_view name) const { return query.count(std::string(name)) > 0; }
  const std::string& Param(const std::string& name) const;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // One line for the admin event of a mutating call, e.g. "version 3".
  std::string audit_note;
  // A POST that changed nothing (a dry-run evaluate, a validation): no
  // admin event, like a GET; with durable audit an event waits for a commit.
  bool read_only = false;
};

// application/problem+json with a stable `reason` code (api::RenderError).
AdminResponse Problem(int status, std::string_view reason, std::string_view detail);
// A JSON body; `json_text` must already be JSON.
AdminResponse JsonText(int status, std::string json_text);

using Handler = std::function<AdminResponse(AdminRequest&)>;

struct Route {
  std::string method;   // GET, POST, PATCH, DELETE
  std::string pattern;  // "/v1/admin/policies/{id}/activate"
  uint8_t roles = 0;    // RoleBit()s allowed; 0: no token needed
  std::string action;   // admin event name, "policies.activate"
  Handler handler;
  // Calls other than GET are recorded as admin events; reads that hand out
  // much (exports) ask for it too.
  bool record_reads = false;
};

class Router {
 public:
  explicit Router(Authenticator* auth) : auth_(auth) {}

  void Add(Route r) { routes_.push_back(std::move(r)); }
  const std::vector<Route>& routes() const { return routes_; }

  // What is checked before the body is read: the route exists, the method
  // is one it answers, the token is valid and its role allowed. Sets *route
  // and returns true when all hold; otherwise fills *error and returns false.
  bool Gate(AdminRequest& req, const Route** route, AdminResponse* error) const;

  // Gate, then the handler. Handlers never throw; an exception that
  // escapes one anyway becomes a 500 here.
  AdminResponse Handle(AdminRequest& req) const;

  // Called after a call that passed the gate and is recorded (a method other
  // than GET, or a route with record_reads), for the admin event.
  std::function<void(const Route&, const AdminRequest&, const AdminResponse&)> on_action;

 private:
  Authenticator* auth_;
  std::vector<Route> routes_;
};

// True when `path` matches `pattern`, filling {name} segments into *params.
bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string>* params);

// JSON string escaping for handlers that build small bodies by hand.
std::string JsonString(std::string_view s);

}  // namespace tosgate::api::admin
