// content: deny, throttle or flag a request whose prompt text matches.
//
//   fields: [user, system]            # system | user | all (default all)
//   patterns:
//     - {id: nerve-agent, regex: '(synthesi[sz]e|make)\W+(\w+\W+){0,3}(sarin|vx)'}
//     - {id: recipe, phrase: "step by step recipe"}
//     - {id: ricin, word: ricin}
//   lists: [weapons]                  # `lists:` section of the policy set
//   evidence: redacted                # optional
#include <set>

#include "engine/rules/content.h"
#include "policies/kinds/kinds.h"

namespace tosgate::policies {
namespace {

bool CompilePattern(Context& ctx, const Field& f, engine::ContentPattern* out) {
  MapReader p(ctx, f);
  if (!p.ok()) return false;
  bool ok = true;
  if (std::optional<Field> id = p.Require("id"); !id || !ctx.String(*id, &out->id)) ok = false;
  int kinds = 0;
  const std::pair<std::string_view, engine::ContentPattern::Type> types[] = {
      {"phrase", engine::ContentPattern::Type::kPhrase},
      {"word", engine::ContentPattern::Type::kWord},
      {"regex", engine::ContentPattern::Type::kRegex}};
  for (const auto& [key, type] : types) {
    if (std::optional<Field> v = p.Take(key)) {
      ++kinds;
      out->type = type;
      if (!ctx.String(*v, &out->text)) ok = false;
      else if (out->text.empty()) ctx.Error(*v, std::string(key) + " is empty"), ok = false;
    }
  }
  if (kinds != 1) {
    ctx.Error(f, "a pattern needs exactly one of phrase, word or regex");
    ok = false;
  }
  p.RejectUnknown();
  return ok;
}

}  // namespace

std::unique_ptr<engine::Rule> CompileContent(MapReader& rule, Context& ctx,
                                             engine::RuleCommon common) {
  const int errors_before = ctx.error_count();
  std::vector<engine::ContentFields> fields;
  if (std::optional<Field> ff = rule.Take("fields")) {
    std::vector<Field> items;
    if (ctx.Sequence(*ff, &items)) {
      for (const Field& item : items) {
        size_t i = 0;
        if (ctx.Enum(item, {"all", "system", "user"}, &i))
          fields.push_back(static_cast<engine::ContentFields>(i));
      }
      if (items.empty()) ctx.Error(*ff, "fields is empty (give system, user or all)");
    }
  }
  if (fields.empty()) fields.push_back(engine::ContentFields::kAll);

  std::vector<engine::ContentPattern> patterns;
  std::vector<Field> where;  // each pattern's position, for Hyperscan errors
  std::set<std::string> ids;
  if (std::optional<Field> pf = rule.Take("patterns")) {
    std::vector<Field> items;
    if (ctx.Sequence(*pf, &items)) {
      for (const Field& item : items) {
        engine::ContentPattern p;
        if (!CompilePattern(ctx, item, &p)) continue;
        if (!ids.insert(p.id).second) {
          ctx.Error(item, "duplicate pattern id \"" + p.id + "\"");
          continue;
        }
        // Alone first, so that the error names the pattern Hyperscan rejects.
        std::string why;
        if (!engine::ContentMatcher::Compile({p}, &why)) {
          ctx.Error(item, "pattern \"" + p.id + "\" is rejected by Hyperscan: " + why);
          continue;
        }
        patterns.push_back(std::move(p));
        where.push_back(item);
      }
    }
  }
  if (std::optional<Field> lf = rule.Take("lists")) {
    // TODO: list files are read by policies/document.cc in a coming change;
    // until then a content rule cannot use them.
    ctx.Error(*lf, "lists in content rules are not supported yet; use patterns");
  }
  bool redacted = false;
  if (std::optional<Field> ef = rule.Take("evidence")) {
    size_t i = 0;
    if (ctx.Enum(*ef, {"none", "redacted"}, &i)) redacted = i == 1;
  }
  if (ctx.error_count() != errors_before) return nullptr;
  if (patterns.empty()) {
    ctx.Error(rule.field(), "a content rule needs at least one pattern");
    return nullptr;
  }
  std::string why;
  size_t bad = 0;
  auto matcher = engine::ContentMatcher::Compile(std::move(patterns), &why, &bad);
  if (!matcher) {
    ctx.Error(bad < where.size() ? where[bad] : rule.field(), "Hyperscan rejects the patterns: " + why);
    return nullptr;
  }
  return std::make_unique<engine::ContentRule>(std::move(common), std::move(fields),
                                               std::move(matcher), redacted);
}

}  // namespace tosgate::policies
