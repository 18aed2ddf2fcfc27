#include "storage/accounts/account_json.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "engine/accounts.h"
#include "engine/prices.h"

namespace tosgate::storage {
namespace {

using json = nlohmann::json;

// Why nlohmann refused a line, without its "last read" excerpt: that could
// be part of a key secret.
std::string ParseProblem(const json::parse_error& e) {
  std::string m = e.what();
  if (auto p = m.find("] "); p != std::string::npos) m.erase(0, p + 2);
  if (auto p = m.find("; last read"); p != std::string::npos) m.erase(p);
  // Each line is parsed alone, so "line 1" would only confuse.
  if (auto p = m.find("parse error at line 1, "); p != std::string::npos) m.erase(p, 23);
  return m;
}

// Reads optional member `name` into `out` when it is a string (or null).
// Returns an empty string when fine, else the problem.
std::string TakeString(const json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) return std::string("\"") + name + "\" must be a string";
  *out = it->get<std::string>();
  return {};
}

std::string TakeStrings(const json& j, const char* name, std::vector<std::string>* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_array()) return std::string("\"") + name + "\" must be an array of strings";
  for (const json& e : *it) {
    if (!e.is_string()) return std::string("\"") + name + "\" must be an array of strings";
    out->push_back(e.get<std::string>());
  }
  return {};
}

// "limit_overrides": {"rate.rpm": {"requests": 1000, "per": "1m", "burst": 10}, ...};
// the amount may be written as requests, tokens or concurrent.
std::string TakeOverrides(const json& j, std::vector<LimitOverride>* out) {
  if (!j.is_object()) return "\"limit_overrides\" must map rule ids to limits";
  for (const auto& [rule, limit] : j.items()) {
    const std::string where = "\"limit_overrides\".\"" + rule + "\"";
    if (rule.empty()) return "\"limit_overrides\" has an empty rule id";
    if (!limit.is_object()) return where + " must be an object like {\"requests\": 100, \"per\": \"1m\"}";
    LimitOverride o;
    o.rule_id = rule;
    for (const auto& [name, value] : limit.items()) {
      if (name == "requests" || name == "tokens" || name == "concurrent") {
        if (!value.is_number_integer() || value.get<int64_t>() <= 0)
          return where + "." + name + " must be a whole number > 0";
        if (o.amount > 0) return where + " gives more than one of requests, tokens, concurrent";
        o.amount = value.get<int64_t>();
        o.unit = name;
      } else if (name == "usd") {
        // cost_budget: dollars, held as nano-dollars (engine/prices.h).
        int64_t nano = 0;
        if (!value.is_number() || !engine::ParseUsd(value.dump(), &nano) || nano <= 0)
          return where + ".usd must be an amount > 0 with at most 9 decimals";
        if (o.amount > 0) return where + " gives more than one of requests, tokens, concurrent, usd";
        o.amount = nano;
        o.unit = name;
      } else if (name == "burst") {
        if (!value.is_number_integer() || value.get<int64_t>() < 0)
          return where + ".burst must be a whole number >= 0";
        o.burst = value.get<int64_t>();
      } else if (name == "per") {
        if (!value.is_string() ||
            (o.per_ns = ParseDurationNs(value.get<std::string>())) < 1'000'000'000)
          return where + ".per must be a duration of at least 1s such as \"1m\"";
      } else {
        return where + ": unknown member \"" + name + "\"";
      }
    }
    if (o.amount <= 0) return where + " needs requests, tokens or concurrent (or usd)";
    out->push_back(std::move(o));
  }
  return {};
}

// Builds an account from one parsed line, or says what is wrong with it.
std::string ToAccount(const json& j, Account* a) {
  static constexpr std::string_view kKnown[] = {
      "id",   "org",     "tier",      "country",        "flags", "created", "payment_fingerprint",
      "device_fingerprint", "keys", "key_ids", "suspended", "limit_overrides"};
  if (!j.is_object()) return "expected a JSON object";
  for (const auto& [name, value] : j.items()) {
    bool known = false;
    for (std::string_view k : kKnown) known = known || name == k;
    if (!known) return "unknown member \"" + name + "\"";
  }
  std::string why;
  if (!(why = TakeString(j, "id", &a->id)).empty()) return why;
  if (a->id.empty()) return "\"id\" is required and must not be empty";
  if (!(why = TakeString(j, "org", &a->org)).empty()) return why;
  if (!(why = TakeString(j, "tier", &a->tier)).empty()) return why;
  if (!(why = TakeString(j, "country", &a->country)).empty()) return why;
  if (!(why = TakeString(j, "payment_fingerprint", &a->payment_fingerprint)).empty()) return why;
  if (!(why = TakeString(j, "device_fingerprint", &a->device_fingerprint)).empty()) return why;
  if (!(why = TakeStrings(j, "flags", &a->flags)).empty()) return why;

  if (auto it = j.find("created"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0)
      return "\"created\" must be milliseconds since the Unix epoch (a non-negative integer)";
    a->created_ms = it->get<int64_t>();
  }
  if (auto it = j.find("suspended"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return "\"suspended\" must be true or false";
    a->suspended = it->get<bool>();
  }

  if (auto it = j.find("limit_overrides"); it != j.end() && !it->is_null()) {
    if (!(why = TakeOverrides(*it, &a->limit_overrides)).empty()) return why;
  }

  std::vector<std::string> secrets, ids;
  if (!(why = TakeStrings(j, "keys", &secrets)).empty()) return why;
  if (!(why = TakeStrings(j, "key_ids", &ids)).empty()) return why;
  for (size_t i = 0; i < secrets.size(); ++i) {
    // Never echo the secret; say which one by position.
    if (secrets[i].empty()) return "\"keys\"[" + std::to_string(i) + "] is empty";
    a->key_ids.push_back(engine::KeyId(secrets[i]));
  }
  for (const std::string& id : ids) {
    if (!IsKeyId(id)) return "\"key_ids\" entries must be 64 lower-case hex digits (SHA-256)";
    a->key_ids.push_back(id);
  }
  return {};
}

// Output keeps members in the order written, for people reading it.
using ordered = nlohmann::ordered_json;

ordered OverridesObject(const std::vector<LimitOverride>& overrides) {
  ordered out = ordered::object();
  for (const LimitOverride& o : overrides) {
    ordered limit = ordered::object();
    if (o.unit == "usd")
      limit["usd"] = static_cast<double>(o.amount) / engine::kNanoUsdPerUsd;
    else
      limit[o.unit.empty() ? "requests" : o.unit] = o.amount;
    if (o.per_ns > 0) limit["per"] = FormatDurationNs(o.per_ns);
    if (o.burst > 0) limit["burst"] = o.burst;
    out[o.rule_id] = std::move(limit);
  }
  return out;
}

}  // namespace

bool IsKeyId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

int64_t ParseDurationNs(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return 0;
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  constexpr int64_t kS = 1'000'000'000;
  int64_t size = 0;
  if (unit == "ms") size = 1'000'000;
  else if (unit == "s") size = kS;
  else if (unit == "m") size = 60 * kS;
  else if (unit == "h") size = 3600 * kS;
  else if (unit == "d") size = 86400 * kS;
  // 0 for an unknown unit, and for more than int64 nanoseconds (~292 years).
  return size == 0 || n > INT64_MAX / size ? 0 : n * size;
}

std::string FormatDurationNs(int64_t ns) {
  constexpr int64_t kMs = 1'000'000, kS = 1000 * kMs;
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86400 * kS, "d"}, {3600 * kS, "h"}, {60 * kS, "m"}, {kS, "s"}, {kMs, "ms"}};
  for (const auto& [size, name] : kUnits)
    if (ns > 0 && ns % size == 0) return std::to_string(ns / size) + name;
  return std::to_string(ns / kMs) + "ms";  // below a millisecond: not written by us
}

std::string ParseAccountJson(std::string_view line, Account* out) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    return "invalid JSON: " + ParseProblem(e);
  }
  return ToAccount(j, out);
}

std::string ParseLimitOverrides(std::string_view json_text, std::vector<LimitOverride>* out) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return "\"limit_overrides\" is not valid JSON: " + ParseProblem(e);
  }
  return TakeOverrides(j, out);
}

std::string LimitOverridesJson(const std::vector<LimitOverride>& overrides) {
  return OverridesObject(overrides).dump();
}

std::string AccountJsonLine(const Account& a) {
  ordered j = ordered::object();
  j["id"] = a.id;
  j["org"] = a.org;
  j["tier"] = a.tier;
  j["country"] = a.country;
  j["flags"] = a.flags;
  j["suspended"] = a.suspended;
  j["created"] = a.created_ms;
  j["payment_fingerprint"] = a.payment_fingerprint;
  if (!a.device_fingerprint.empty()) j["device_fingerprint"] = a.device_fingerprint;
  j["key_ids"] = a.key_ids;
  if (!a.limit_overrides.empty()) j["limit_overrides"] = OverridesObject(a.limit_overrides);
  return j.dump();
}

}  // namespace tosgate::storage
