// Compiles one entry of `rules:`: the keys every kind shares, then the
// kind's own keys through the kind table (kinds/kinds.h).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "engine/rule.h"
#include "policies/context.h"

namespace tosgate::policies {

// What rules are checked against across the whole policy set.
struct RuleSetIndex {
  std::set<std::string, std::less<>> operations;           // names defined in any file
  std::map<std::string, std::string, std::less<>> rule_ids;  // id -> "file:line" first seen
};

// Returns null, having reported every error through `ctx`, when the rule has
// any. Records the rule's id in `index` either way, so a later duplicate is
// reported even when this rule had errors of its own.
std::unique_ptr<engine::Rule> CompileRule(Context& ctx, const Field& rule, RuleSetIndex* index);

// Rule ids and reason codes travel in headers, logs and metrics: letters,
// digits, '.', '_' and '-' only.
bool IsCodeName(std::string_view s);

}  // namespace tosgate::policies
