// PolicySnapshot: a compiled policy set. Immutable once built; the engine
// publishes new ones with an atomic pointer swap, and a request keeps the one
// it started with until it is done.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rule.h"

namespace tosgate::engine {

struct Settings {
  RuleMode mode = RuleMode::kEnforce;  // kShadow: nothing is enforced
  bool fail_open = false;              // failure_mode: open
};

struct IdentityConfig {
  // trusted_headers: set by a proxy that already authenticated the caller.
  std::string account_header;  // e.g. "x-tos-account"
  std::string org_header;
  std::string tier_header;
  // unknown_keys: what a key the registry does not know becomes.
  bool unknown_deny = false;
  std::string unknown_tier = "free";
};

struct OperationDef {
  std::string name;
  std::vector<std::string> methods;  // empty: any method
  std::vector<std::string> paths;    // exact, or a prefix when it ends in '*'
};

struct PolicySnapshot {
  std::string revision;  // content hash of the policy files
  std::string name;      // metadata.name of the file that set it
  Settings settings;
  IdentityConfig identity;
  std::vector<OperationDef> operations;
  std::vector<std::unique_ptr<const Rule>> rules;  // in file order

  // The operation a method and path map to, or "" when none does.
  std::string_view OperationFor(std::string_view method, std::string_view path) const;
};

}  // namespace tosgate::engine
