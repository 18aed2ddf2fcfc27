#include "policies/overrides.h"

#include <vector>

namespace tosgate::policies {
namespace {

// Keys of `over` merged into `base` (a clone, so the defining file's tree is
// left as it was): maps merge key by key, anything else replaces. Values
// keep the override's positions.
void Merge(YAML::Node base, const YAML::Node& over) {
  for (const auto& kv : over) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& lookup = base;  // const: looking does not add the key
    YAML::Node mine = lookup[key];
    if (!mine.IsDefined()) {
      base.force_insert(kv.first, kv.second);  // the key keeps its position too
    } else if (mine.IsMap() && kv.second.IsMap()) {
      Merge(mine, kv.second);
    } else {
      base[key] = kv.second;
    }
  }
}

// The dotted paths, under `path`, of the values an override puts into a rule.
void Leaves(const YAML::Node& base, const YAML::Node& over, const std::string& path,
            std::vector<std::string>* out) {
  for (const auto& kv : over) {
    const std::string key = kv.first.Scalar();
    const YAML::Node mine = base.IsMap() ? base[key] : YAML::Node(YAML::NodeType::Undefined);
    if (mine.IsDefined() && mine.IsMap() && kv.second.IsMap())
      Leaves(mine, kv.second, JoinPath(path, key), out);
    else
      out->push_back(JoinPath(path, key));
  }
}

// The override's keys that change the rule (not `rule`, not `mode: off`).
YAML::Node Changes(const RuleOverride& o) {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : o.entry.node) {
    const std::string key = kv.first.Scalar();
    if (key == "rule" || (key == "mode" && o.off)) continue;
    out.force_insert(kv.first, kv.second);
  }
  return out;
}

}  // namespace

void CollectOverrides(Context& ctx, const YAML::Node& root, RuleOverrides* out) {
  if (!root.IsMap()) return;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar() || kv.first.Scalar() != "overrides") continue;
    const YAML::Node value = kv.second;
    std::vector<Field> items;
    if (!ctx.Sequence(Field{value, "overrides", value.IsNull() ? kv.first.Mark() : value.Mark()}, &items))
      return;
    for (const Field& item : items) {
      MapReader entry(ctx, item);
      if (!entry.ok()) continue;
      RuleOverride o;
      o.file = ctx.file();
      o.entry = item;
      std::string id;
      std::optional<Field> rule = entry.Require("rule");
      bool ok = rule && ctx.String(*rule, &id);
      if (std::optional<Field> mode = entry.Take("mode")) {
        size_t i = 0;
        if (ctx.Enum(*mode, {"enforce", "shadow", "off"}, &i)) o.off = i == 2;
        else ok = false;
      }
      size_t changes = 0;
      for (const MapReader::Entry& e : entry.TakeAll()) {
        if (e.key == "rule" || e.key == "mode") continue;
        if (e.key == "id" || e.key == "kind") {
          ctx.Error(e.key_mark, e.value.path, "an override cannot change a rule's " + e.key);
          ok = false;
        }
        ++changes;
      }
      if (entry.size() == 1 && rule) {
        ctx.Error(item, "an override needs mode: or a key of the rule to change besides rule:");
        ok = false;
      }
      (void)changes;
      if (!ok) continue;
      o.rule = *rule;
      auto [first, inserted] = out->emplace(id, o);
      if (!inserted)
        ctx.Error(*rule, "rule \"" + id + "\" is already overridden at " + first->second.file + ":" +
                             std::to_string(first->second.rule.mark.line + 1) + ":" +
                             std::to_string(first->second.rule.mark.column + 1) +
                             "; one override per rule");
    }
    return;  // a second `overrides:` key is reported as a duplicate by the document pass
  }
}

Field ApplyOverride(const Field& rule, const RuleOverride& o) {
  YAML::Node merged = YAML::Clone(rule.node);
  Merge(merged, Changes(o));
  return Field{merged, rule.path, rule.mark};
}

void FinishOverride(Context& ctx, size_t errors_from, const Field& rule, const RuleOverride& o) {
  std::vector<std::string> leaves;
  Leaves(rule.node, Changes(o), rule.path, &leaves);
  std::vector<Diagnostic>& errors = *ctx.errors();
  for (size_t i = errors_from; i < errors.size(); ++i) {
    Diagnostic& d = errors[i];
    for (const std::string& leaf : leaves) {
      const bool under = d.key.rfind(leaf, 0) == 0 &&
                         (d.key.size() == leaf.size() || d.key[leaf.size()] == '.' || d.key[leaf.size()] == '[');
      if (!under) continue;
      d.file = o.file;
      d.key = o.entry.path + d.key.substr(rule.path.size());
      break;
    }
  }
}

void ReportUnusedOverrides(const RuleOverrides& overrides, std::vector<Diagnostic>* errors) {
  for (const auto& [id, o] : overrides) {
    if (o.used) continue;
    Context ctx(o.file, errors);
    ctx.Error(o.rule, "no rule \"" + id + "\" in this policy set");
  }
}

}  // namespace tosgate::policies
