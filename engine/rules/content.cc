#include "engine/rules/content.h"

#include <set>

namespace tosgate::engine {
namespace {

const std::string& FieldText(const RequestBody& body, ContentFields f) {
  switch (f) {
    case ContentFields::kSystem: return body.system_text;
    case ContentFields::kUser: return body.user_text;
    case ContentFields::kAll: break;
  }
  return body.prompt_text;
}

}  // namespace

Status ContentRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  const RequestBody& body = ctx.eval.request.body;
  if (!body.present) return Status::Ok();
  std::set<size_t> matched;
  std::string evidence;
  for (ContentFields f : fields_) {
    // TODO(merge): scan NormalizeForMatch(text) once engine/normalize.h is
    // on this branch; until then matching is case-insensitive on raw text.
    const std::string& text = FieldText(body, f);
    for (const ContentHit& hit : matcher_->Scan(text)) {
      if (matched.insert(hit.pattern).second && redacted_evidence_ && evidence.empty())
        evidence = RedactedEvidence(text, hit.end);
    }
  }
  if (matched.empty()) return Status::Ok();
  out->matched = true;
  out->detail = "matched patterns:";
  for (size_t i : matched) out->detail += " " + matcher_->patterns()[i].id;
  if (!evidence.empty()) out->detail += " evidence: " + evidence;
  return Status::Ok();
}

}  // namespace tosgate::engine
