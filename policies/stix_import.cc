// Reading partners' STIX 2.1 bundles into an IndicatorSet (policies/stix.h).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/civil_time.h"
#include "engine/condition.h"
#include "engine/indicators/request_print.h"
#include "policies/stix.h"

namespace tosgate::policies {
namespace {

using nlohmann::json;

int Digits(std::string_view s, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// One comparison of the supported subset: "[type:property op 'value']".
struct Comparison {
  std::string object, property, op, value;
};

bool ParsePattern(std::string_view p, Comparison* out, std::string* why) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  p = trim(p);
  if (p.size() < 2 || p.front() != '[' || p.back() != ']') {
    *why = "a pattern is one observation in brackets, [object:property = 'value']";
    return false;
  }
  std::string_view in = trim(p.substr(1, p.size() - 2));
  const size_t colon = in.find(':');
  if (colon == std::string_view::npos) {
    *why = "no object type before ':'";
    return false;
  }
  out->object = std::string(in.substr(0, colon));
  in.remove_prefix(colon + 1);
  const size_t sp = in.find_first_of(" \t=");
  if (sp == std::string_view::npos) {
    *why = "no comparison operator";
    return false;
  }
  out->property = std::string(in.substr(0, sp));
  in = trim(in.substr(sp));
  const size_t quote = in.find('\'');
  if (quote == std::string_view::npos) {
    *why = "the value is not a quoted string";
    return false;
  }
  out->op = std::string(trim(in.substr(0, quote)));
  in.remove_prefix(quote + 1);
  // A STIX string literal: \' and \\ escape; the literal must end the pattern.
  std::string value;
  size_t i = 0;
  for (; i < in.size() && in[i] != '\''; ++i) {
    if (in[i] == '\\' && i + 1 < in.size()) ++i;
    value += in[i];
  }
  if (i >= in.size() || !trim(in.substr(i + 1)).empty()) {
    *why = "only one comparison a pattern is supported (no AND, OR, qualifiers)";
    return false;
  }
  out->value = std::move(value);
  for (char c : out->object + out->property)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      *why = "an object path holds only letters, digits, '-', '_' and '.'";
      return false;
    }
  return true;
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

const std::string* Str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

class Importer {
 public:
  Importer(std::string_view source, double trust, int64_t now_ms, const StixLimits& limits,
           engine::IndicatorSet* set, StixImportReport* report)
      : source_(source), trust_(trust), now_ms_(now_ms), limits_(limits), set_(set), r_(report) {}

  void Ignore(const std::string& id, const std::string& why) {
    ++r_->ignored;
    if (r_->messages.size() < limits_.max_messages)
      r_->messages.push_back((id.empty() ? std::string("an object") : id) + ": " + why);
  }

  void Campaigns(const json& objects) {
    for (const json& o : objects) {
      const std::string* type = Str(o, "type");
      const std::string* id = Str(o, "id");
      if (!type || *type != "campaign" || !id) continue;
      if (o.value("revoked", false)) continue;
      const std::string* name = Str(o, "name");
      campaigns_[*id] = set_->AddCampaign({*id, name ? *name : *id, source_});
      ++r_->campaigns;
    }
    for (const json& o : objects) {
      const std::string* type = Str(o, "type");
      if (!type || *type != "relationship") continue;
      const std::string *rt = Str(o, "relationship_type"), *src = Str(o, "source_ref"),
                        *dst = Str(o, "target_ref");
      if (rt && src && dst && *rt == "indicates" && campaigns_.count(*dst))
        indicates_[*src] = campaigns_[*dst];
    }
  }

  void Indicator(const json& o) {
    const std::string* idp = Str(o, "id");
    const std::string id = idp ? *idp : "";
    if (id.rfind("indicator--", 0) != 0) return Ignore(id, "an indicator's id must start with indicator--");
    if (o.value("revoked", false)) return Ignore(id, "revoked");
    const std::string* spec = Str(o, "spec_version");
    if (!spec || *spec != "2.1") return Ignore(id, "spec_version is not \"2.1\"");
    const std::string *pattern = Str(o, "pattern"), *ptype = Str(o, "pattern_type");
    if (!pattern || !ptype) return Ignore(id, "no pattern or pattern_type");
    if (*ptype != "stix") return Ignore(id, "pattern_type \"" + *ptype + "\" is not supported (stix only)");
    engine::IndicatorEntry e;
    e.stix_id = id;
    e.source = source_;
    const std::string* from = Str(o, "valid_from");
    if (!from || !ParseStixTimestamp(*from, &e.valid_from_ms))
      return Ignore(id, "valid_from is missing or not a STIX timestamp");
    if (const std::string* until = Str(o, "valid_until")) {
      if (!ParseStixTimestamp(*until, &e.valid_until_ms))
        return Ignore(id, "valid_until is not a STIX timestamp");
      if (e.valid_until_ms <= e.valid_from_ms) return Ignore(id, "valid_until is not after valid_from");
      if (now_ms_ > 0 && e.valid_until_ms <= now_ms_) {
        ++r_->expired;
        return Ignore(id, "expired at " + *until);
      }
    }
    int confidence = 50;
    if (auto c = o.find("confidence"); c != o.end()) {
      if (!c->is_number_integer() || c->get<int64_t>() < 0 || c->get<int64_t>() > 100)
        return Ignore(id, "confidence must be an integer from 0 to 100");
      confidence = c->get<int>();
    }
    e.weight = std::clamp(trust_ * confidence / 100.0, 0.0, 1.0);
    if (auto it = indicates_.find(id); it != indicates_.end()) e.campaign = it->second;
    Comparison c;
    std::string why;
    if (!ParsePattern(*pattern, &c, &why)) return Ignore(id, "malformed pattern: " + why);
    const std::string path = c.object + ":" + c.property;
    if (path == "ipv4-addr:value" || path == "ipv6-addr:value") {
      if (c.op != "=" && c.op != "ISSUBSET")
        return Ignore(id, "operator " + c.op + " is not supported on addresses (= or ISSUBSET)");
      engine::Cidr cidr;
      const bool v4 = c.object == "ipv4-addr";
      if (!engine::ParseCidr(c.value, &cidr) || (c.value.find(':') == std::string::npos) != v4)
        return Ignore(id, "'" + c.value + "' is not an " + c.object + " address or range");
      // A range wider than /8 (v4) or /16 (v6) would mark a whole network
      // operator's customers: a poisoned bundle must not do that.
      if (cidr.prefix_bits < (v4 ? 96 + 8 : 16))
        return Ignore(id, "range " + c.value + " is wider than /8 (IPv4) or /16 (IPv6)");
      e.value = c.value;
      set_->AddRange(cidr.addr, cidr.prefix_bits, std::move(e));
    } else if (path == "x-tosgate-account:payment_hmac" || path == "x-tosgate-account:device_hmac") {
      if (c.op != "=") return Ignore(id, "operator " + c.op + " is not supported on keyed hashes (=)");
      if (!IsHex64(c.value)) return Ignore(id, "a keyed hash is 64 lower-case hex digits");
      e.what = c.property == "payment_hmac" ? engine::IndicatorObservable::kPayment
                                            : engine::IndicatorObservable::kDevice;
      e.value = c.value;
      set_->AddFingerprint(std::move(e));
    } else if (path == "x-tosgate-request:template_simhash_keyed") {
      uint64_t print = 0;
      if (c.op != "=") return Ignore(id, "operator " + c.op + " is not supported on template fingerprints (=, matched within the rule's template_distance bits)");
      if (!engine::ParseTemplateHex(c.value, &print))
        return Ignore(id, "a template fingerprint is 16 lower-case hex digits");
      e.value = c.value;
      if (!set_->AddTemplate(print, std::move(e)))
        return Ignore(id, "more than " + std::to_string(engine::IndicatorSet::kMaxTemplates) +
                              " template fingerprints in this source");
    } else if (path == "x-tosgate-request:shape_profile") {
      if (c.op != "=") return Ignore(id, "operator " + c.op + " is not supported on shape profiles (=)");
      if (!engine::ValidShapeProfile(c.value))
        return Ignore(id, "'" + c.value.substr(0, 120) + "' is not a shape profile (docs/indicators.md)");
      e.value = c.value;
      set_->AddShape(std::move(e));
    } else {
      return Ignore(id, "observable " + path + " is not one tosgate matches");
    }
    ++r_->indicators;
  }

 private:
  std::string source_;
  double trust_;
  int64_t now_ms_;
  const StixLimits& limits_;
  engine::IndicatorSet* set_;
  StixImportReport* r_;
  std::map<std::string, int> campaigns_;   // campaign id -> index in the set
  std::map<std::string, int> indicates_;   // indicator id -> campaign index
};

}  // namespace

bool ParseStixTimestamp(std::string_view s, int64_t* ms) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s.back() != 'Z')
    return false;
  const int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2), h = Digits(s, 11, 2),
            mi = Digits(s, 14, 2), sec = Digits(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      sec < 0 || sec > 60)
    return false;
  int frac_ms = 0;
  if (s.size() > 20) {
    if (s[19] != '.' || s.size() < 22) return false;
    for (size_t i = 20; i + 1 < s.size(); ++i)
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    const std::string_view frac = s.substr(20, std::min<size_t>(3, s.size() - 21));
    frac_ms = Digits(frac, 0, frac.size());
    for (size_t k = frac.size(); k < 3; ++k) frac_ms *= 10;
  } else if (s[19] != 'Z') {
    return false;
  }
  const int64_t days = engine::DaysFromCivil(y, mo, d);
  *ms = ((days * 24 + h) * 60 + mi) * 60'000 + int64_t{sec} * 1000 + frac_ms;
  return true;
}

Status ImportStixBundle(std::string_view text, std::string_view source, double trust,
                        int64_t now_ms, const StixLimits& limits, engine::IndicatorSet* set,
                        StixImportReport* report) {
  if (text.size() > limits.max_bytes)
    return Status::InvalidArgument("the bundle is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " + std::to_string(limits.max_bytes));
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("the bundle is not valid JSON");
  if (!doc.is_object() || !Str(doc, "type") || *Str(doc, "type") != "bundle")
    return Status::InvalidArgument("not a STIX bundle (\"type\": \"bundle\" expected)");
  auto objects = doc.find("objects");
  if (objects == doc.end() || !objects->is_array())
    return Status::InvalidArgument("the bundle has no \"objects\" list");
  if (objects->size() > limits.max_objects)
    return Status::InvalidArgument("the bundle holds " + std::to_string(objects->size()) +
                                   " objects, over the limit of " +
                                   std::to_string(limits.max_objects));
  Importer in(source, trust, now_ms, limits, set, report);
  in.Campaigns(*objects);
  for (const json& o : *objects) {
    ++report->objects;
    const std::string* type = o.is_object() ? Str(o, "type") : nullptr;
    if (!type) {
      in.Ignore("", "not an object with a \"type\"");
    } else if (*type == "indicator") {
      in.Indicator(o);
    } else if (*type != "campaign" && *type != "relationship" && *type != "identity" &&
               *type != "marking-definition") {
      const std::string* id = Str(o, "id");
      in.Ignore(id ? *id : "", "type \"" + *type + "\" is not one tosgate reads");
    }
  }
  if (report->ignored > report->messages.size())
    report->messages.push_back("... and " +
                               std::to_string(report->ignored - report->messages.size()) +
                               " more ignored");
  return Status::Ok();
}

}  // namespace tosgate::policies
