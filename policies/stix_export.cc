// Writing confirmed campaigns as a STIX 2.1 bundle (policies/stix.h).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/civil_time.h"
#include "engine/hex.h"
#include "engine/sha256.h"
#include "policies/stix.h"

namespace tosgate::policies {
namespace {

using nlohmann::ordered_json;

struct Tlp {
  const char* level;
  const char* id;
  const char* name;
};
// The TLP marking definitions of the STIX 2.1 specification (section 7.2.1.4).
constexpr Tlp kTlp[] = {
    {"white", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE"},
    {"green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"},
    {"amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"},
    {"red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"},
};

// A STIX string literal: ' and \ escaped.
std::string Quoted(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string StixTimestamp(int64_t ms) {
  const int64_t days = engine::DaysOfMs(ms);
  const int64_t in_day = ms - days * 86'400'000;
  const engine::CivilDate d = engine::CivilFromDays(days);
  char b[96];  // sized for any int64 year, which -Wformat-truncation counts
  std::snprintf(b, sizeof b, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(d.year), d.month, d.day,
                static_cast<int>(in_day / 3'600'000), static_cast<int>(in_day / 60'000 % 60),
                static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return b;
}

std::string StixId(std::string_view type, std::string_view seed) {
  std::string hex = engine::Sha256Hex(std::string(type) + "\n" + std::string(seed));
  hex[12] = '5';                                                 // version
  hex[16] = "89ab"[engine::HexDigitValue(hex[16]) & 3];         // variant
  return std::string(type) + "--" + hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" +
         hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

Result<std::string> WriteStixBundle(const std::vector<StixCampaignExport>& campaigns,
                                    const StixExportOptions& opt) {
  const Tlp* tlp = nullptr;
  for (const Tlp& t : kTlp)
    if (opt.tlp == t.level) tlp = &t;
  if (!tlp) return Status::InvalidArgument("unknown TLP level \"" + opt.tlp + "\" (white, green, amber, red)");
  const std::string now = StixTimestamp(opt.now_ms);
  const std::string until = StixTimestamp(opt.now_ms + opt.valid_for_ms);
  const std::string producer = StixId("identity", opt.producer);
  ordered_json objects = ordered_json::array();
  objects.push_back({{"type", "marking-definition"},
                     {"spec_version", "2.1"},
                     {"id", tlp->id},
                     {"created", "2017-01-20T00:00:00.000Z"},
                     {"definition_type", "tlp"},
                     {"name", tlp->name},
                     {"definition", {{"tlp", tlp->level}}}});
  auto common = [&](const char* type, const std::string& id) {
    return ordered_json{{"type", type},         {"spec_version", "2.1"},
                        {"id", id},             {"created_by_ref", producer},
                        {"created", now},       {"modified", now},
                        {"object_marking_refs", {tlp->id}}};
  };
  ordered_json identity = common("identity", producer);
  identity.erase("created_by_ref");
  identity["name"] = opt.producer;
  identity["identity_class"] = "organization";
  objects.push_back(identity);
  for (const StixCampaignExport& c : campaigns) {
    const std::string campaign_id = StixId("campaign", opt.producer + "\n" + c.key);
    ordered_json campaign = common("campaign", campaign_id);
    campaign["name"] = c.name;
    if (!c.description.empty()) campaign["description"] = c.description;
    campaign["objective"] = "collecting model outputs to train another model (distillation)";
    if (c.first_seen_ms) campaign["first_seen"] = StixTimestamp(c.first_seen_ms);
    if (c.last_seen_ms) campaign["last_seen"] = StixTimestamp(c.last_seen_ms);
    campaign["confidence"] = c.confidence;
    objects.push_back(campaign);
    auto add = [&](const std::string& pattern, const std::string& what) {
      const std::string id = StixId("indicator", campaign_id + "\n" + pattern);
      ordered_json ind = common("indicator", id);
      ind["name"] = what + " of " + c.name;
      ind["indicator_types"] = {"anomalous-activity"};
      ind["pattern"] = pattern;
      ind["pattern_type"] = "stix";
      ind["pattern_version"] = "2.1";
      ind["valid_from"] = now;
      ind["valid_until"] = until;
      ind["confidence"] = c.confidence;
      objects.push_back(ind);
      ordered_json rel = common("relationship", StixId("relationship", id + "\nindicates"));
      rel["relationship_type"] = "indicates";
      rel["source_ref"] = id;
      rel["target_ref"] = campaign_id;
      objects.push_back(rel);
    };
    for (const std::string& r : c.address_ranges) {
      const char* type = r.find(':') == std::string::npos ? "ipv4-addr" : "ipv6-addr";
      add("[" + std::string(type) + ":value ISSUBSET " + Quoted(r) + "]", "address range");
    }
    for (const std::string& h : c.payment_hmacs)
      add("[x-tosgate-account:payment_hmac = " + Quoted(h) + "]", "keyed payment fingerprint");
    for (const std::string& h : c.device_hmacs)
      add("[x-tosgate-account:device_hmac = " + Quoted(h) + "]", "keyed device fingerprint");
    for (const std::string& t : c.template_prints)
      add("[x-tosgate-request:template_simhash_keyed = " + Quoted(t) + "]",
          "keyed harvest-template fingerprint");
    for (const std::string& p : c.shape_profiles)
      add("[x-tosgate-request:shape_profile = " + Quoted(p) + "]", "request-shape profile");
  }
  ordered_json bundle = {{"type", "bundle"},
                         {"id", StixId("bundle", opt.producer + "\n" + now)},
                         {"objects", std::move(objects)}};
  return bundle.dump(2) + "\n";
}

}  // namespace tosgate::policies
