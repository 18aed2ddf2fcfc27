#include "policies/document.h"

#include "policies/rule_compiler.h"

namespace tosgate::policies {
namespace {

// HTTP header names (RFC 9110 tokens), compared lower case.
bool LowerHeaderName(const std::string& in, std::string* out) {
  if (in.empty()) return false;
  out->clear();
  for (char c : in) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
    out->push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return true;
}

// A list of upper-case HTTP methods; false on any bad item.
bool CompileMethods(Context& ctx, const Field& f, std::vector<std::string>* out) {
  std::vector<Field> items;
  bool ok = ctx.Sequence(f, &items);
  for (const Field& item : items) {
    std::string m;
    if (!ctx.String(item, &m)) {
      ok = false;
    } else if (m.empty() || m.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != m.npos) {
      // The engine compares with the request's method as sent, upper case.
      ctx.Error(item, "method \"" + m + "\" must be upper case letters, e.g. POST");
      ok = false;
    } else {
      out->push_back(std::move(m));
    }
  }
  return ok;
}

// A non-empty list of path patterns (engine::PathMatches); false on any bad item.
bool CompilePaths(Context& ctx, const Field& f, std::vector<std::string>* out) {
  std::vector<Field> items;
  bool ok = ctx.Sequence(f, &items);
  if (ok && items.empty()) {
    ctx.Error(f, "paths needs at least one path");
    ok = false;
  }
  for (const Field& item : items) {
    std::string p;
    if (!ctx.String(item, &p)) {
      ok = false;
    } else if (p.empty() || p.front() != '/') {
      ctx.Error(item, "path \"" + p + "\" must start with '/'");
      ok = false;
    } else if (p.find("**") != p.npos) {
      ctx.Error(item, "path \"" + p +
                          "\" holds \"**\"; a '*' inside a path matches within one segment, a "
                          "'*' at its end matches any rest");
      ok = false;
    } else {
      out->push_back(std::move(p));
    }
  }
  return ok;
}

bool CompileOperation(Context& ctx, const Field& f, engine::OperationDef* op) {
  MapReader map(ctx, f);
  if (!map.ok()) return false;
  bool ok = true;
  if (std::optional<Field> methods = map.Take("methods"))
    ok = CompileMethods(ctx, *methods, &op->methods) && ok;
  if (std::optional<Field> paths = map.Require("paths"))
    ok = CompilePaths(ctx, *paths, &op->paths) && ok;
  else
    ok = false;
  map.RejectUnknown();
  return ok;
}

void CompileUnmatched(Context& ctx, const Field& f, engine::UnmatchedOperation* out) {
  MapReader map(ctx, f);
  if (!map.ok()) return;
  size_t i = 0;
  if (std::optional<Field> a = map.Take("action"); a && ctx.Enum(*a, {"deny", "allow"}, &i))
    out->deny = i == 0;
  if (std::optional<Field> m = map.Take("methods")) {
    std::vector<std::string> methods;
    if (CompileMethods(ctx, *m, &methods)) {
      if (methods.empty())
        ctx.Error(*m, "methods needs at least one method; action: allow lets every unmatched "
                      "request through");
      else
        out->methods = std::move(methods);
    }
  }
  if (std::optional<Field> p = map.Take("paths")) {
    std::vector<std::string> paths;
    if (CompilePaths(ctx, *p, &paths)) out->paths = std::move(paths);
  }
  map.RejectUnknown();
}

void CompileSettings(Context& ctx, const Field& f, engine::Settings* out) {
  MapReader map(ctx, f);
  if (!map.ok()) return;
  size_t i = 0;
  if (std::optional<Field> mode = map.Take("mode"); mode && ctx.Enum(*mode, {"enforce", "shadow"}, &i))
    out->mode = i == 0 ? RuleMode::kEnforce : RuleMode::kShadow;
  if (std::optional<Field> fm = map.Take("failure_mode"); fm && ctx.Enum(*fm, {"open", "closed"}, &i))
    out->fail_open = i == 0;
  if (std::optional<Field> u = map.Take("unmatched_operation"))
    CompileUnmatched(ctx, *u, &out->unmatched_operation);
  map.RejectUnknown();
}

void CompileIdentity(Context& ctx, const Field& f, engine::IdentityConfig* out) {
  MapReader map(ctx, f);
  if (!map.ok()) return;
  if (std::optional<Field> th = map.Take("trusted_headers")) {
    MapReader headers(ctx, *th);
    const std::pair<const char*, std::string*> kHeaders[] = {
        {"account", &out->account_header}, {"org", &out->org_header}, {"tier", &out->tier_header}};
    for (const auto& [key, dest] : kHeaders) {
      std::string name;
      if (std::optional<Field> h = headers.Take(key); h && ctx.String(*h, &name)) {
        if (!LowerHeaderName(name, dest))
          ctx.Error(*h, "\"" + name + "\" is not an HTTP header name");
      }
    }
    headers.RejectUnknown();
  }
  if (std::optional<Field> uk = map.Take("unknown_keys")) {
    MapReader unknown(ctx, *uk);
    std::optional<Field> tier = unknown.Take("tier");
    std::optional<Field> action = unknown.Take("action");
    unknown.RejectUnknown();
    if (tier && action) {
      ctx.Error(*action, "unknown_keys takes either tier or action, not both");
    } else if (tier) {
      if (ctx.String(*tier, &out->unknown_tier) && out->unknown_tier.empty())
        ctx.Error(*tier, "tier must not be empty");
    } else if (action) {
      size_t i = 0;
      out->unknown_deny = ctx.Enum(*action, {"deny"}, &i);
    } else if (unknown.ok()) {
      ctx.Error(*uk, "unknown_keys needs {tier: NAME} or {action: deny}");
    }
  }
  map.RejectUnknown();
}

// "file:line:column" of a position.
std::string WhereExactly(const Context& ctx, const YAML::Mark& mark) {
  return ctx.Where(mark) + ":" + std::to_string(mark.column + 1);
}

std::string OperationText(const engine::OperationDef& op) {
  std::string out = "methods";
  for (const std::string& m : op.methods) out += " " + m;
  out += "\npaths";
  for (const std::string& p : op.paths) out += " " + p;
  return out;
}

// Records list `e` as defined; false when it was already, identically (it
// merges: nothing to add) or differently (an error).
bool DefineList(Context& ctx, const Field& name_field, const MapReader::Entry& e, bool words,
                const std::string& content, SetBuilder* set) {
  const std::string what = std::string(words ? "word\n" : "phrase\n") + content;
  auto [first, inserted] =
      set->lists_at.emplace(e.key, SetBuilder::Defined{WhereExactly(ctx, e.key_mark), what});
  if (inserted) return true;
  if (first->second.what != what)
    ctx.Error(name_field, "list \"" + e.key + "\" is already defined at " + first->second.at +
                              ", differently; a set may define a list twice only identically");
  return false;
}

void CompileLists(Context& ctx, const Field& f, SetBuilder* set) {
  MapReader lists(ctx, f);
  if (!lists.ok()) return;
  for (const MapReader::Entry& e : lists.TakeAll()) {
    const Field name_field{e.value.node, e.value.path, e.key_mark};
    bool named = true;
    if (!IsCodeName(e.key)) {
      ctx.Error(name_field, "list name may hold only letters, digits, '.', '_' and '-'");
      named = false;
    }
    MapReader list(ctx, e.value);
    bool words = true;
    if (std::optional<Field> m = list.Take("match")) {
      size_t i = 0;
      if (ctx.Enum(*m, {"word", "phrase"}, &i)) words = i == 0;
    }
    std::string file;
    if (std::optional<Field> ff = list.Require("file"); ff && ctx.String(*ff, &file)) {
      std::string name, content, why;
      if (file.empty() || !set->read_data_file(ctx.file(), file, &name, &content, &why)) {
        ctx.Error(*ff, why == "not found" || file.empty()
                           ? "list file \"" + file + "\" not found (paths are relative to this file)"
                           : "list file \"" + file + "\" cannot be read: " + why);
      } else if (named && DefineList(ctx, name_field, e, words, content, set) && set->content) {
        const ContentSet::Source at{ctx.file(), ff->mark.line + 1, ff->mark.column + 1, ff->path};
        set->content->AddList(e.key, std::move(name), file, content, words, at);
      }
    }
    list.RejectUnknown();
  }
}

// At most one file of a set may hold a set-wide section; a second is an error
// at its key.
bool FirstToSet(Context& ctx, const MapReader::Entry& e, std::string* set_at) {
  if (set_at->empty()) {
    *set_at = ctx.Where(e.key_mark);
    return true;
  }
  ctx.Error(e.key_mark, e.key,
            e.key + " is already set at " + *set_at + "; at most one file of a set may set it");
  return false;
}

}  // namespace

void AddOperations(Context& ctx, const YAML::Node& root, SetBuilder* set) {
  if (!root.IsMap()) return;  // pass 2 reports it
  // A second `operations:` or `lists:` key is reported as a duplicate in pass 2.
  bool ops_done = false, lists_done = false, prices_done = false;
  for (const auto& kv : root) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!key.IsScalar()) continue;
    if (key.Scalar() == "prices" && !prices_done) {
      prices_done = true;
      AddPrices(ctx, Field{value, "prices", value.IsNull() ? key.Mark() : value.Mark()}, set);
      continue;
    }
    if (key.Scalar() == "lists" && !lists_done) {
      lists_done = true;
      CompileLists(ctx, Field{value, "lists", value.IsNull() ? key.Mark() : value.Mark()}, set);
      continue;
    }
    if (key.Scalar() != "operations" || ops_done) continue;
    ops_done = true;
    const Field ops_field{value, "operations", value.IsNull() ? key.Mark() : value.Mark()};
    MapReader ops(ctx, ops_field);
    for (const MapReader::Entry& e : ops.TakeAll()) {
      engine::OperationDef op;
      op.name = e.key;
      const Field name_field{e.value.node, e.value.path, e.key_mark};
      if (!IsCodeName(e.key)) {
        ctx.Error(name_field, "operation name may hold only letters, digits, '.', '_' and '-'");
        (void)CompileOperation(ctx, e.value, &op);
        continue;
      }
      set->index.operations.insert(e.key);  // known either way: no second error at each use
      const bool compiled = CompileOperation(ctx, e.value, &op);
      const std::string what = compiled ? OperationText(op) : "";
      auto [first, inserted] =
          set->operations_at.emplace(e.key, SetBuilder::Defined{WhereExactly(ctx, e.key_mark), what});
      if (!inserted) {
        // The same operation in two files (two packs for one API) is one operation.
        if (!what.empty() && what == first->second.what) continue;
        ctx.Error(name_field, "operation \"" + e.key + "\" is already defined at " +
                                  first->second.at + ", differently; a set may define an operation "
                                  "twice only identically");
        continue;
      }
      if (compiled) set->snapshot->operations.push_back(std::move(op));
    }
  }
}

void CompileDocument(Context& ctx, const YAML::Node& root, SetBuilder* set) {
  ctx.set_content_set(set->content);
  ctx.set_prices(set->prices);
  MapReader doc(ctx, Field{root, "", root.Mark()});
  if (!doc.ok()) return;

  std::string text;
  if (std::optional<Field> v = doc.Require("apiVersion"); v && ctx.String(*v, &text) &&
                                                          text != "tosgate/v1")
    ctx.Error(*v, "unsupported apiVersion \"" + text + "\"; expected tosgate/v1");
  if (std::optional<Field> k = doc.Require("kind"); k && ctx.String(*k, &text) && text != "Policy")
    ctx.Error(*k, "expected kind: Policy, got \"" + text + "\"");
  if (std::optional<Field> meta = doc.Require("metadata")) {
    MapReader m(ctx, *meta);
    if (std::optional<Field> name = m.Require("name"); name && ctx.String(*name, &text)) {
      if (text.empty()) {
        ctx.Error(*name, "name must not be empty");
      } else if (!set->named) {
        set->snapshot->name = text;
        set->named = true;
      }
    }
    if (std::optional<Field> d = m.Take("description")) (void)ctx.String(*d, &text);
    m.RejectUnknown();
  }

  (void)doc.Take("imports");  // read before pass 1 (imports.cc)
  // An imported file's settings and identity are there for the pack to run
  // alone; in a set that imports it the set's own files own them. They are
  // still checked.
  engine::Settings unused_settings;
  engine::IdentityConfig unused_identity;
  if (std::optional<MapReader::Entry> s = doc.TakeEntry("settings")) {
    if (set->imported_file)
      CompileSettings(ctx, s->value, &unused_settings);
    else if (FirstToSet(ctx, *s, &set->settings_at))
      CompileSettings(ctx, s->value, &set->snapshot->settings);
  }
  if (std::optional<MapReader::Entry> id = doc.TakeEntry("identity")) {
    if (set->imported_file)
      CompileIdentity(ctx, id->value, &unused_identity);
    else if (FirstToSet(ctx, *id, &set->identity_at))
      CompileIdentity(ctx, id->value, &set->snapshot->identity);
  }
  (void)doc.Take("operations");  // compiled in pass 1
  (void)doc.Take("lists");  // compiled in pass 1
  (void)doc.Take("prices");  // compiled in pass 1

  if (std::optional<Field> rules = doc.Take("rules")) {
    std::vector<Field> items;
    if (ctx.Sequence(*rules, &items)) {
      for (const Field& item : items) {
        RuleOverride* o = nullptr;
        if (item.node.IsMap()) {
          const YAML::Node id = item.node["id"];
          if (id.IsDefined() && id.IsScalar())
            if (auto it = set->overrides.find(id.Scalar()); it != set->overrides.end()) o = &it->second;
        }
        std::unique_ptr<engine::Rule> rule;
        if (o) {
          o->used = true;
          const size_t errors_from = ctx.errors()->size();
          rule = CompileRule(ctx, ApplyOverride(item, *o), &set->index);
          FinishOverride(ctx, errors_from, item, *o);
          if (o->off) rule.reset();
        } else {
          rule = CompileRule(ctx, item, &set->index);
        }
        if (rule && !set->skip_rules) set->snapshot->rules.push_back(std::move(rule));
      }
    }
  }
  (void)doc.Take("overrides");  // read before pass 2 (overrides.cc)
  doc.RejectUnknown();
}

}  // namespace tosgate::policies
