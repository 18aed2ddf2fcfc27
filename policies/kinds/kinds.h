// The rule kinds the policy language knows, in one explicit table.
//
// Adding a kind: write policies/kinds/<kind>.cc with one compile function of
// the CompileFn signature, declare it here, and add one row to the table in
// kinds.cc. Nothing registers itself at static-initialization time.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "engine/rule.h"
#include "policies/context.h"

namespace tosgate::policies {

// Compiles the kind-specific keys of one rule. `rule` is the rule's map with
// the common keys (id, kind, description, mode, match, action, reason)
// already taken and parsed into `common`; the function Take()s its own keys,
// and whatever it leaves is reported as unknown. Returns null, having
// reported why through `ctx`, when the rule has errors.
using CompileFn = std::unique_ptr<engine::Rule> (*)(MapReader& rule, Context& ctx,
                                                    engine::RuleCommon common);

struct KindSpec {
  std::string_view name;  // the value of `kind:`
  CompileFn compile;
  Action default_action;
  std::string_view default_reason;  // empty: the rule id is the reason
  // Whether `action:` may be a map, which the kind then reads itself
  // (rate_limit's {delay: {max: 2s}}). Otherwise only deny, throttle, flag.
  bool action_may_be_map = false;
};

std::span<const KindSpec> Kinds();
const KindSpec* FindKind(std::string_view name);

std::unique_ptr<engine::Rule> CompileAttribute(MapReader& rule, Context& ctx,
                                               engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileRateLimit(MapReader& rule, Context& ctx,
                                               engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileTokenBudget(MapReader& rule, Context& ctx,
                                                 engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileCostBudget(MapReader& rule, Context& ctx,
                                                engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileContent(MapReader& rule, Context& ctx,
                                             engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileCompetitorTraining(MapReader& rule, Context& ctx,
                                                        engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileGuard(MapReader& rule, Context& ctx,
                                           engine::RuleCommon common);
std::unique_ptr<engine::Rule> CompileIndicators(MapReader& rule, Context& ctx,
                                                engine::RuleCommon common);  // indicators.cc

}  // namespace tosgate::policies
