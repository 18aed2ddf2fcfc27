#include "engine/rules/content.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>

namespace tosgate::engine {
namespace {

// Enough ids for a reviewer; a prompt that hits a whole list says how many.
constexpr size_t kMaxIdsInDetail = 8;
// Features named in a classifier's explanation.
constexpr int kExplainFeatures = 3;

// The classifier's buffers, one set per thread: after a thread's first
// requests they are large enough, and scoring allocates nothing. The last
// scores are kept per scope with the scan's generation (which names its
// normalized text on this thread, ContentScans::Scan), so that the rules of
// a pack that share one model (one rule per category) score a text once,
// and a scope's text that the thread's last scan served again (a system
// prompt) is not scored again; comparing two numbers instead of copying
// and comparing the text.
struct ClassifierScratch {
  TextModelScratch model;
  struct Scored {
    // Held weakly: a model freed by a reload cannot have its address reused
    // while its control block is still here.
    std::weak_ptr<const TextModel> model;
    uint64_t generation = 0;  // of the scan scored; 0: none
    std::vector<float> scores;
  };
  std::array<Scored, kContentScopes> scored;
};
thread_local ClassifierScratch tls_scratch;

std::string Fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

std::string_view ContentScopeName(ContentScope s) {
  switch (s) {
    case ContentScope::kSystem: return "system";
    case ContentScope::kUser: return "user";
    case ContentScope::kAll: break;
  }
  return "all";
}

Status ContentRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  const RequestBody& body = ctx.eval.request.body;
  if (!body.present || (count_ == 0 && !classifier_.model)) return Status::Ok();
  ContentScans local;  // when the caller keeps no per-request scans
  ContentScans& scans = ctx.content ? *ctx.content : local;
  std::vector<uint32_t> matched;  // pattern ids, in first-seen order
  std::string scopes_hit, evidence;
  for (ContentScope scope : scopes_) {
    if (count_ == 0) break;
    const ContentScans::Scan& scan = scans.Get(*index_, scope, body);
    if (!scan.ok) return Status::Internal("content scan failed (Hyperscan)");
    auto it = std::lower_bound(scan.hits.begin(), scan.hits.end(), first_,
                               [](const ContentHit& h, uint32_t id) { return h.id < id; });
    bool any = false;
    for (; it != scan.hits.end() && it->id < first_ + count_; ++it) {
      any = true;
      if (redacted_evidence_ && evidence.empty()) evidence = RedactedEvidence(scan.text, it->end);
      if (std::find(matched.begin(), matched.end(), it->id) == matched.end())
        matched.push_back(it->id);
    }
    if (any) scopes_hit += (scopes_hit.empty() ? "" : ", ") + std::string(ContentScopeName(scope));
  }
  if (matched.empty()) return classifier_.model ? Classify(scans, body, out) : Status::Ok();
  std::sort(matched.begin(), matched.end());
  out->matched = true;
  out->detail = "matched patterns: ";
  for (size_t i = 0; i < matched.size() && i < kMaxIdsInDetail; ++i)
    out->detail += (i ? ", " : "") + index_->patterns()[matched[i]].id;
  if (matched.size() > kMaxIdsInDetail)
    out->detail += " and " + std::to_string(matched.size() - kMaxIdsInDetail) + " more";
  out->detail += " (" + scopes_hit + ")";
  if (!evidence.empty()) out->detail += "; evidence: \"" + evidence + "\"";
  return Status::Ok();
}

Status ContentRule::Classify(ContentScans& scans, const RequestBody& body,
                             RuleOutcome* out) const {
  const TextModel& model = *classifier_.model;
  ClassifierScratch& scratch = tls_scratch;
  const ContentClassifier::Category* best = nullptr;
  float best_score = 0;
  ContentScope best_scope = ContentScope::kAll;
  const std::string* best_text = nullptr;
  for (ContentScope scope : scopes_) {
    // The scan's normalized text: normalized once per scope per request,
    // whichever rule asked first.
    const ContentScans::Scan& scan = scans.Get(*index_, scope, body);
    if (scan.text.empty()) continue;
    ClassifierScratch::Scored& scored = scratch.scored[static_cast<size_t>(scope)];
    const bool same_model = !scored.model.owner_before(classifier_.model) &&
                            !classifier_.model.owner_before(scored.model) &&
                            !scored.model.expired();
    if (!same_model || scored.generation != scan.generation) {
      model.ScoreNormalized(scan.text, &scratch.model, &scored.scores);
      scored.model = classifier_.model;
      scored.generation = scan.generation;
    }
    for (const ContentClassifier::Category& c : classifier_.categories) {
      const float score = scored.scores[c.label];
      // Highest score over its threshold; on a tie the category listed first.
      if (score >= c.threshold && (!best || score > best_score)) {
        best = &c;
        best_score = score;
        best_scope = scope;
        best_text = &scan.text;
      }
    }
  }
  if (!best) return Status::Ok();
  out->matched = true;
  if (best->action) out->action = best->action;
  // Explain is the slow path, paid only by the requests that match.
  out->detail = "classifier: category " + model.labels()[best->label] + ", score " +
                Fixed2(best_score) + " (threshold " + Fixed2(best->threshold) + "), features: " +
                model.Explain(*best_text, best->label, kExplainFeatures) + " (" +
                std::string(ContentScopeName(best_scope)) + ")";
  return Status::Ok();
}

}  // namespace tosgate::engine
