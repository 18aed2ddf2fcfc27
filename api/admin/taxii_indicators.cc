#include "api/admin/taxii_indicators.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/condition.h"
#include "engine/distill/text_features.h"
#include "engine/indicators/evidence.h"
#include "engine/indicators/request_print.h"
#include "engine/indicators/keyed_hash.h"
#include "storage/accounts/registry.h"
#include "storage/admin/review_queue.h"
#include "storage/audit/query.h"

namespace tosgate::api::admin {
namespace {

bool ResolvedAsDistillation(const storage::ReviewItem& item) {
  if (item.resolved_ms == 0) return false;
  std::string head = item.note.substr(0, 12);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head == "distillation";
}

// "risk 0.83 >= review 0.70: ..." -> 0.83; -1 when the detail has no risk.
double RiskOf(const std::string& detail) {
  if (detail.rfind("risk ", 0) != 0) return -1;
  return std::strtod(detail.c_str() + 5, nullptr);
}

// The range of `ip` as CIDR text, or "" when it does not parse.
std::string RangeOf(const std::string& ip, int v4_bits, int v6_bits) {
  std::array<uint8_t, 16> a;
  if (!engine::ParseIp(ip, &a)) return "";
  const bool v4 = a[10] == 0xff && a[11] == 0xff &&
                  std::all_of(a.begin(), a.begin() + 10, [](uint8_t x) { return x == 0; });
  const int bits = v4 ? 96 + v4_bits : v6_bits;
  for (int i = 0; i < 16; ++i) a[i] &= static_cast<uint8_t>(0xff00 >> std::clamp(bits - 8 * i, 0, 8));
  char b[64];
  if (v4) {
    std::snprintf(b, sizeof b, "%u.%u.%u.%u/%d", a[12], a[13], a[14], a[15], v4_bits);
    return b;
  }
  // Full (uncompressed) IPv6 groups: unambiguous, and ParseCidr reads them.
  std::string out;
  for (int g = 0; g < 8; ++g) {
    std::snprintf(b, sizeof b, "%s%x", g ? ":" : "", a[2 * g] << 8 | a[2 * g + 1]);
    out += b;
  }
  return out + "/" + std::to_string(v6_bits);
}

struct Member {
  std::set<std::string> ranges;
  std::string payment, device;  // keyed
  std::vector<uint64_t> prints;  // raw SimHashes (evidence), keyed on the way out
  std::string shape;             // the most used profile
  int64_t first_ms = 0, last_ms = 0;
};

size_t Find(std::vector<size_t>& parent, size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

}  // namespace

std::string IndicatorExportSummary::Describe() const {
  return "campaigns: " + std::to_string(campaigns) + " (from " + std::to_string(accounts) +
         " confirmed accounts)\n"
         "indicators: " + std::to_string(ranges) + " address ranges, " + std::to_string(payments) +
         " keyed payment fingerprints, " + std::to_string(devices) +
         " keyed device fingerprints, " + std::to_string(templates) +
         " keyed harvest-template fingerprints, " + std::to_string(shapes) +
         " request-shape profiles\n"
         "not included: account ids, prompt text or digests, single addresses, raw fingerprints, "
         "unkeyed SimHashes, model versions\n";
}

Status GatherCampaigns(storage::ReviewQueue* reviews, storage::AuditReadStore* audit,
                       storage::AccountsRegistry* registry, const IndicatorExportOptions& o,
                       std::vector<policies::StixCampaignExport>* campaigns,
                       IndicatorExportSummary* summary) {
  std::map<std::string, Member> members;  // account id -> what it shows
  if (reviews) {
    int64_t after = 0;
    for (;;) {
      Result<std::vector<storage::ReviewItem>> page = reviews->List(false, 500, after);
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      for (const storage::ReviewItem& item : *page) {
        after = std::max(after, item.id);
        if ((o.rule.empty() || item.rule_id == o.rule) && ResolvedAsDistillation(item))
          members[item.account];
      }
    }
  }
  if (audit) {
    // Every decision: a confirmed account's addresses count whichever rule
    // decided (a flagged request has no deciding rule at all).
    storage::AuditFilter filter;
    Status s = audit->ForEach(filter, [&](const storage::StoredDecision& d) {
      const storage::AuditRow& row = d.record;
      if (row.account.empty()) return true;
      if (o.min_risk > 0 && !members.count(row.account)) {
        const nlohmann::json m = nlohmann::json::parse(row.matches, nullptr, false);
        bool high = false;
        if (m.is_array())
          for (const nlohmann::json& x : m)
            if (x.is_object() && (o.rule.empty() || x.value("rule", "") == o.rule) &&
                RiskOf(x.value("detail", "")) >= o.min_risk)
              high = true;
        if (!high) return true;
        members[row.account];
      }
      auto it = members.find(row.account);
      if (it == members.end()) return true;
      Member& mb = it->second;
      if (std::string r = RangeOf(row.client_ip, o.v4_bits, o.v6_bits); !r.empty())
        mb.ranges.insert(std::move(r));
      if (!mb.first_ms || row.time_ms < mb.first_ms) mb.first_ms = row.time_ms;
      mb.last_ms = std::max(mb.last_ms, row.time_ms);
      return true;
    });
    if (!s.ok()) return s;
  }
  if (registry && !o.key.empty()) {
    for (auto& [id, mb] : members) {
      Result<Account> a = registry->GetAccount(id);
      if (!a.ok()) continue;  // an account since deleted: its addresses still count
      if (!a->payment_fingerprint.empty())
        mb.payment = engine::KeyedFingerprint(o.key, engine::KeyedKind::kPayment, a->payment_fingerprint);
      if (!a->device_fingerprint.empty())
        mb.device = engine::KeyedFingerprint(o.key, engine::KeyedKind::kDevice, a->device_fingerprint);
    }
  }
  if (o.evidence) {
    engine::IndicatorEvidence::Record rec;
    for (auto& [id, mb] : members) {
      if (!o.evidence->Get(id, &rec)) continue;
      mb.prints.assign(rec.prints.begin(), rec.prints.begin() + rec.len);
      if (!rec.shapes.empty()) mb.shape = rec.shapes.front().profile;
    }
  }
  // Ranges shared by enough confirmed accounts; accounts linked by a shared
  // range or fingerprint are one campaign (union-find over the members).
  std::vector<const Member*> list;
  for (const auto& [id, mb] : members) list.push_back(&mb);
  std::vector<size_t> parent(list.size());
  std::iota(parent.begin(), parent.end(), size_t{0});
  std::map<std::string, std::vector<size_t>> by_range, by_print;
  for (size_t i = 0; i < list.size(); ++i) {
    for (const std::string& r : list[i]->ranges) by_range[r].push_back(i);
    if (!list[i]->payment.empty()) by_print["p" + list[i]->payment].push_back(i);
    if (!list[i]->device.empty()) by_print["d" + list[i]->device].push_back(i);
  }
  // Templates: a SimHash with near neighbours (template_distance bits) in
  // enough other confirmed accounts; one representative per group leaves.
  std::vector<std::pair<uint64_t, size_t>> shared_prints;  // SimHash, member
  if (!o.key.empty())
    for (size_t i = 0; i < list.size(); ++i)
      for (uint64_t p : list[i]->prints) {
        std::set<size_t> near{i};
        for (size_t j = 0; j < list.size(); ++j)
          if (j != i)
            for (uint64_t q : list[j]->prints)
              if (engine::HammingDistance(p, q) <= o.template_distance) {
                near.insert(j);
                break;
              }
        if (static_cast<int>(near.size()) < o.min_range_accounts) continue;
        for (size_t j : near) if (j != i) parent[Find(parent, j)] = Find(parent, i);
        shared_prints.emplace_back(p, i);
      }
  std::map<std::string, std::vector<size_t>> by_shape;
  for (size_t i = 0; i < list.size(); ++i)
    if (!list[i]->shape.empty()) by_shape[list[i]->shape].push_back(i);
  for (auto it = by_range.begin(); it != by_range.end();)
    it = static_cast<int>(it->second.size()) < o.min_range_accounts ? by_range.erase(it) : std::next(it);
  for (const auto* groups : {&by_range, &by_print})
    for (const auto& [k, idx] : *groups)
      for (size_t j = 1; j < idx.size(); ++j) parent[Find(parent, idx[j])] = Find(parent, idx[0]);
  std::map<size_t, policies::StixCampaignExport> out;
  std::map<size_t, size_t> sizes;
  for (size_t i = 0; i < list.size(); ++i) ++sizes[Find(parent, i)];
  for (const auto& [k, idx] : by_range) out[Find(parent, idx[0])].address_ranges.push_back(k);
  for (size_t i = 0; i < list.size(); ++i) {
    policies::StixCampaignExport& c = out[Find(parent, i)];
    if (!list[i]->payment.empty()) c.payment_hmacs.push_back(list[i]->payment);
    if (!list[i]->device.empty()) c.device_hmacs.push_back(list[i]->device);
    if (list[i]->first_ms && (!c.first_seen_ms || list[i]->first_ms < c.first_seen_ms))
      c.first_seen_ms = list[i]->first_ms;
    c.last_seen_ms = std::max(c.last_seen_ms, list[i]->last_ms);
  }
  // Keyed on the way out; within a campaign, prints closer than
  // template_distance to one already kept add nothing.
  const engine::TemplateKey tkey(o.key);
  std::map<size_t, std::vector<uint64_t>> kept;
  for (const auto& [print, i] : shared_prints) {
    const uint64_t p = print;  // a lambda cannot capture a structured binding before C++20 in clang 14
    std::vector<uint64_t>& k = kept[Find(parent, i)];
    if (k.size() >= o.max_templates) continue;
    if (std::any_of(k.begin(), k.end(), [&](uint64_t q) { return engine::HammingDistance(p, q) <= o.template_distance; }))
      continue;
    k.push_back(p);
    out[Find(parent, i)].template_prints.push_back(engine::TemplateHex(tkey.Apply(p)));
  }
  for (auto it = by_shape.begin(); it != by_shape.end(); ++it) {
    if (static_cast<int>(it->second.size()) < o.min_range_accounts) continue;
    // Under the campaign most of its accounts belong to.
    std::map<size_t, size_t> roots;
    for (size_t i : it->second) ++roots[Find(parent, i)];
    const size_t root = std::max_element(roots.begin(), roots.end(), [](const auto& a, const auto& b) {
                          return a.second < b.second;
                        })->first;
    if (out[root].shape_profiles.size() < o.max_shapes) out[root].shape_profiles.push_back(it->first);
  }
  *summary = {};
  summary->accounts = members.size();
  for (auto& [root, c] : out) {
    for (auto* v : {&c.payment_hmacs, &c.device_hmacs}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    // A shape alone is no campaign: common to honest clients too.
    if (c.address_ranges.empty() && c.payment_hmacs.empty() && c.device_hmacs.empty() &&
        c.template_prints.empty())
      continue;
    // The campaign's stable name: its smallest indicator value, so that a
    // later export of the same campaign keeps its ids.
    std::vector<std::string> all = c.address_ranges;
    all.insert(all.end(), c.payment_hmacs.begin(), c.payment_hmacs.end());
    all.insert(all.end(), c.device_hmacs.begin(), c.device_hmacs.end());
    all.insert(all.end(), c.template_prints.begin(), c.template_prints.end());
    c.key = (o.rule.empty() ? std::string("any") : o.rule) + "\n" + *std::min_element(all.begin(), all.end());
    c.name = "distillation campaign " + std::to_string(campaigns->size() + 1);
    c.description = std::to_string(sizes[root]) + " accounts confirmed as distillation; " +
                    std::to_string(c.address_ranges.size()) + " address ranges, " +
                    std::to_string(c.payment_hmacs.size()) + " payment and " +
                    std::to_string(c.device_hmacs.size()) + " device fingerprints (keyed)" +
                    (c.template_prints.empty() && c.shape_profiles.empty()
                         ? std::string()
                         : ", " + std::to_string(c.template_prints.size()) + " harvest templates (keyed), " +
                               std::to_string(c.shape_profiles.size()) + " request shapes");
    c.confidence = o.confidence;
    summary->ranges += c.address_ranges.size();
    summary->payments += c.payment_hmacs.size();
    summary->devices += c.device_hmacs.size();
    summary->templates += c.template_prints.size();
    summary->shapes += c.shape_profiles.size();
    campaigns->push_back(std::move(c));
  }
  summary->campaigns = campaigns->size();
  return Status::Ok();
}

}  // namespace tosgate::api::admin
