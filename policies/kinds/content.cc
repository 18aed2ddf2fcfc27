// content: deny, throttle or flag a request whose prompt text matches.
//
//   fields: [user, system]            # all (default) | system | user
//   patterns:
//     - {id: nerve-agent, regex: '(synthesi[sz]e|make)\W+(\w+\W+){0,3}(sarin|vx)'}
//     - {id: recipe, phrase: "step by step recipe"}
//     - {id: ricin, word: ricin}
//   lists: [weapons]                  # names from the set's `lists:` section
//   evidence: redacted                # none (default) | redacted
//   classifier:                       # the second tier (engine/textmodel)
//     model: models/prohibited.model  # relative to this file, like list files
//     categories:                     # labels of the model: threshold, or
//       cbrn: 0.8                     # {threshold, action} to override the
//       fraud-scams: {threshold: 0.9, action: flag}   # rule's action
//
// A rule needs patterns, lists or a classifier (any of them).
// Patterns are checked one by one here, so that an error names the pattern;
// the set's ContentSet compiles them all into one database at the end.
#include <algorithm>
#include <set>

#include "engine/rules/content.h"
#include "policies/content_set.h"
#include "policies/kinds/kinds.h"
#include "policies/rule_compiler.h"

namespace tosgate::policies {
namespace {

ContentSet::Source SourceOf(const Context& ctx, const Field& f) {
  return {ctx.file(), f.mark.line + 1, f.mark.column + 1, f.path};
}

bool CompilePattern(Context& ctx, const Field& f, engine::ContentPattern* out,
                    ContentSet::Source* where) {
  MapReader p(ctx, f);
  if (!p.ok()) return false;
  bool ok = true;
  if (std::optional<Field> id = p.Require("id"); !id || !ctx.String(*id, &out->id)) {
    ok = false;
  } else if (!IsCodeName(out->id)) {
    ctx.Error(*id, "pattern id \"" + out->id +
                       "\" may hold only letters, digits, '.', '_' and '-', and not be empty");
    ok = false;
  }
  int kinds = 0;
  const std::pair<std::string_view, engine::ContentPattern::Type> types[] = {
      {"phrase", engine::ContentPattern::Type::kPhrase},
      {"word", engine::ContentPattern::Type::kWord},
      {"regex", engine::ContentPattern::Type::kRegex}};
  for (const auto& [key, type] : types) {
    std::optional<Field> v = p.Take(key);
    if (!v) continue;
    ++kinds;
    out->type = type;
    *where = SourceOf(ctx, *v);
    if (!ctx.String(*v, &out->text)) {
      ok = false;
    } else if (std::string why = engine::CheckContentPattern(*out); !why.empty()) {
      ctx.Error(*v, std::string(key) + " \"" + out->text + "\" is rejected: " + why);
      ok = false;
    }
  }
  if (kinds != 1) {
    ctx.Error(f, "a pattern needs exactly one of phrase, word or regex");
    ok = false;
  }
  p.RejectUnknown();
  return ok;
}

bool Threshold(Context& ctx, const Field& f, float* out) {
  double v = 0;
  if (!ctx.Number(f, &v)) return false;
  if (!(v > 0 && v <= 1)) {
    ctx.Error(f, "threshold " + f.node.Scalar() +
                     " is not a score: give a number above 0 and at most 1 (e.g. 0.8)");
    return false;
  }
  *out = static_cast<float>(v);
  return true;
}

bool CompileCategory(Context& ctx, const MapReader::Entry& e, const engine::TextModel& model,
                     engine::ContentClassifier::Category* out) {
  const Field name_field{e.value.node, e.value.path, e.key_mark};
  out->label = model.LabelIndex(e.key);
  bool ok = true;
  if (out->label < 0) {
    std::string labels;
    for (const std::string& l : model.labels()) labels += (labels.empty() ? "" : ", ") + l;
    ctx.Error(name_field, "category \"" + e.key + "\" is not a label of the model (it has: " +
                              labels + ")");
    ok = false;
  }
  if (!e.value.node.IsMap()) return Threshold(ctx, e.value, &out->threshold) && ok;
  MapReader c(ctx, e.value);
  if (std::optional<Field> t = c.Require("threshold"); !t || !Threshold(ctx, *t, &out->threshold))
    ok = false;
  if (std::optional<Field> a = c.Take("action")) {
    size_t i = 0;
    if (ctx.Enum(*a, {"deny", "throttle", "flag"}, &i))
      out->action = i == 0 ? Action::kDeny : i == 1 ? Action::kThrottle : Action::kFlag;
    else
      ok = false;
  }
  c.RejectUnknown();
  return ok;
}

// classifier: {model: PATH, categories: {label: threshold | {threshold, action}}}
bool CompileClassifier(Context& ctx, const Field& f, engine::ContentClassifier* out) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  bool ok = true;
  std::string written;
  std::optional<Field> mf = m.Require("model");
  if (!mf || !ctx.String(*mf, &written)) {
    ok = false;
  } else if (ContentSet* set = ctx.content_set()) {
    std::string why;
    out->model = set->Model(ctx.file(), written, &why);
    if (!out->model) {
      ctx.Error(*mf, why);
      ok = false;
    }
  }
  std::optional<Field> cf = m.Require("categories");
  m.RejectUnknown();
  if (!cf) return false;
  MapReader cats(ctx, *cf);
  if (!cats.ok()) return false;
  std::vector<MapReader::Entry> entries = cats.TakeAll();
  if (entries.empty()) {
    ctx.Error(*cf, "categories is empty (give label: threshold for each category to act on)");
    return false;
  }
  if (!out->model) return false;
  for (const MapReader::Entry& e : entries) {
    engine::ContentClassifier::Category c;
    if (CompileCategory(ctx, e, *out->model, &c))
      out->categories.push_back(c);
    else
      ok = false;
  }
  return ok;
}

}  // namespace

std::unique_ptr<engine::Rule> CompileContent(MapReader& rule, Context& ctx,
                                             engine::RuleCommon common) {
  const int errors_before = ctx.error_count();
  ContentSet* set = ctx.content_set();
  std::vector<engine::ContentScope> scopes;
  if (std::optional<Field> ff = rule.Take("fields")) {
    std::vector<Field> items;
    if (ctx.Sequence(*ff, &items)) {
      for (const Field& item : items) {
        size_t i = 0;
        if (!ctx.Enum(item, {"all", "system", "user"}, &i)) continue;
        const auto scope = static_cast<engine::ContentScope>(i);
        if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) scopes.push_back(scope);
      }
      if (items.empty()) ctx.Error(*ff, "fields is empty (give system, user or all)");
    }
  }
  if (scopes.empty()) scopes.push_back(engine::ContentScope::kAll);
  // `all` already holds system and user text: scanning them too adds nothing.
  if (std::find(scopes.begin(), scopes.end(), engine::ContentScope::kAll) != scopes.end())
    scopes = {engine::ContentScope::kAll};

  std::vector<engine::ContentPattern> patterns;
  std::vector<ContentSet::Source> sources;
  std::set<std::string, std::less<>> ids;
  if (std::optional<Field> pf = rule.Take("patterns")) {
    std::vector<Field> items;
    if (ctx.Sequence(*pf, &items)) {
      for (const Field& item : items) {
        engine::ContentPattern p;
        ContentSet::Source where;
        if (!CompilePattern(ctx, item, &p, &where)) continue;
        if (!ids.insert(p.id).second) {
          ctx.Error(item, "duplicate pattern id \"" + p.id + "\" in this rule");
          continue;
        }
        patterns.push_back(std::move(p));
        sources.push_back(std::move(where));
      }
    }
  }
  if (std::optional<Field> lf = rule.Take("lists")) {
    std::vector<Field> items;
    if (ctx.Sequence(*lf, &items)) {
      for (const Field& item : items) {
        std::string name;
        if (!ctx.String(item, &name)) continue;
        const ContentSet::List* list = set ? set->FindList(name) : nullptr;
        if (!list) {
          ctx.Error(item, "list \"" + name +
                              "\" is not defined; define it under lists: in a file of this "
                              "policy set, e.g. lists: {" + name + ": {file: lists/" + name +
                              ".txt}}");
          continue;
        }
        for (const auto& [line, text] : list->entries) {
          // A list entry's id is the list and its line: stable while the
          // file is, and it names no prompt text.
          patterns.push_back({name + ":" + std::to_string(line),
                              list->words ? engine::ContentPattern::Type::kWord
                                          : engine::ContentPattern::Type::kPhrase,
                              text});
          sources.push_back({list->file, line, 1, ""});
        }
      }
    }
  }
  bool redacted = false;
  if (std::optional<Field> ef = rule.Take("evidence")) {
    size_t i = 0;
    if (ctx.Enum(*ef, {"none", "redacted"}, &i)) redacted = i == 1;
  }
  engine::ContentClassifier classifier;
  if (std::optional<Field> cf = rule.Take("classifier")) {
    if (!CompileClassifier(ctx, *cf, &classifier) && ctx.error_count() == errors_before)
      ctx.Error(*cf, "the classifier does not compile");  // never silently without it
  }
  if (ctx.error_count() != errors_before) return nullptr;
  if (patterns.empty() && !classifier.model) {
    ctx.Error(rule.field(), "a content rule needs at least one pattern, list or classifier");
    return nullptr;
  }
  if (!set) {
    ctx.Error(rule.field(), "content rules compile only as part of a policy set");
    return nullptr;
  }
  uint32_t first = 0;
  const auto count = static_cast<uint32_t>(patterns.size());
  std::shared_ptr<const engine::ContentIndex> index =
      set->AddPatterns(patterns, std::move(sources), &first);
  return std::make_unique<engine::ContentRule>(std::move(common), std::move(scopes),
                                               std::move(index), first, count, redacted,
                                               std::move(classifier));
}

}  // namespace tosgate::policies
