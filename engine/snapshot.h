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

// settings.unmatched_operation: what becomes of a request that no operation
// of the set classifies. Such a request escapes every operation-scoped rule,
// so the default refuses the methods that carry a body to a model, on every
// path; GET, HEAD, DELETE and OPTIONS pass unclassified.
struct UnmatchedOperation {
  bool deny = true;
  std::vector<std::string> methods{"POST", "PUT", "PATCH"};  // never empty
  std::vector<std::string> paths{"/*"};                      // never empty
};

struct Settings {
  RuleMode mode = RuleMode::kEnforce;  // kShadow: nothing is enforced
  bool fail_open = false;              // failure_mode: open
  UnmatchedOperation unmatched_operation;
};

struct IdentityConfig {
  // trusted_headers: set by a proxy that already authenticated the caller.
  // Read only from requests whose peer is trusted (Request::peer_trusted).
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
  std::vector<std::string> paths;    // patterns, see PathMatches
};

// Whether `path` matches `pattern`: characters compare exactly, a '*' that
// ends the pattern matches any rest (a prefix), and a '*' anywhere else
// matches any run of characters within one path segment (no '/'), as in
// "/v1beta/models/*:generateContent". No allocation; time is at most the
// product of the two lengths, whatever the path holds.
bool PathMatches(std::string_view pattern, std::string_view path);

struct PolicySnapshot {
  std::string revision;  // content hash of the policy files
  std::string name;      // metadata.name of the file that set it
  Settings settings;
  IdentityConfig identity;
  std::vector<OperationDef> operations;
  std::vector<std::unique_ptr<const Rule>> rules;  // in file order

  // The operation a method and path map to, or "" when none does.
  std::string_view OperationFor(std::string_view method, std::string_view path) const;
  // Whether settings.unmatched_operation refuses a request that no
  // operation classified.
  bool RefusesUnmatched(std::string_view method, std::string_view path) const;
};

}  // namespace tosgate::engine
