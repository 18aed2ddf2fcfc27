// Helpers shared by the policy loader tests.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "policies/builtin/builtin_packs.h"
#include "policies/loader.h"

namespace tosgate::test {

// Three lines every inline policy starts with; rules written after it begin
// on line 4.
inline const std::string kHead = "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n";

// As the CLI and the server load: `imports: [{pack: NAME}]` resolves to the
// packs built into the binary (the default pack imports two).
inline policies::LoadOptions WithBuiltinPacks() {
  policies::LoadOptions options;
  options.packs = &policies::BuiltinPacks();
  return options;
}

inline policies::LoadResult LoadOne(const std::string& yaml, const std::string& name = "p.yaml") {
  return policies::LoadPolicyFiles({{name, yaml}});
}

inline std::string AllErrors(const policies::LoadResult& r) {
  std::string out;
  for (const policies::Diagnostic& d : r.errors) out += d.ToString() + "\n";
  return out;
}

// Whether one diagnostic renders as `prefix...` ("p.yaml:5:7: rules[0].kind: ...").
inline bool HasError(const policies::LoadResult& r, const std::string& prefix) {
  for (const policies::Diagnostic& d : r.errors)
    if (d.ToString().rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace tosgate::test
