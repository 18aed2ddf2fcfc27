#include "storage/audit/fields.h"

#include <nlohmann/json.hpp>
#include <utility>

namespace tosgate::storage {
namespace {

// ordered: keys keep the order tosgate wrote them in.
using json = nlohmann::ordered_json;

std::string Marker(size_t cut) { return "\xe2\x80\xa6[+" + std::to_string(cut) + " bytes]"; }

// Cuts every string in `j` (not object keys: tosgate writes those) to
// kAuditTextMax.
void BoundStrings(json& j) {
  if (j.is_string()) {
    BoundAuditText(j.get_ptr<std::string*>(), kAuditTextMax);
  } else if (j.is_array() || j.is_object()) {
    for (auto& v : j) BoundStrings(v);
  }
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A JSON field over `max`: its strings cut, then, if it is an array still
// too long, its last elements replaced by one marker string. Text that is
// not JSON is cut as text.
void BoundJson(std::string* s, size_t max) {
  if (s->size() <= max) return;
  json j = json::parse(*s, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    BoundAuditText(s, max);
    return;
  }
  BoundStrings(j);
  std::string out = Dump(j);
  if (out.size() > max && j.is_array()) {
    // Keep the leading elements that fit with room for the marker element.
    constexpr size_t kMarkerRoom = 48;
    const size_t total = j.size();
    size_t used = 2, keep = 0;  // "[" and "]"
    for (const json& e : j) {
      const size_t n = Dump(e).size() + 1;  // and a comma
      if (used + n + kMarkerRoom > max) break;
      used += n;
      ++keep;
    }
    json kept = json::array();
    for (size_t i = 0; i < keep; ++i) kept.push_back(std::move(j[i]));
    kept.push_back("\xe2\x80\xa6[+" + std::to_string(total - keep) + " elements]");
    out = Dump(kept);
  }
  if (out.size() > max) {  // not an array, or one huge object: no JSON left to keep
    BoundAuditText(&out, max);
  }
  *s = std::move(out);
}

}  // namespace

bool BoundAuditText(std::string* s, size_t max) {
  if (s->size() <= max) return false;
  // The marker's length with the most digits the count can have.
  const size_t marker = Marker(s->size()).size();
  size_t keep = max > marker ? max - marker : 0;
  // Back off to the start of the character the cut falls in (at most three
  // continuation bytes, so invalid UTF-8 cannot walk it back further).
  for (int i = 0; i < 3 && keep > 0 && (static_cast<unsigned char>((*s)[keep]) & 0xc0) == 0x80; ++i)
    --keep;
  const size_t cut = s->size() - keep;
  s->resize(keep);
  s->append(Marker(cut));
  return true;
}

void BoundAuditRecord(AuditRow* r) {
  for (std::string* s :
       {&r->id, &r->request_id, &r->account, &r->key_id, &r->org, &r->client_ip, &r->method,
        &r->operation, &r->model, &r->effect, &r->reason, &r->policy_revision, &r->prompt_sha256,
        &r->traceparent, &r->tracestate})
    BoundAuditText(s, kAuditTextMax);
  BoundAuditText(&r->path, kAuditPathMax);
  BoundJson(&r->rule_ids, kAuditJsonMax);
  BoundJson(&r->matches, kAuditJsonMax);
}

}  // namespace tosgate::storage
