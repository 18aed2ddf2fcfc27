#include "engine/rules/content.h"

#include <algorithm>

namespace tosgate::engine {
namespace {

// Enough ids for a reviewer; a prompt that hits a whole list says how many.
constexpr size_t kMaxIdsInDetail = 8;

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
  if (!body.present || count_ == 0) return Status::Ok();
  ContentScans local;  // when the caller keeps no per-request scans
  ContentScans& scans = ctx.content ? *ctx.content : local;
  std::vector<uint32_t> matched;  // pattern ids, in first-seen order
  std::string scopes_hit, evidence;
  for (ContentScope scope : scopes_) {
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
  if (matched.empty()) return Status::Ok();
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

}  // namespace tosgate::engine
