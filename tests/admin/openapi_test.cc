// api/openapi.yaml against the routes actually served: the same paths and
// methods, and the same roles (x-roles) for each.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "api/admin/handlers.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

TEST_CASE("openapi: every served route is documented with its roles, and nothing else is") {
  YAML::Node doc = YAML::LoadFile(TOSGATE_SOURCE_DIR "/api/openapi.yaml");
  CHECK(doc["openapi"].as<std::string>() == "3.1.0");
  std::map<std::string, std::set<std::string>> documented;  // "METHOD path" -> roles
  for (const auto& p : doc["paths"]) {
    for (const auto& op : p.second) {
      std::string method = op.first.as<std::string>();
      if (method == "parameters") continue;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      std::set<std::string> roles;
      for (const auto& r : op.second["x-roles"]) roles.insert(r.as<std::string>());
      documented[method + " " + p.first.as<std::string>()] = roles;
    }
  }
  AdminServices none;
  Router table(nullptr);
  AddAllRoutes(table, &none);
  std::set<std::string> served;
  for (const Route& r : table.routes()) {
    const std::string key = r.method + " " + r.pattern;
    served.insert(key);
    INFO(key);
    REQUIRE(documented.count(key) == 1);
    std::set<std::string> roles;
    for (Role role : kAllRoles)
      if (r.roles & RoleBit(role)) roles.insert(std::string(RoleName(role)));
    CHECK(documented[key] == roles);
  }
  for (const auto& [key, roles] : documented) {
    INFO("documented but not served: " << key);
    CHECK(served.count(key) == 1);
  }
}

TEST_CASE("openapi: the server answers every documented path (no 404 for a served route)") {
  test::AdminFixture fx;
  YAML::Node doc = YAML::LoadFile(TOSGATE_SOURCE_DIR "/api/openapi.yaml");
  for (const auto& p : doc["paths"]) {
    std::string path = p.first.as<std::string>();
    for (const char* param : {"{id}", "{key_id}"})
      if (size_t at = path.find(param); at != std::string::npos) path.replace(at, strlen(param), "zz");
    if (!p.second["get"]) continue;
    auto r = fx.Call(Role::kAdmin, "GET", path);
    REQUIRE(r);
    INFO(path << ": " << r->body);
    // Unknown ids are 400/404 with a reason other than "no such endpoint".
    CHECK(r->body.find("no such endpoint") == std::string::npos);
  }
}

}  // namespace
}  // namespace tosgate::api::admin
