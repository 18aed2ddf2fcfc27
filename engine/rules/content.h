// content: deny, throttle or flag a request whose prompt text matches a
// phrase, whole word, regular expression or list entry (Hyperscan).
#pragma once

#include <memory>

#include "engine/content/matcher.h"
#include "engine/rule.h"

namespace tosgate::engine {

enum class ContentFields { kAll, kSystem, kUser };

class ContentRule final : public Rule {
 public:
  ContentRule(RuleCommon common, std::vector<ContentFields> fields,
              std::shared_ptr<const ContentMatcher> matcher, bool redacted_evidence)
      : Rule(std::move(common)),
        fields_(std::move(fields)),
        matcher_(std::move(matcher)),
        redacted_evidence_(redacted_evidence) {}
  bool stateful() const override { return false; }
  // detail: "matched patterns: a, b"; never the prompt. With redacted
  // evidence, " evidence: ..." follows (masked characters around the match).
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const ContentMatcher& matcher() const { return *matcher_; }

 private:
  std::vector<ContentFields> fields_;
  std::shared_ptr<const ContentMatcher> matcher_;
  bool redacted_evidence_ = false;
};

}  // namespace tosgate::engine
