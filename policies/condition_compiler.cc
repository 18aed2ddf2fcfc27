#include "policies/condition_compiler.h"

#include <string>

namespace tosgate::policies {
namespace {

using engine::Condition;
using engine::ValueKind;

// Deep enough for any tree a person writes; shallow enough that an uploaded
// policy cannot exhaust the stack.
constexpr int kMaxDepth = 32;
// YAML aliases let a few lines name a tree of billions of nodes (each level
// repeating the one below, or one alias used in every rule); the compiler
// copies what it walks, so it stops at sizes no person writes.
constexpr int kMaxNodes = 10'000;        // in one `when`
constexpr int kMaxFileNodes = 200'000;   // in one file

struct OpName {
  std::string_view name;
  Condition::Op op;
};
constexpr OpName kComparisons[] = {
    {"eq", Condition::Op::kEq},         {"in", Condition::Op::kIn},
    {"gt", Condition::Op::kGt},         {"lt", Condition::Op::kLt},
    {"exists", Condition::Op::kExists}, {"cidr", Condition::Op::kCidr},
};

const char* KindName(ValueKind k) {
  switch (k) {
    case ValueKind::kBool: return "a boolean";
    case ValueKind::kNumber: return "a number";
    case ValueKind::kStringList: return "a list of strings";
    default: return "a string";
  }
}

// A literal compared with `field`, typed by the field. The messages name the
// field, because the field is what decides the type.
bool CompileLiteral(Context& ctx, const Field& f, const engine::FieldRef& field,
                    engine::Literal* out) {
  out->kind = field.kind == ValueKind::kStringList ? ValueKind::kString : field.kind;
  const std::string got = (IsQuoted(f.node) ? "the string " : "") + Describe(f.node);
  switch (field.kind) {
    case ValueKind::kBool:
      if (ScalarBool(f.node, &out->b)) return true;
      ctx.Error(f, field.name + " is a boolean (true or false), got " + got);
      return false;
    case ValueKind::kNumber:
      if (ScalarNumber(f.node, &out->num)) return true;
      ctx.Error(f, field.name + " is a number, got " + got);
      return false;
    default:  // strings, and a list of strings compared member by member
      if (f.node.IsScalar()) return ctx.String(f, &out->str);
      ctx.Error(f, field.name + " is " + KindName(field.kind) + ", got " + got);
      return false;
  }
}

// cidr: one address range or a list of them, on the client address or a
// header that carries one.
bool CompileCidrs(Context& ctx, const Field& f, const engine::FieldRef& field, Condition* out) {
  if (field.id != engine::FieldId::kRequestClientIp &&
      field.id != engine::FieldId::kRequestHeader) {
    ctx.Error(f, "cidr needs request.client_ip or a request.header.<name> field, not " +
                     field.name);
    return false;
  }
  std::vector<Field> items;
  if (f.node.IsSequence()) {
    if (!ctx.Sequence(f, &items)) return false;
    if (items.empty()) {
      ctx.Error(f, "cidr needs at least one address range");
      return false;
    }
  } else {
    items.push_back(f);
  }
  bool ok = true;
  for (const Field& item : items) {
    std::string text;
    engine::Cidr cidr;
    if (!ctx.String(item, &text)) {
      ok = false;
    } else if (!engine::ParseCidr(text, &cidr)) {
      ctx.Error(item, "bad address range \"" + text +
                          "\"; expected e.g. 10.0.0.0/8, 2001:db8::/32 or one address");
      ok = false;
    } else {
      out->cidrs.push_back(std::move(cidr));
    }
  }
  return ok;
}

// The operand `f` of operator `op_name` on `field`, checked and compiled.
bool CompileOperands(Context& ctx, const Field& f, const engine::FieldRef& field,
                     std::string_view op_name, Condition* out) {
  switch (out->op) {
    case Condition::Op::kEq:
    case Condition::Op::kGt:
    case Condition::Op::kLt: {
      if (out->op != Condition::Op::kEq && field.kind != ValueKind::kNumber) {
        ctx.Error(f, std::string(op_name) + " needs a number field; " + field.name + " is " +
                         KindName(field.kind));
        return false;
      }
      engine::Literal lit;
      if (!CompileLiteral(ctx, f, field, &lit)) return false;
      out->operands.push_back(std::move(lit));
      return true;
    }
    case Condition::Op::kIn: {
      std::vector<Field> items;
      if (!ctx.Sequence(f, &items)) return false;
      if (items.empty()) {
        ctx.Error(f, "in needs at least one value");
        return false;
      }
      bool ok = true;
      for (const Field& item : items) {
        engine::Literal lit;
        if (CompileLiteral(ctx, item, field, &lit)) {
          out->operands.push_back(std::move(lit));
        } else {
          ok = false;
        }
      }
      return ok;
    }
    case Condition::Op::kExists: {
      engine::Literal lit;
      lit.kind = ValueKind::kBool;
      if (!ctx.Bool(f, &lit.b)) return false;
      out->operands.push_back(std::move(lit));
      return true;
    }
    case Condition::Op::kCidr: return CompileCidrs(ctx, f, field, out);
    default: return false;
  }
}

bool CompileComparison(Context& ctx, MapReader& map, Condition* out) {
  std::optional<Field> name_field = map.Require("field");
  std::optional<engine::FieldRef> field;
  std::string name;
  if (name_field && ctx.String(*name_field, &name)) {
    field = engine::ResolveField(name);
    if (!field)
      ctx.Error(*name_field, "unknown field \"" + name +
                                 "\"; fields start with request., account., body. or time. "
                                 "(see docs/policy-reference.md)");
  }

  // Exactly one operator. `matches` is reserved in the language: text is
  // matched by rules of kind content, which normalize it first.
  std::optional<Field> operand;
  std::string_view op_name;
  int operators = 0;
  for (const OpName& candidate : kComparisons) {
    if (std::optional<Field> f = map.Take(candidate.name)) {
      if (++operators == 1) {
        operand = f;
        op_name = candidate.name;
        out->op = candidate.op;
      } else {
        ctx.Error(f->mark, f->path,
                  "a comparison has exactly one operator; this one also has " +
                      std::string(op_name));
      }
    }
  }
  if (std::optional<Field> m = map.Take("matches")) {
    ctx.Error(m->mark, m->path,
              "the matches operator is not supported; match text with a rule of kind: content "
              "(docs/content-rules.md)");
    return false;
  }
  map.RejectUnknown();
  if (operators == 0) {
    ctx.Error(map.field(), "a comparison needs one operator: eq, in, gt, lt, exists or cidr");
    return false;
  }
  if (!field) return false;
  out->field = *field;

  return CompileOperands(ctx, *operand, *field, op_name, out);
}

bool Compile(Context& ctx, const Field& f, Condition* out, int depth, int* nodes) {
  if (depth > kMaxDepth) {
    ctx.Error(f, "conditions are nested more than " + std::to_string(kMaxDepth) + " deep");
    return false;
  }
  if (++*nodes > kMaxNodes) {
    if (*nodes == kMaxNodes + 1)
      ctx.Error(f, "the condition has more than " + std::to_string(kMaxNodes) + " parts");
    return false;
  }
  if (++ctx.condition_nodes() > kMaxFileNodes) {
    // Said once per file; every later condition just stops.
    if (ctx.condition_nodes() == kMaxFileNodes + 1)
      ctx.Error(f, "the file's conditions have more than " + std::to_string(kMaxFileNodes) +
                       " parts in all");
    *nodes = kMaxNodes + 2;  // stop this tree without a second message
    return false;
  }
  MapReader map(ctx, f);
  if (!map.ok()) return false;

  std::optional<Field> all = map.Peek("all"), any = map.Peek("any"), negate = map.Peek("not");
  const int groups = (all ? 1 : 0) + (any ? 1 : 0) + (negate ? 1 : 0);
  if (groups == 0) return CompileComparison(ctx, map, out);
  if (groups > 1 || map.size() > 1) {
    ctx.Error(f, "a condition is one of {all: [...]}, {any: [...]}, {not: ...} or "
                 "{field: ..., <operator>: ...}; this one mixes them");
    return false;
  }
  if (negate) {
    map.Take("not");
    out->op = Condition::Op::kNot;
    out->children.resize(1);
    return Compile(ctx, *negate, &out->children[0], depth + 1, nodes);
  }
  const Field& list = all ? *all : *any;
  map.Take(all ? "all" : "any");
  out->op = all ? Condition::Op::kAll : Condition::Op::kAny;
  std::vector<Field> items;
  if (!ctx.Sequence(list, &items)) return false;
  if (items.empty()) {
    ctx.Error(list, std::string(all ? "all" : "any") + " needs at least one condition");
    return false;
  }
  bool ok = true;
  out->children.resize(items.size());
  for (size_t i = 0; i < items.size() && *nodes <= kMaxNodes; ++i)
    ok = Compile(ctx, items[i], &out->children[i], depth + 1, nodes) && ok;
  if (*nodes > kMaxNodes) return false;
  return ok;
}

}  // namespace

bool CompileCondition(Context& ctx, const Field& when, engine::Condition* out) {
  *out = engine::Condition{};
  int nodes = 0;
  return Compile(ctx, when, out, 0, &nodes);
}

}  // namespace tosgate::policies
