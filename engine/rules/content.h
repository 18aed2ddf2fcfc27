// content: deny, throttle or flag a request whose prompt text matches a
// phrase, whole word, regular expression or list entry.
//
// Every content rule of a snapshot reads one shared ContentIndex (one
// Hyperscan database); the rule owns the pattern ids [first, first + count).
// Each scope is normalized and scanned once per request (RuleContext::content).
//
// A rule may also hold a classifier (the second tier): a TextModel with one
// label per category, each with its own threshold and, optionally, its own
// action. It scores the same normalized text the scan read, and only when no
// pattern of the rule matched (a pattern is the cheaper, plainer evidence).
// Rules that share a model (a pack's one rule per category) score a text once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/content/index.h"
#include "engine/rule.h"
#include "engine/textmodel/text_model.h"

namespace tosgate::engine {

struct ContentClassifier {
  struct Category {
    int label = 0;           // index into model->labels()
    float threshold = 0.5f;  // matches at a score >= threshold
    std::optional<Action> action;  // unset: the rule's action
  };
  std::shared_ptr<const TextModel> model;  // null: no classifier
  std::vector<Category> categories;
};

class ContentRule final : public Rule {
 public:
  ContentRule(RuleCommon common, std::vector<ContentScope> scopes,
              std::shared_ptr<const ContentIndex> index, uint32_t first, uint32_t count,
              bool redacted_evidence, ContentClassifier classifier = {})
      : Rule(std::move(common)),
        scopes_(std::move(scopes)),
        index_(std::move(index)),
        first_(first),
        count_(count),
        redacted_evidence_(redacted_evidence),
        classifier_(std::move(classifier)) {}
  bool stateful() const override { return false; }
  // detail: "matched patterns: a, b (user)" - pattern ids and scopes, never
  // the prompt. With `evidence: redacted`, "; evidence: ..." follows: a few
  // masked characters around the first match (see RedactedEvidence).
  // A classifier match instead: "classifier: category cbrn, score 0.97
  // (threshold 0.80), features: w:sarin +2.31, c:^sar +0.80 (user)" - the
  // category with the highest score over its threshold in any scope, and the
  // features that weighed most for it; never the prompt itself.
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const ContentIndex& index() const { return *index_; }
  uint32_t first() const { return first_; }
  uint32_t count() const { return count_; }
  const std::vector<ContentScope>& scopes() const { return scopes_; }
  const ContentClassifier& classifier() const { return classifier_; }

 private:
  Status Classify(ContentScans& scans, const RequestBody& body, RuleOutcome* out) const;

  std::vector<ContentScope> scopes_;
  std::shared_ptr<const ContentIndex> index_;
  uint32_t first_ = 0;
  uint32_t count_ = 0;
  bool redacted_evidence_ = false;
  ContentClassifier classifier_;
};

std::string_view ContentScopeName(ContentScope s);  // "all", "system", "user"

}  // namespace tosgate::engine
