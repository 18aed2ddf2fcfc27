#include "policies/semantic_checks.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "engine/condition.h"
#include "engine/rules/rate_limit.h"
#include "policies/condition_compiler.h"
#include "policies/context.h"

namespace tosgate::policies {
namespace {

using engine::Condition;
using Op = Condition::Op;

// Where a rule is written, read again from its file.
struct RuleSource {
  std::string file;
  std::string path;  // "rules[2]"
  YAML::Node node;
  std::optional<Condition> when;  // attribute rules
};

// id -> where it is written. Ids are unique in a set that loaded.
std::map<std::string, RuleSource, std::less<>> IndexRules(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::map<std::string, RuleSource, std::less<>> out;
  for (const auto& [name, content] : files) {
    try {
      const YAML::Node root = YAML::Load(content);
      if (!root.IsMap() || !root["rules"] || !root["rules"].IsSequence()) continue;
      const YAML::Node rules = root["rules"];
      for (size_t i = 0; i < rules.size(); ++i) {
        const YAML::Node rule = rules[i];
        if (!rule.IsMap() || !rule["id"] || !rule["id"].IsScalar()) continue;
        RuleSource src{name, "rules[" + std::to_string(i) + "]", rule, std::nullopt};
        if (const YAML::Node when = rule["when"]) {
          std::vector<Diagnostic> ignored;  // the set loaded; these would be errors
          Context ctx(name, &ignored);
          Condition c;
          if (CompileCondition(ctx, Field{when, src.path + ".when", when.Mark()}, &c))
            src.when = std::move(c);
        }
        out.emplace(rule["id"].Scalar(), std::move(src));
      }
    } catch (const std::exception&) {
      // A file that loaded parses; one that changed on disk since is skipped.
    }
  }
  return out;
}

Diagnostic Warning(const engine::RuleCommon& rule, const RuleSource* src, std::string_view key,
                   std::string message) {
  Diagnostic d;
  d.severity = Severity::kWarning;
  d.message = "rule \"" + rule.id + "\" " + std::move(message);
  if (src) {
    d.file = src->file;
    YAML::Mark mark = src->node.Mark();
    if (!key.empty() && src->node[std::string(key)]) mark = src->node[std::string(key)].Mark();
    d.line = mark.line + 1;
    d.column = mark.column + 1;
    d.key = src->path + (key.empty() ? "" : "." + std::string(key));
  } else {
    // "file:line" from the compiled rule.
    const size_t colon = rule.source.rfind(':');
    d.file = rule.source.substr(0, colon);
    if (colon != std::string::npos) d.line = std::atoi(rule.source.c_str() + colon + 1);
    d.column = d.line > 0 ? 1 : 0;
  }
  return d;
}

// ---- conditions that can never hold --------------------------------------

std::string FieldKey(const engine::FieldRef& f) {
  return std::to_string(static_cast<int>(f.id)) + ":" + f.header;
}

std::string LiteralKey(const engine::Literal& l) {
  switch (l.kind) {
    case engine::ValueKind::kBool:
      return l.b ? "b:true" : "b:false";
    case engine::ValueKind::kNumber: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "n:%.17g", l.num);
      return buf;
    }
    default:
      return "s:" + l.str;
  }
}

std::string Shown(const engine::Literal& l) { return l.ToString(); }

// Why the comparisons of one `all` on one field cannot all hold, or "".
std::string Contradiction(const std::vector<const Condition*>& cs) {
  const engine::FieldRef& field = cs.front()->field;
  const std::string& name = field.name;
  const bool list_field = field.kind == engine::ValueKind::kStringList;
  const Condition* absent = nullptr;
  const Condition* other = nullptr;
  for (const Condition* c : cs) {
    if (c->op == Op::kExists && !c->operands.empty() && !c->operands[0].b) {
      absent = c;
    } else {
      other = c;
    }
  }
  if (absent && other)
    return name + " is required absent (exists: false) and compared at the same time";
  // A flags list holds many values at once: eq a and eq b can both hold.
  if (list_field) return "";

  // Values the field may take, when an eq or in restricts them.
  std::optional<std::map<std::string, engine::Literal>> allowed;
  std::string restricted_by;
  double lo = 0, hi = 0;
  bool has_lo = false, has_hi = false;
  for (const Condition* c : cs) {
    if (c->op == Op::kEq || c->op == Op::kIn) {
      std::map<std::string, engine::Literal> these;
      for (const engine::Literal& l : c->operands) these.emplace(LiteralKey(l), l);
      if (allowed) {
        std::map<std::string, engine::Literal> both;
        for (const auto& [k, l] : these)
          if (allowed->contains(k)) both.emplace(k, l);
        allowed = std::move(both);
      } else {
        allowed = std::move(these);
      }
      if (allowed->empty())
        return name + " cannot equal " + (c->op == Op::kEq ? "" : "one of ") + "the values of " +
               "two comparisons at once";
    } else if (c->op == Op::kGt && !c->operands.empty()) {
      lo = has_lo ? std::max(lo, c->operands[0].num) : c->operands[0].num;
      has_lo = true;
    } else if (c->op == Op::kLt && !c->operands.empty()) {
      hi = has_hi ? std::min(hi, c->operands[0].num) : c->operands[0].num;
      has_hi = true;
    }
  }
  char bounds[96];
  if (has_lo && has_hi && hi <= lo) {
    std::snprintf(bounds, sizeof bounds, " cannot be greater than %g and less than %g", lo, hi);
    return name + bounds;
  }
  if (allowed && (has_lo || has_hi)) {
    bool any_inside = false;
    for (const auto& [k, l] : *allowed)
      if (l.kind != engine::ValueKind::kNumber ||
          ((!has_lo || l.num > lo) && (!has_hi || l.num < hi)))
        any_inside = true;
    if (!any_inside) {
      std::string values;
      for (const auto& [k, l] : *allowed) values += (values.empty() ? "" : ", ") + Shown(l);
      return name + " must equal " + values + " and is bounded by gt/lt that exclude it";
    }
  }
  return "";
}

// Whether `c` can never hold; `why` says why. Conservative: false when unsure.
bool NeverHolds(const Condition& c, std::string* why) {
  switch (c.op) {
    case Op::kAll: {
      for (const Condition& child : c.children)
        if (NeverHolds(child, why)) return true;
      std::map<std::string, std::vector<const Condition*>> by_field;
      for (const Condition& child : c.children)
        if (child.op >= Op::kEq) by_field[FieldKey(child.field)].push_back(&child);
      for (const auto& [key, comparisons] : by_field) {
        if (std::string reason = Contradiction(comparisons); !reason.empty()) {
          *why = reason;
          return true;
        }
      }
      return false;
    }
    case Op::kAny: {
      std::string first;
      for (const Condition& child : c.children) {
        std::string reason;
        if (!NeverHolds(child, &reason)) return false;
        if (first.empty()) first = reason;
      }
      *why = first;
      return !c.children.empty();
    }
    default:
      return false;  // a comparison, or `not` (left alone)
  }
}

// ---- identical conditions ---------------------------------------------------

// A text form in which conditions that hold for the same requests because
// they only differ in the order of all/any/in members are equal.
std::string Canonical(const Condition& c) {
  std::vector<std::string> parts;
  switch (c.op) {
    case Op::kAll:
    case Op::kAny:
    case Op::kNot: {
      for (const Condition& child : c.children) parts.push_back(Canonical(child));
      if (c.op != Op::kNot) std::sort(parts.begin(), parts.end());
      std::string out = c.op == Op::kAll ? "all(" : c.op == Op::kAny ? "any(" : "not(";
      for (const std::string& p : parts) out += p + ";";
      return out + ")";
    }
    default: {
      for (const engine::Literal& l : c.operands) parts.push_back(LiteralKey(l));
      for (const engine::Cidr& cidr : c.cidrs) parts.push_back(cidr.text);
      std::sort(parts.begin(), parts.end());
      std::string out = FieldKey(c.field) + " op" + std::to_string(static_cast<int>(c.op)) + "[";
      for (const std::string& p : parts) out += p + ";";
      return out + "]";
    }
  }
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool SameMatch(const engine::RuleScope& a, const engine::RuleScope& b) {
  return Sorted(a.operations) == Sorted(b.operations) && Sorted(a.models) == Sorted(b.models) &&
         Sorted(a.tiers) == Sorted(b.tiers);
}

int Strength(Action a) { return a == Action::kDeny ? 3 : a == Action::kThrottle ? 2 : 1; }

// ---- rate limits -------------------------------------------------------------

// Whether `a` lets more requests through per unit of time than `b`; limits
// of different kinds (a window and a daily quota, say) are not compared.
bool Looser(const engine::LimitSpec& a, const engine::LimitSpec& b) {
  using engine::LimitKind;
  auto windowed = [](LimitKind k) { return k == LimitKind::kWindow || k == LimitKind::kGcra; };
  if (windowed(a.kind) && windowed(b.kind))
    return static_cast<long double>(a.amount) * static_cast<long double>(b.per_ns) >
           static_cast<long double>(b.amount) * static_cast<long double>(a.per_ns);
  return a.kind == b.kind && a.amount > b.amount;
}

constexpr const char* kTierOrder[] = {"free", "pro", "enterprise"};

void CheckRateLimit(const engine::RateLimitRule& rule, const RuleSource* src,
                    std::vector<Diagnostic>* out) {
  const engine::RuleCommon& common = rule.common();
  const std::vector<std::string>& tiers = common.match.tiers;
  if (!tiers.empty() && std::none_of(tiers.begin(), tiers.end(), [&](const std::string& t) {
        return rule.LimitFor(t) != nullptr;
      })) {
    std::string names;
    for (const std::string& t : tiers) names += (names.empty() ? "" : ", ") + t;
    out->push_back(Warning(common, src, "match",
                           "never limits a request: match.tiers names " + names +
                               ", and limit has no limit for any of them"));
  }
  for (size_t lower = 0; lower < std::size(kTierOrder); ++lower) {
    for (size_t higher = lower + 1; higher < std::size(kTierOrder); ++higher) {
      const engine::LimitSpec* l = rule.LimitFor(kTierOrder[lower]);
      const engine::LimitSpec* h = rule.LimitFor(kTierOrder[higher]);
      if (!l || !h || !Looser(*l, *h)) continue;
      out->push_back(Warning(common, src, "limit",
                             "gives " + std::string(kTierOrder[lower]) + " a looser limit (" +
                                 l->Describe() + ") than " + kTierOrder[higher] + " (" +
                                 h->Describe() + "), a tier above it"));
    }
  }
}

}  // namespace

std::vector<Diagnostic> SemanticChecks(
    const engine::PolicySnapshot& snapshot,
    const std::vector<std::pair<std::string, std::string>>& files) {
  const std::map<std::string, RuleSource, std::less<>> sources = IndexRules(files);
  auto source_of = [&](const engine::Rule& r) -> const RuleSource* {
    auto it = sources.find(r.common().id);
    return it == sources.end() ? nullptr : &it->second;
  };

  std::vector<Diagnostic> out;
  // Earlier enforced denies that can hold, by match and condition.
  struct Deny {
    const engine::RuleCommon* rule;
    std::string condition;
  };
  std::vector<Deny> denies;
  for (const std::unique_ptr<const engine::Rule>& rule : snapshot.rules) {
    const engine::RuleCommon& common = rule->common();
    const RuleSource* src = source_of(*rule);
    if (const auto* rate = dynamic_cast<const engine::RateLimitRule*>(rule.get())) {
      CheckRateLimit(*rate, src, &out);
      continue;
    }
    if (common.kind != "attribute" || !src || !src->when) continue;
    std::string why;
    if (NeverHolds(*src->when, &why)) {
      out.push_back(Warning(common, src, "when", "can never match: " + why));
      continue;
    }
    const std::string condition = Canonical(*src->when);
    for (const Deny& d : denies) {
      if (d.condition != condition || !SameMatch(d.rule->match, common.match)) continue;
      if (Strength(common.action) > Strength(d.rule->action)) continue;
      out.push_back(Warning(common, src, "",
                            "is shadowed by rule \"" + d.rule->id + "\" (" + d.rule->source +
                                "), an enforced deny with the same match and condition; it can "
                                "never change a decision"));
      break;
    }
    if (common.mode == RuleMode::kEnforce && common.action == Action::kDeny)
      denies.push_back({&common, condition});
  }
  return out;
}

std::vector<Diagnostic> SemanticChecks(const LoadResult& loaded) {
  if (!loaded.snapshot) return {};
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& name : loaded.files) {
    std::ifstream in(name, std::ios::binary);
    if (!in) continue;
    std::ostringstream content;
    content << in.rdbuf();
    files.emplace_back(name, content.str());
  }
  return SemanticChecks(*loaded.snapshot, files);
}

}  // namespace tosgate::policies
