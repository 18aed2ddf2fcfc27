// An engine with a hand-made policy for the api tests: a declared purpose of
// model-training is denied, and each account may make 2 requests a minute.
#pragma once

#include <map>
#include <memory>

#include "engine/condition.h"
#include "engine/engine.h"
#include "engine/rules/attribute.h"
#include "engine/rules/rate_limit.h"
#include "tosgate/clock.h"

namespace tosgate::test {

inline std::shared_ptr<engine::PolicySnapshot> TestSnapshot() {
  auto snap = std::make_shared<engine::PolicySnapshot>();
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  snap->revision = "rev-test-1";
  snap->name = "api-test";

  engine::RuleCommon deny;
  deny.id = "purpose.no-model-training";
  deny.kind = "attribute";
  deny.action = Action::kDeny;
  deny.reason = "competitor-training-declared";
  engine::Condition when;
  when.op = engine::Condition::Op::kEq;
  when.field = *engine::ResolveField("request.purpose");
  engine::Literal lit;
  lit.kind = engine::ValueKind::kString;
  lit.str = "model-training";
  when.operands.push_back(lit);
  snap->rules.push_back(std::make_unique<engine::AttributeRule>(deny, std::move(when)));

  engine::RuleCommon rate;
  rate.id = "rate.rpm";
  rate.kind = "rate_limit";
  rate.action = Action::kThrottle;
  rate.reason = "rate-limited";
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, 2, int64_t{60} * 1'000'000'000};
  engine::ScopeItem account;
  account.name = "account";
  snap->rules.push_back(
      std::make_unique<engine::RateLimitRule>(rate, std::vector{account}, std::move(limits), 0));

  engine::OperationDef chat;
  chat.name = "chat";
  chat.methods = {"POST"};
  chat.paths = {"/v1/chat/completions"};
  snap->operations.push_back(chat);
  return snap;
}

struct TestEngine {
  FakeClock clock{1'764'331'200'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  explicit TestEngine(bool publish = true) {
    if (publish) engine.Publish(TestSnapshot());
  }
};

}  // namespace tosgate::test
