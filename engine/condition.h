// The condition tree of attribute rules: all/any/not over comparisons.
//
// Built once by the policy compiler, evaluated many times; a Condition is
// immutable after construction and may be evaluated from many threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/field.h"

namespace tosgate::engine {

// A constant written in the policy.
struct Literal {
  ValueKind kind = ValueKind::kString;  // kBool, kNumber or kString
  bool b = false;
  double num = 0;
  std::string str;
  std::string ToString() const;
};

// An address range for `cidr`, IPv4 addresses stored as v4-mapped IPv6.
struct Cidr {
  std::array<uint8_t, 16> addr{};
  int prefix_bits = 0;  // out of 128
  std::string text;
};
// Parses "10.0.0.0/8", "2001:db8::/32" or a single address.
bool ParseCidr(std::string_view text, Cidr* out);
// Parses an IPv4 or IPv6 address into 16 bytes (v4 as ::ffff:a.b.c.d).
bool ParseIp(std::string_view text, std::array<uint8_t, 16>* out);

struct Condition {
  enum class Op : uint8_t { kAll, kAny, kNot, kEq, kIn, kGt, kLt, kExists, kCidr };
  Op op = Op::kAll;
  std::vector<Condition> children;  // kAll, kAny, kNot (one child)
  FieldRef field;                   // comparisons
  std::vector<Literal> operands;    // kEq, kGt, kLt: one; kIn: many; kExists: one bool
  std::vector<Cidr> cidrs;          // kCidr
};

// Evaluates `c`. When it holds and `trace` is given, appends a readable
// account of the comparisons that made it hold ("body.n = 4 (gt 1)").
bool Evaluate(const Condition& c, const EvalContext& ctx, std::string* trace);

}  // namespace tosgate::engine
