// content: deny, throttle or flag a request whose prompt text matches a
// phrase, whole word, regular expression or list entry.
//
// Every content rule of a snapshot reads one shared ContentIndex (one
// Hyperscan database); the rule owns the pattern ids [first, first + count).
// Each scope is normalized and scanned once per request (RuleContext::content).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/content/index.h"
#include "engine/rule.h"

namespace tosgate::engine {

class ContentRule final : public Rule {
 public:
  ContentRule(RuleCommon common, std::vector<ContentScope> scopes,
              std::shared_ptr<const ContentIndex> index, uint32_t first, uint32_t count,
              bool redacted_evidence)
      : Rule(std::move(common)),
        scopes_(std::move(scopes)),
        index_(std::move(index)),
        first_(first),
        count_(count),
        redacted_evidence_(redacted_evidence) {}
  bool stateful() const override { return false; }
  // detail: "matched patterns: a, b (user)" - pattern ids and scopes, never
  // the prompt. With `evidence: redacted`, "; evidence: ..." follows: a few
  // masked characters around the first match (see RedactedEvidence).
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const ContentIndex& index() const { return *index_; }
  uint32_t first() const { return first_; }
  uint32_t count() const { return count_; }
  const std::vector<ContentScope>& scopes() const { return scopes_; }

 private:
  std::vector<ContentScope> scopes_;
  std::shared_ptr<const ContentIndex> index_;
  uint32_t first_ = 0;
  uint32_t count_ = 0;
  bool redacted_evidence_ = false;
};

std::string_view ContentScopeName(ContentScope s);  // "all", "system", "user"

}  // namespace tosgate::engine
