#include "policies/test_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <string_view>

#include "engine/accounts.h"
#include "engine/civil_time.h"
#include "engine/json_util.h"
#include "engine/prices.h"
#include "policies/duration.h"

namespace tosgate::policies {
namespace {

class Parser {
 public:
  Parser(const std::string& file, std::vector<Diagnostic>* errors) : file_(file), errors_(errors) {}

  void Error(const YAML::Node& n, const std::string& key, const std::string& message) {
    Diagnostic d;
    d.file = file_;
    if (n.IsDefined() && n.Mark().line >= 0) {
      d.line = n.Mark().line + 1;
      d.column = n.Mark().column + 1;
    }
    d.key = key;
    d.message = message;
    errors_->push_back(std::move(d));
  }

  TestLocation Where(const YAML::Node& n, const std::string& key) {
    return {n.Mark().line + 1, n.Mark().column + 1, key};
  }

  // Reports keys of map `n` not in `allowed`; false when `n` is not a map.
  bool CheckMap(const YAML::Node& n, const std::string& key, std::initializer_list<const char*> allowed) {
    if (!n.IsMap()) {
      Error(n, key, "must be a mapping");
      return false;
    }
    for (const auto& kv : n) {
      const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        Error(kv.first, Join(key, k), "unknown key (expected one of: " + list + ")");
      }
    }
    return true;
  }

  static std::string Join(const std::string& parent, const std::string& k) {
    return parent.empty() ? k : parent + "." + k;
  }

  bool String(const YAML::Node& n, const std::string& key, std::string* out) {
    if (!n.IsScalar() || (n.Tag() == "?" && IsNullText(n.Scalar()))) {
      Error(n, key, "must be a string");
      return false;
    }
    *out = n.Scalar();
    return true;
  }

  bool Bool(const YAML::Node& n, const std::string& key, bool* out) {
    const std::string s = n.IsScalar() && n.Tag() == "?" ? n.Scalar() : "";
    if (s == "true" || s == "True" || s == "TRUE") *out = true;
    else if (s == "false" || s == "False" || s == "FALSE") *out = false;
    else {
      Error(n, key, "must be true or false");
      return false;
    }
    return true;
  }

  bool Int(const YAML::Node& n, const std::string& key, int64_t lo, int64_t hi, int64_t* out) {
    const std::string s = n.IsScalar() && n.Tag() == "?" ? n.Scalar() : "";
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
      Error(n, key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return false;
    }
    *out = v;
    return true;
  }

  bool StringList(const YAML::Node& n, const std::string& key, std::vector<std::string>* out,
                  std::vector<TestLocation>* where = nullptr) {
    if (!n.IsSequence()) {
      Error(n, key, "must be a list of strings");
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string k = key + "[" + std::to_string(i) + "]";
      std::string s;
      if (!String(n[i], k, &s)) {
        ok = false;
        continue;
      }
      out->push_back(s);
      if (where) where->push_back(Where(n[i], k));
    }
    return ok;
  }

  // Scalar shapes, checked by hand in one linear pass.
  static size_t Digits(std::string_view s, size_t i) {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i;
  }
  static bool IsDigits(std::string_view s) { return !s.empty() && Digits(s, 0) == s.size(); }
  static bool IsInteger(std::string_view s) {
    size_t i = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    return IsDigits(s.substr(i));
  }
  // [-+]? (.digits | digits(.digits*)?) ([eE][-+]?digits)?
  static bool IsDecimal(std::string_view s) {
    size_t i = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    const size_t int_end = Digits(s, i);
    bool mantissa = int_end > i;
    i = int_end;
    if (i < s.size() && s[i] == '.') {
      const size_t frac_end = Digits(s, i + 1);
      mantissa = mantissa || frac_end > i + 1;
      i = frac_end;
    }
    if (!mantissa) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      const size_t exp_end = Digits(s, i);
      if (exp_end == i) return false;
      i = exp_end;
    }
    return i == s.size();
  }
  // "0", "00s", "0ms": a zero offset, which ParseDuration rightly refuses as a duration.
  static bool IsZeroOffset(std::string_view s) {
    const size_t end = Digits(s, 0);
    if (end == 0 || s.find_first_not_of('0') < end) return false;
    const std::string_view unit = s.substr(end);
    return unit.empty() || unit == "ms" || unit == "s" || unit == "m" || unit == "h" || unit == "d";
  }
  // Reads `width` digits at s[pos] into *out.
  static bool FixedDigits(std::string_view s, size_t pos, size_t width, int64_t* out) {
    if (pos + width > s.size() || Digits(s, pos) < pos + width) return false;
    *out = 0;
    for (size_t i = pos; i < pos + width; ++i) *out = *out * 10 + (s[i] - '0');
    return true;
  }

  static bool IsNullText(const std::string& s) {
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
  }

  // YAML (core schema) to JSON text. Quoted scalars are strings; plain ones
  // are null, booleans or numbers when they read as such, strings otherwise.
  bool Json(const YAML::Node& n, const std::string& key, std::string* out) {
    if (n.IsNull()) {
      *out += "null";
      return true;
    }
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (n.Tag() == "?") {
        if (IsNullText(s)) return *out += "null", true;
        if (s == "true" || s == "True" || s == "TRUE") return *out += "true", true;
        if (s == "false" || s == "False" || s == "FALSE") return *out += "false", true;
        if (IsInteger(s)) {
          size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
          const bool neg = s[0] == '-';
          while (i + 1 < s.size() && s[i] == '0') ++i;
          const std::string digits = s.substr(i);
          *out += (neg && digits != "0" ? "-" : "") + digits;
          return true;
        }
        if (IsDecimal(s)) {
          const double v = std::strtod(s.c_str(), nullptr);
          char buf[64];
          auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
          std::string text(buf, ec == std::errc() ? p : buf);
          // JSON has no inf; a number too large for a double is refused.
          if (text.empty() || text.find_first_of("in") != std::string::npos) {
            Error(n, key, "number out of range");
            return false;
          }
          *out += text;
          return true;
        }
      }
      Quote(s, out);
      return true;
    }
    if (n.IsSequence()) {
      *out += '[';
      bool ok = true;
      for (size_t i = 0; i < n.size(); ++i) {
        if (i) *out += ',';
        ok = Json(n[i], key + "[" + std::to_string(i) + "]", out) && ok;
      }
      *out += ']';
      return ok;
    }
    if (n.IsMap()) {
      *out += '{';
      bool ok = true, first = true;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) {
          Error(kv.first, key, "keys of a body must be strings");
          ok = false;
          continue;
        }
        if (!first) *out += ',';
        first = false;
        Quote(kv.first.Scalar(), out);
        *out += ':';
        ok = Json(kv.second, Join(key, kv.first.Scalar()), out) && ok;
      }
      *out += '}';
      return ok;
    }
    Error(n, key, "cannot be converted to JSON");
    return false;
  }

  static void Quote(const std::string& s, std::string* out) { engine::AppendJsonString(out, s); }

  // "created": milliseconds since the Unix epoch, or a UTC date
  // "YYYY-MM-DD" / time "YYYY-MM-DDTHH:MM:SSZ".
  bool Created(const YAML::Node& n, const std::string& key, int64_t* ms) {
    if (n.IsScalar() && n.Tag() == "?" && IsDigits(n.Scalar())) return Int(n, key, 0, INT64_MAX, ms);
    // YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    int64_t y = 0, mo = 0, d = 0, hh = 0, mi = 0, ss = 0;
    bool ok = (s.size() == 10 || s.size() == 20) && FixedDigits(s, 0, 4, &y) && s[4] == '-' &&
              FixedDigits(s, 5, 2, &mo) && s[7] == '-' && FixedDigits(s, 8, 2, &d);
    if (ok && s.size() == 20)
      ok = s[10] == 'T' && FixedDigits(s, 11, 2, &hh) && s[13] == ':' && FixedDigits(s, 14, 2, &mi) &&
           s[16] == ':' && FixedDigits(s, 17, 2, &ss) && s[19] == 'Z';
    if (!ok) {
      Error(n, key, "must be milliseconds since the Unix epoch or a UTC time like 2025-06-01T12:00:00Z");
      return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 59) {
      Error(n, key, "is not a valid UTC time");
      return false;
    }
    const int64_t days = engine::DaysFromCivil(y, static_cast<int>(mo), static_cast<int>(d));
    *ms = ((days * 24 + hh) * 60 + mi) * 60'000 + ss * 1000;
    return true;
  }

  void ParseAccount(const YAML::Node& n, const std::string& key, std::set<std::string>* ids,
                    std::set<std::string>* keys, TestFile* tf) {
    if (!CheckMap(n, key, {"id", "org", "tier", "country", "flags", "suspended", "created", "keys",
                           "limit_overrides"}))
      return;
    Account a;
    if (!n["id"]) Error(n, key, "missing required key 'id'");
    else if (String(n["id"], Join(key, "id"), &a.id) && !ids->insert(a.id).second)
      Error(n["id"], Join(key, "id"), "duplicate account id '" + a.id + "'");
    if (n["org"]) String(n["org"], Join(key, "org"), &a.org);
    if (n["tier"]) String(n["tier"], Join(key, "tier"), &a.tier);
    if (n["country"]) String(n["country"], Join(key, "country"), &a.country);
    if (n["flags"]) StringList(n["flags"], Join(key, "flags"), &a.flags);
    if (n["suspended"]) Bool(n["suspended"], Join(key, "suspended"), &a.suspended);
    if (n["created"]) Created(n["created"], Join(key, "created"), &a.created_ms);
    if (const YAML::Node o = n["limit_overrides"]) Overrides(o, Join(key, "limit_overrides"), &a);
    if (n["keys"]) {
      std::vector<std::string> secrets;
      std::vector<TestLocation> where;
      StringList(n["keys"], Join(key, "keys"), &secrets, &where);
      for (size_t i = 0; i < secrets.size(); ++i) {
        if (!keys->insert(secrets[i]).second) {
          Error(n["keys"][i], where[i].key, "key used by two accounts");
          continue;
        }
        a.key_ids.push_back(engine::KeyId(secrets[i]));
      }
    }
    tf->accounts.push_back(std::move(a));
  }

  // limit_overrides: {rule-id: {requests|tokens|concurrent: N, per: DURATION, burst: N}}
  void Overrides(const YAML::Node& n, const std::string& key, Account* a) {
    if (!n.IsMap()) return Error(n, key, "must map rule ids to limits");
    for (const auto& kv : n) {
      LimitOverride o;
      const std::string k = Join(key, kv.first.IsScalar() ? kv.first.Scalar() : "");
      if (!String(kv.first, k, &o.rule_id) ||
          !CheckMap(kv.second, k, {"requests", "tokens", "concurrent", "usd", "per", "burst"}))
        continue;
      for (const char* amount : {"requests", "tokens", "concurrent"})
        if (const YAML::Node v = kv.second[amount]) Int(v, Join(k, amount), 1, INT64_MAX, &o.amount);
      if (const YAML::Node v = kv.second["usd"]) {  // cost_budget: dollars, as nano-dollars
        if (!v.IsScalar() || !engine::ParseUsd(v.Scalar(), &o.amount) || o.amount <= 0)
          Error(v, Join(k, "usd"), "must be an amount > 0 such as 250 or 2.50");
        o.unit = "usd";
      }
      if (o.amount <= 0) Error(kv.second, k, "needs requests, tokens, concurrent or usd");
      if (const YAML::Node v = kv.second["burst"]) Int(v, Join(k, "burst"), 0, INT64_MAX, &o.burst);
      if (const YAML::Node v = kv.second["per"]) Duration(v, Join(k, "per"), &o.per_ns);
      a->limit_overrides.push_back(std::move(o));
    }
  }

  bool Duration(const YAML::Node& n, const std::string& key, int64_t* ns) {
    std::string text;
    if (!String(n, key, &text)) return false;
    Result<int64_t> d = ParseDuration(text);
    if (!d.ok()) {
      Error(n, key, d.status().message());
      return false;
    }
    *ns = *d;
    return true;
  }

  // headers: a mapping of header names to string values, in file order.
  void Headers(const YAML::Node& h, const std::string& key,
               std::vector<std::pair<std::string, std::string>>* out) {
    if (!h.IsMap()) return Error(h, key, "must be a mapping of header names to values");
    for (const auto& kv : h) {
      std::string name, value;
      const std::string k = key + "." + (kv.first.IsScalar() ? kv.first.Scalar() : "");
      if (String(kv.first, k, &name) && String(kv.second, k, &value)) out->emplace_back(name, value);
    }
  }

  void ParseRequest(const YAML::Node& n, const std::string& key, TestRequest* r) {
    if (!CheckMap(n, key, {"method", "path", "key", "client_ip", "headers", "body"})) return;
    if (n["method"]) String(n["method"], Join(key, "method"), &r->method);
    if (!n["path"]) Error(n, key, "missing required key 'path'");
    else String(n["path"], Join(key, "path"), &r->path);
    if (n["key"]) String(n["key"], Join(key, "key"), &r->key);
    if (n["client_ip"]) String(n["client_ip"], Join(key, "client_ip"), &r->client_ip);
    if (const YAML::Node h = n["headers"]) Headers(h, Join(key, "headers"), &r->headers);
    if (const YAML::Node b = n["body"]) {
      if (!b.IsMap() && !b.IsSequence()) Error(b, Join(key, "body"), "must be a mapping (the JSON body)");
      else Json(b, Join(key, "body"), &r->body);
    }
  }

  void ParseExpect(const YAML::Node& n, const std::string& key, TestExpect* e) {
    if (!CheckMap(n, key, {"effect", "rules", "status", "reason", "headers", "delay"})) return;
    if (const YAML::Node f = n["delay"]) {
      int64_t ns = 0;
      if (IsZeroOffset(f.IsScalar() ? f.Scalar() : "")) e->delay_ns = 0;
      else if (Duration(f, Join(key, "delay"), &ns)) e->delay_ns = ns;
    }
    if (const YAML::Node f = n["effect"]) {
      std::string s;
      if (String(f, Join(key, "effect"), &s)) {
        if (s == "allow" || s == "deny" || s == "throttle") e->effect = s;
        else Error(f, Join(key, "effect"), "must be allow, deny or throttle");
      }
    }
    if (const YAML::Node f = n["rules"]) {
      std::vector<std::string> rules;
      StringList(f, Join(key, "rules"), &rules, &e->rule_locations);
      e->rules = rules;
    }
    if (const YAML::Node f = n["status"]) {
      int64_t v = 0;
      if (Int(f, Join(key, "status"), 100, 599, &v)) e->status = static_cast<int>(v);
    }
    if (const YAML::Node f = n["reason"]) {
      std::string s;
      if (String(f, Join(key, "reason"), &s)) e->reason = s;
    }
    if (const YAML::Node h = n["headers"]) Headers(h, Join(key, "headers"), &e->headers);
  }

  void ParseStep(const YAML::Node& n, const std::string& key, bool in_sequence, TestStep* s) {
    s->where = Where(n, key);
    if (in_sequence) {
      if (const YAML::Node r = n["repeat"]) {
        int64_t v = 1;
        if (Int(r, Join(key, "repeat"), 1, 100000, &v)) s->repeat = static_cast<int>(v);
      }
    }
    if (!n["request"]) Error(n, key, "missing required key 'request'");
    else ParseRequest(n["request"], Join(key, "request"), &s->request);
    if (!n["expect"]) Error(n, key, "missing required key 'expect'");
    else ParseExpect(n["expect"], Join(key, "expect"), &s->expect);
    if (const YAML::Node u = n["usage"]) {
      const std::string k = Join(key, "usage");
      TestUsage usage;
      if (u.IsMap() && u.size() == 0) {
        s->usage = usage;  // completion without token counts
      } else if (CheckMap(u, k, {"input_tokens", "output_tokens", "cached_input_tokens",
                                  "cache_write_tokens", "reasoning_tokens"})) {
        const std::pair<const char*, int64_t*> counts[] = {
            {"input_tokens", &usage.input_tokens},
            {"output_tokens", &usage.output_tokens},
            {"cached_input_tokens", &usage.cached_input_tokens},
            {"cache_write_tokens", &usage.cache_write_tokens},
            {"reasoning_tokens", &usage.reasoning_tokens}};
        for (const auto& [name, dest] : counts)
          if (u[name]) Int(u[name], Join(k, name), 0, INT64_MAX, dest);
        s->usage = usage;
      }
    }
  }

  void ParseTest(const YAML::Node& n, const std::string& key, std::set<std::string>* names, TestFile* tf) {
    if (!CheckMap(n, key, {"name", "request", "expect", "usage", "sequence"})) return;
    PolicyTest t;
    t.where = Where(n, key);
    if (!n["name"]) Error(n, key, "missing required key 'name'");
    else if (String(n["name"], Join(key, "name"), &t.name) && !names->insert(t.name).second)
      Error(n["name"], Join(key, "name"), "duplicate test name '" + t.name + "'");
    if (const YAML::Node seq = n["sequence"]) {
      if (n["request"] || n["expect"]) Error(n, key, "give either 'sequence' or 'request' and 'expect', not both");
      const std::string sk = Join(key, "sequence");
      if (!seq.IsSequence() || seq.size() == 0) {
        Error(seq, sk, "must be a non-empty list of steps");
      } else {
        int64_t at = 0;
        for (size_t i = 0; i < seq.size(); ++i) {
          const std::string k = sk + "[" + std::to_string(i) + "]";
          if (!CheckMap(seq[i], k, {"repeat", "at", "request", "expect", "usage"})) continue;
          TestStep s;
          if (const YAML::Node a = seq[i]["at"]) {
            std::string text;
            if (String(a, Join(k, "at"), &text)) {
              if (IsZeroOffset(text)) {
                s.at_ns = 0;
              } else if (Result<int64_t> d = ParseDuration(text); d.ok()) {
                s.at_ns = *d;
              } else {
                Error(a, Join(k, "at"), d.status().message());
                s.at_ns = at;
              }
              if (s.at_ns < at) {
                Error(a, Join(k, "at"), "is before the previous step's time; 'at' is an offset from the test's start");
                s.at_ns = at;
              }
            }
          } else {
            s.at_ns = at;
          }
          at = s.at_ns;
          ParseStep(seq[i], k, true, &s);
          t.steps.push_back(std::move(s));
        }
      }
    } else if (n["request"] || n["expect"]) {
      TestStep s;
      ParseStep(n, key, false, &s);
      t.steps.push_back(std::move(s));
    } else {
      Error(n, key, "needs 'request' and 'expect', or a 'sequence'");
    }
    tf->tests.push_back(std::move(t));
  }

  void ParseFile(const YAML::Node& root, TestFile* tf) {
    if (!root.IsMap()) {
      Error(root, "", "a test file must be a mapping with 'accounts' and 'tests'");
      return;
    }
    CheckMap(root, "", {"accounts", "tests"});
    if (const YAML::Node acc = root["accounts"]) {
      if (!acc.IsSequence()) {
        Error(acc, "accounts", "must be a list of accounts");
      } else {
        std::set<std::string> ids, keys;
        for (size_t i = 0; i < acc.size(); ++i)
          ParseAccount(acc[i], "accounts[" + std::to_string(i) + "]", &ids, &keys, tf);
      }
    }
    const YAML::Node tests = root["tests"];
    if (!tests) {
      Error(root, "", "missing required key 'tests'");
    } else if (!tests.IsSequence()) {
      Error(tests, "tests", "must be a list of tests");
    } else {
      std::set<std::string> names;
      for (size_t i = 0; i < tests.size(); ++i)
        ParseTest(tests[i], "tests[" + std::to_string(i) + "]", &names, tf);
    }
  }

 private:
  const std::string& file_;
  std::vector<Diagnostic>* errors_;
};

}  // namespace

TestFile ParseTestFile(const std::string& file, const std::string& content, std::vector<Diagnostic>* errors) {
  TestFile tf;
  tf.file = file;
  Parser p(file, errors);
  try {
    p.ParseFile(YAML::Load(content), &tf);
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.file = file;
    if (e.mark.line >= 0) {
      d.line = e.mark.line + 1;
      d.column = e.mark.column + 1;
    }
    d.message = e.msg;
    errors->push_back(std::move(d));
  }
  return tf;
}

}  // namespace tosgate::policies
