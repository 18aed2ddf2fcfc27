#include "engine/condition.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace tosgate::engine {
namespace {

const char* OpName(Condition::Op op) {
  switch (op) {
    case Condition::Op::kAll: return "all";
    case Condition::Op::kAny: return "any";
    case Condition::Op::kNot: return "not";
    case Condition::Op::kEq: return "eq";
    case Condition::Op::kIn: return "in";
    case Condition::Op::kGt: return "gt";
    case Condition::Op::kLt: return "lt";
    case Condition::Op::kExists: return "exists";
    case Condition::Op::kCidr: return "cidr";
  }
  return "?";
}

bool LiteralEquals(const Value& v, const Literal& l) {
  switch (v.kind) {
    case ValueKind::kMissing: return false;
    case ValueKind::kBool: return l.kind == ValueKind::kBool && v.b == l.b;
    case ValueKind::kNumber: return l.kind == ValueKind::kNumber && v.num == l.num;
    case ValueKind::kString: return l.kind == ValueKind::kString && v.str == l.str;
    case ValueKind::kStringList:
      if (l.kind != ValueKind::kString || !v.list) return false;
      for (const std::string& s : *v.list)
        if (s == l.str) return true;
      return false;
  }
  return false;
}

bool InCidr(const std::array<uint8_t, 16>& ip, const Cidr& c) {
  int bits = c.prefix_bits;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (c.addr[i] & mask)) return false;
  }
  return true;
}

std::string Describe(const Condition& c) {
  switch (c.op) {
    case Condition::Op::kAll:
    case Condition::Op::kAny: {
      std::string out = std::string(OpName(c.op)) + "(";
      for (size_t i = 0; i < c.children.size(); ++i)
        out += (i ? ", " : "") + Describe(c.children[i]);
      return out + ")";
    }
    case Condition::Op::kNot:
      return "not(" + (c.children.empty() ? std::string() : Describe(c.children[0])) + ")";
    case Condition::Op::kCidr: {
      std::string out = c.field.name + " cidr [";
      for (size_t i = 0; i < c.cidrs.size(); ++i) out += (i ? ", " : "") + c.cidrs[i].text;
      return out + "]";
    }
    default: {
      std::string out = c.field.name + " " + OpName(c.op) + " ";
      if (c.op == Condition::Op::kIn) out += "[";
      for (size_t i = 0; i < c.operands.size(); ++i)
        out += (i ? ", " : "") + c.operands[i].ToString();
      if (c.op == Condition::Op::kIn) out += "]";
      return out;
    }
  }
}

bool EvaluateLeaf(const Condition& c, const Value& v) {
  switch (c.op) {
    case Condition::Op::kEq: return !c.operands.empty() && LiteralEquals(v, c.operands[0]);
    case Condition::Op::kIn:
      for (const Literal& l : c.operands)
        if (LiteralEquals(v, l)) return true;
      return false;
    case Condition::Op::kGt:
      return v.kind == ValueKind::kNumber && !c.operands.empty() && v.num > c.operands[0].num;
    case Condition::Op::kLt:
      return v.kind == ValueKind::kNumber && !c.operands.empty() && v.num < c.operands[0].num;
    case Condition::Op::kExists: {
      bool present = v.kind != ValueKind::kMissing &&
                     !(v.kind == ValueKind::kStringList && (!v.list || v.list->empty()));
      bool want = c.operands.empty() || c.operands[0].b;
      return present == want;
    }
    case Condition::Op::kCidr: {
      std::array<uint8_t, 16> ip;
      if (v.kind != ValueKind::kString || !ParseIp(v.str, &ip)) return false;
      for (const Cidr& cidr : c.cidrs)
        if (InCidr(ip, cidr)) return true;
      return false;
    }
    default: return false;
  }
}

}  // namespace

std::string Literal::ToString() const {
  switch (kind) {
    case ValueKind::kBool: return b ? "true" : "false";
    case ValueKind::kNumber: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", num);
      return buf;
    }
    default: return "\"" + str + "\"";
  }
}

namespace {

// A dotted-quad IPv4 address as inet_pton reads it (four decimal parts of
// 0-255, no leading zeros), as an IPv4-mapped IPv6 address, without
// copying it into a C string first; false for anything else.
bool ParseDottedQuad(std::string_view s, std::array<uint8_t, 16>* out) {
  std::array<uint8_t, 16> a{};
  a[10] = a[11] = 0xff;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0 && (i >= s.size() || s[i++] != '.')) return false;
    const size_t start = i;
    unsigned v = 0;
    while (i < s.size() && i - start < 3 && s[i] >= '0' && s[i] <= '9')
      v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    if (i == start || v > 255 || (s[start] == '0' && i - start > 1)) return false;
    a[12 + part] = static_cast<uint8_t>(v);
  }
  if (i != s.size()) return false;
  *out = a;
  return true;
}

}  // namespace

bool ParseIp(std::string_view text, std::array<uint8_t, 16>* out) {
  if (ParseDottedQuad(text, out)) return true;  // the usual case, without libc
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) != 1) return false;
    out->fill(0);
    (*out)[10] = (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) != 1) return false;
  std::memcpy(out->data(), &v6, 16);
  return true;
}

bool ParseCidr(std::string_view text, Cidr* out) {
  size_t slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  if (!ParseIp(addr, &out->addr)) return false;
  bool v4 = addr.find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    bits = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      bits = bits * 10 + (c - '0');
    }
    if (bits > max_bits) return false;
  }
  out->prefix_bits = v4 ? bits + 96 : bits;
  out->text = std::string(text);
  return true;
}

bool Evaluate(const Condition& c, const EvalContext& ctx, std::string* trace) {
  switch (c.op) {
    case Condition::Op::kAll: {
      size_t mark = trace ? trace->size() : 0;
      for (const Condition& child : c.children) {
        if (!Evaluate(child, ctx, trace)) {
          if (trace) trace->resize(mark);
          return false;
        }
      }
      return true;
    }
    case Condition::Op::kAny:
      for (const Condition& child : c.children)
        if (Evaluate(child, ctx, trace)) return true;
      return false;
    case Condition::Op::kNot: {
      if (c.children.empty()) return false;
      if (Evaluate(c.children[0], ctx, nullptr)) return false;
      if (trace) {
        if (!trace->empty()) trace->append("; ");
        trace->append(Describe(c) + " holds");
      }
      return true;
    }
    default: {
      Value v = ReadField(c.field, ctx);
      if (!EvaluateLeaf(c, v)) return false;
      if (trace) {
        if (!trace->empty()) trace->append("; ");
        trace->append(c.field.name + " = " + v.ToString() + " (" + Describe(c).substr(c.field.name.size() + 1) + ")");
      }
      return true;
    }
  }
}

}  // namespace tosgate::engine
