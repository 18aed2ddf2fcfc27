// attribute: a condition tree over request, account, body and time fields.
#pragma once

#include "engine/condition.h"
#include "engine/rule.h"

namespace tosgate::engine {

class AttributeRule final : public Rule {
 public:
  AttributeRule(RuleCommon common, Condition when)
      : Rule(std::move(common)), when_(std::move(when)) {}
  bool stateful() const override { return false; }
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

 private:
  Condition when_;
};

}  // namespace tosgate::engine
