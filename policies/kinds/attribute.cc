// attribute: deny, throttle or flag a request when a condition tree holds.
//
//   when: {all: [{field: body.logprobs, eq: true}, {field: body.logit_bias_count, gt: 0}]}
#include "engine/rules/attribute.h"
#include "policies/condition_compiler.h"
#include "policies/kinds/kinds.h"

namespace tosgate::policies {

std::unique_ptr<engine::Rule> CompileAttribute(MapReader& rule, Context& ctx,
                                               engine::RuleCommon common) {
  std::optional<Field> when = rule.Require("when");
  engine::Condition condition;
  const bool ok = when && CompileCondition(ctx, *when, &condition);
  if (!ok) return nullptr;
  return std::make_unique<engine::AttributeRule>(std::move(common), std::move(condition));
}

}  // namespace tosgate::policies
