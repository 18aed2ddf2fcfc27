// Builders shared by the engine tests: hand-made rules and snapshots.
#pragma once

#include <memory>
#include <string>

#include "engine/condition.h"
#include "engine/engine.h"
#include "engine/rules/attribute.h"
#include "engine/rules/rate_limit.h"

namespace tosgate::test {

inline engine::Condition Leaf(const std::string& field, engine::Condition::Op op,
                              engine::Literal lit) {
  engine::Condition c;
  c.op = op;
  c.field = *engine::ResolveField(field);
  c.operands.push_back(std::move(lit));
  return c;
}
inline engine::Literal Str(std::string s) {
  engine::Literal l;
  l.kind = engine::ValueKind::kString;
  l.str = std::move(s);
  return l;
}
inline engine::Literal Num(double d) {
  engine::Literal l;
  l.kind = engine::ValueKind::kNumber;
  l.num = d;
  return l;
}
inline engine::Literal Bool(bool b) {
  engine::Literal l;
  l.kind = engine::ValueKind::kBool;
  l.b = b;
  return l;
}

inline engine::RuleCommon Common(std::string id, Action action, RuleMode mode = RuleMode::kEnforce) {
  engine::RuleCommon c;
  c.id = id;
  c.action = action;
  c.mode = mode;
  c.reason = id + "-reason";
  return c;
}

inline std::unique_ptr<engine::Rule> Attribute(std::string id, engine::Condition when,
                                               Action action = Action::kDeny,
                                               RuleMode mode = RuleMode::kEnforce) {
  return std::make_unique<engine::AttributeRule>(Common(std::move(id), action, mode), std::move(when));
}

inline std::unique_ptr<engine::Rule> PerAccountLimit(std::string id, int64_t requests, int64_t per_s,
                                                     RuleMode mode = RuleMode::kEnforce) {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, requests, per_s * 1'000'000'000};
  engine::ScopeItem account;
  account.name = "account";
  auto c = Common(std::move(id), Action::kThrottle, mode);
  c.kind = "rate_limit";
  return std::make_unique<engine::RateLimitRule>(c, std::vector{account}, std::move(limits), 0);
}

inline Request ChatRequest(std::string account = "a1", std::string tier = "free") {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.client_ip = "203.0.113.7";
  Account a;
  a.id = std::move(account);
  a.tier = std::move(tier);
  a.org = "o1";
  r.account = a;
  return r;
}

}  // namespace tosgate::test
