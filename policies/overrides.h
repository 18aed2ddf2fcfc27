// `overrides:` of a policy file: change a rule of the set by id without
// editing the file that defines it (a rule of an imported pack, usually).
//
//   overrides:
//     - rule: distill.competitor-training
//       mode: shadow                 # enforce | shadow | off (off: the rule is not loaded)
//       action: flag                 # any other key of the rule but id and kind:
//       thresholds: {deny: 0.99}     #   a map merges into the rule's, key by key,
//                                    #   anything else replaces the rule's value
//
// The rule is compiled from its own YAML with the override's keys merged in,
// so an override is checked exactly as the rule is; an error in an
// override's value is reported where the override writes it. An override of
// a rule the set does not have, and two overrides of one rule, are errors.
#pragma once

#include <map>
#include <string>

#include <yaml-cpp/yaml.h>

#include "policies/context.h"

namespace tosgate::policies {

struct RuleOverride {
  std::string file;  // the file that writes it
  Field entry;       // the whole entry, path "overrides[i]"
  Field rule;        // its `rule:` value
  bool off = false;  // mode: off
  bool used = false;
};

using RuleOverrides = std::map<std::string, RuleOverride, std::less<>>;  // by rule id

// Reads the file's `overrides:` into `out`, reporting malformed entries.
void CollectOverrides(Context& ctx, const YAML::Node& root, RuleOverrides* out);

// The rule `rule` (an entry of `rules:`) with `o`'s keys merged in; errors
// reported through `ctx` while the result is compiled go from `errors_from`
// on; FinishOverride then moves those in the override's values to its file.
Field ApplyOverride(const Field& rule, const RuleOverride& o);
void FinishOverride(Context& ctx, size_t errors_from, const Field& rule, const RuleOverride& o);

// Reports each override whose rule no file of the set defines.
void ReportUnusedOverrides(const RuleOverrides& overrides, std::vector<Diagnostic>* errors);

}  // namespace tosgate::policies
