#include "api/admin/taxii_collection.h"

#include <algorithm>
#include <set>

#include "policies/stix.h"

namespace tosgate::api::admin {
namespace {

using nlohmann::ordered_json;

// What an object says, without the timestamps every export sets to "now".
ordered_json Content(const ordered_json& o) {
  ordered_json c = o;
  for (const char* k : {"created", "modified", "valid_from", "valid_until"}) c.erase(k);
  return c;
}

int64_t Ms(const ordered_json& o, const char* key) {
  int64_t ms = 0;
  auto it = o.find(key);
  if (it == o.end() || !it->is_string() || !policies::ParseStixTimestamp(it->get<std::string>(), &ms))
    return 0;
  return ms;
}

std::string VersionOf(const ordered_json& o) {
  for (const char* k : {"modified", "created"})
    if (auto it = o.find(k); it != o.end() && it->is_string()) return it->get<std::string>();
  return "";
}

}  // namespace

void TaxiiCollection::Publish(TaxiiObject* slot, nlohmann::ordered_json o, int64_t now_ms) {
  // date_added strictly increasing, so that added_after pages exactly.
  last_added_ms_ = std::max(last_added_ms_ + 1, now_ms);
  slot->added_ms = last_added_ms_;
  slot->version = VersionOf(o);
  slot->object = std::move(o);
}

Status TaxiiCollection::Merge(const std::string& bundle, int64_t now_ms) {
  const ordered_json doc = ordered_json::parse(bundle, nullptr, false);
  if (!doc.is_object() || !doc.contains("objects") || !doc["objects"].is_array())
    return Status::InvalidArgument("not a STIX bundle");
  engine::MutexLock lock(mu_);
  // `modified` must grow with each version, even within one millisecond.
  auto modified_after = [&](const ordered_json& old) {
    return policies::StixTimestamp(std::max(now_ms, Ms(old, "modified") + 1));
  };
  std::set<std::string> seen;
  for (const ordered_json& o : doc["objects"]) {
    if (!o.is_object() || !o.contains("id") || !o["id"].is_string()) continue;
    const std::string id = o["id"].get<std::string>();
    seen.insert(id);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      TaxiiObject& slot = by_id_[id];
      slot.id = id;
      Publish(&slot, o, now_ms);
      continue;
    }
    const ordered_json& old = it->second.object;
    const bool revoked = old.value("revoked", false);
    const bool changed = revoked || Content(old) != Content(o);
    const int64_t until = Ms(old, "valid_until"), from = Ms(old, "valid_from");
    const int64_t fresh_until = Ms(o, "valid_until");
    const bool renew = until > 0 && fresh_until > until && (until - now_ms) * 2 < (until - from);
    if (!changed && !renew) continue;
    ordered_json next = o;
    if (old.contains("created")) next["created"] = old["created"];
    if (next.contains("modified")) next["modified"] = modified_after(old);
    if (!renew && old.contains("valid_from") && next.contains("valid_from") && !revoked) {
      // A change that is not a renewal keeps the validity first published.
      next["valid_from"] = old["valid_from"];
      if (old.contains("valid_until")) next["valid_until"] = old["valid_until"];
    }
    Publish(&it->second, std::move(next), now_ms);
  }
  // Gone from the export: revoked once (markings and identities have no
  // revocation worth sending; they stay as they are).
  for (auto& [id, slot] : by_id_) {
    if (seen.count(id) || slot.object.value("revoked", false)) continue;
    const std::string type = slot.object.value("type", "");
    if (type == "marking-definition" || type == "identity") continue;
    ordered_json next = slot.object;
    next["revoked"] = true;
    next["modified"] = modified_after(slot.object);
    Publish(&slot, std::move(next), now_ms);
  }
  merged_ms_ = now_ms;
  return Status::Ok();
}

TaxiiPage TaxiiCollection::Objects(int64_t after_ms, size_t limit,
                                   const std::vector<std::string>& types) const {
  engine::MutexLock lock(mu_);
  std::vector<const TaxiiObject*> hits;
  for (const auto& [id, slot] : by_id_) {
    if (slot.added_ms <= after_ms) continue;
    if (!types.empty() &&
        std::find(types.begin(), types.end(), slot.object.value("type", "")) == types.end())
      continue;
    hits.push_back(&slot);
  }
  std::sort(hits.begin(), hits.end(),
            [](const TaxiiObject* a, const TaxiiObject* b) { return a->added_ms < b->added_ms; });
  TaxiiPage page;
  for (const TaxiiObject* h : hits) {
    if (page.objects.size() == limit) {
      page.more = true;
      page.next = std::to_string(page.objects.back().added_ms);
      break;
    }
    page.objects.push_back(*h);
  }
  return page;
}

size_t TaxiiCollection::size() const {
  engine::MutexLock lock(mu_);
  return by_id_.size();
}

int64_t TaxiiCollection::merged_ms() const {
  engine::MutexLock lock(mu_);
  return merged_ms_;
}

}  // namespace tosgate::api::admin
