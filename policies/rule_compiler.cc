#include "policies/rule_compiler.h"

#include "policies/kinds/kinds.h"

namespace tosgate::policies {
namespace {

std::string KindList() {
  std::string out;
  for (const KindSpec& k : Kinds()) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

bool CompileMatch(Context& ctx, const Field& f, const RuleSetIndex& index,
                  engine::RuleScope* out) {
  MapReader match(ctx, f);
  if (!match.ok()) return false;
  bool ok = true;
  if (std::optional<Field> ops = match.Take("operations")) {
    std::vector<Field> items;
    if (ctx.Sequence(*ops, &items)) {
      for (const Field& item : items) {
        std::string name;
        if (!ctx.String(item, &name)) {
          ok = false;
        } else if (!index.operations.contains(name)) {
          ctx.Error(item, "operation \"" + name +
                              "\" is not defined; define it under operations: in a file of "
                              "this policy set");
          ok = false;
        } else {
          out->operations.push_back(std::move(name));
        }
      }
    } else {
      ok = false;
    }
  }
  if (std::optional<Field> models = match.Take("models"))
    ok = ctx.StringList(*models, &out->models) && ok;
  if (std::optional<Field> tiers = match.Take("tiers"))
    ok = ctx.StringList(*tiers, &out->tiers) && ok;
  match.RejectUnknown();
  return ok;
}

// A code name (see IsCodeName) from `f`, or false having said why.
bool CodeName(Context& ctx, const Field& f, std::string_view what, std::string* out) {
  if (!ctx.String(f, out)) return false;
  if (IsCodeName(*out)) return true;
  ctx.Error(f, std::string(what) + " \"" + *out +
                   "\" may hold only letters, digits, '.', '_' and '-', and not be empty");
  return false;
}

}  // namespace

bool IsCodeName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::unique_ptr<engine::Rule> CompileRule(Context& ctx, const Field& f, RuleSetIndex* index) {
  const int errors_before = ctx.error_count();
  MapReader rule(ctx, f);
  if (!rule.ok()) return nullptr;
  engine::RuleCommon common;
  common.source = ctx.Where(f.mark);

  if (std::optional<Field> id = rule.Require("id"); id && CodeName(ctx, *id, "id", &common.id)) {
    auto [first, inserted] = index->rule_ids.emplace(common.id, common.source);
    if (!inserted)
      ctx.Error(*id, "duplicate rule id \"" + common.id + "\"; first defined at " + first->second);
  }

  const KindSpec* spec = nullptr;
  if (std::optional<Field> kind = rule.Require("kind"); kind && ctx.String(*kind, &common.kind)) {
    spec = FindKind(common.kind);
    if (!spec) ctx.Error(*kind, "unknown kind \"" + common.kind + "\"; expected " + KindList());
  }

  if (std::optional<Field> d = rule.Take("description")) (void)ctx.String(*d, &common.description);
  if (std::optional<Field> mode = rule.Take("mode")) {
    size_t i = 0;
    if (ctx.Enum(*mode, {"enforce", "shadow"}, &i))
      common.mode = i == 0 ? RuleMode::kEnforce : RuleMode::kShadow;
  }
  if (std::optional<Field> match = rule.Take("match"))
    (void)CompileMatch(ctx, *match, *index, &common.match);

  if (spec) common.action = spec->default_action;
  std::optional<Field> action = rule.Peek("action");
  // A map is a kind's own form of action (rate_limit's delay); the kind reads it.
  const bool kind_reads_action = action && action->node.IsMap() && spec && spec->action_may_be_map;
  if (action && !kind_reads_action) {
    rule.Take("action");
    size_t i = 0;
    if (ctx.Enum(*action, {"deny", "throttle", "flag"}, &i))
      common.action = i == 0 ? Action::kDeny : i == 1 ? Action::kThrottle : Action::kFlag;
  }

  if (std::optional<Field> reason = rule.Take("reason")) {
    (void)CodeName(ctx, *reason, "reason", &common.reason);
  } else if (spec) {
    common.reason = spec->default_reason.empty() ? common.id : std::string(spec->default_reason);
  }

  // Without a known kind the kind's keys are unknown too, so they are not
  // reported: the unknown kind is the error to fix first.
  if (!spec) return nullptr;
  std::unique_ptr<engine::Rule> compiled = spec->compile(rule, ctx, std::move(common));
  rule.RejectUnknown();
  if (ctx.error_count() != errors_before) return nullptr;
  return compiled;
}

}  // namespace tosgate::policies
