#include "engine/rules/attribute.h"

namespace tosgate::engine {

Status AttributeRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  out->matched = engine::Evaluate(when_, ctx.eval, &out->detail);
  if (!out->matched) out->detail.clear();
  return Status::Ok();
}

}  // namespace tosgate::engine
