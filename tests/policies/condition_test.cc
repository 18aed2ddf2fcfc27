// `when:` trees compile into the engine's Condition with the right shape and
// literal types, and the compiled trees decide requests as written.
#include <doctest/doctest.h>

#include "engine/condition.h"
#include "policies/condition_compiler.h"
#include "test_support.h"

using namespace tosgate;
using engine::Condition;
using engine::ValueKind;

namespace {

// Compiles `when` written as YAML; errors land in `errors`.
bool CompileWhen(const std::string& yaml, Condition* out, std::vector<policies::Diagnostic>* errors) {
  YAML::Node node = YAML::Load(yaml);
  policies::Context ctx("w.yaml", errors);
  return policies::CompileCondition(ctx, policies::Field{node, "when", node.Mark()}, out);
}

Condition MustCompile(const std::string& yaml) {
  std::vector<policies::Diagnostic> errors;
  Condition c;
  const bool ok = CompileWhen(yaml, &c, &errors);
  for (const auto& d : errors) INFO(d.ToString());
  REQUIRE(ok);
  REQUIRE(errors.empty());
  return c;
}

bool Eval(const Condition& c, const Request& r, std::string* trace = nullptr) {
  engine::EvalContext ctx{r, *r.account, r.operation, 0, 0};
  return engine::Evaluate(c, ctx, trace);
}

Request ChatWithAccount() {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.client_ip = "203.0.113.7";
  r.account = Account{};
  r.account->id = "a1";
  r.account->tier = "free";
  return r;
}

}  // namespace

TEST_CASE("all/any/not and comparisons compile into the same tree") {
  Condition c = MustCompile(
      "all:\n"
      "  - {field: body.logprobs, eq: true}\n"
      "  - any: [{field: body.n, gt: 1}, {field: request.purpose, in: [a, b]}]\n"
      "  - not: {field: request.client_ip, cidr: [10.0.0.0/8, '2001:db8::/32']}\n"
      "  - {field: body.max_tokens, exists: false}\n");
  REQUIRE(c.op == Condition::Op::kAll);
  REQUIRE(c.children.size() == 4);

  const Condition& eq = c.children[0];
  CHECK(eq.op == Condition::Op::kEq);
  CHECK(eq.field.id == engine::FieldId::kBodyLogprobs);
  REQUIRE(eq.operands.size() == 1);
  CHECK(eq.operands[0].kind == ValueKind::kBool);
  CHECK(eq.operands[0].b);

  const Condition& any = c.children[1];
  REQUIRE(any.op == Condition::Op::kAny);
  REQUIRE(any.children.size() == 2);
  CHECK(any.children[0].op == Condition::Op::kGt);
  CHECK(any.children[0].operands[0].kind == ValueKind::kNumber);
  CHECK(any.children[0].operands[0].num == 1);
  CHECK(any.children[1].op == Condition::Op::kIn);
  REQUIRE(any.children[1].operands.size() == 2);
  CHECK(any.children[1].operands[1].kind == ValueKind::kString);
  CHECK(any.children[1].operands[1].str == "b");

  const Condition& negate = c.children[2];
  REQUIRE(negate.op == Condition::Op::kNot);
  REQUIRE(negate.children.size() == 1);
  CHECK(negate.children[0].op == Condition::Op::kCidr);
  REQUIRE(negate.children[0].cidrs.size() == 2);
  CHECK(negate.children[0].cidrs[0].prefix_bits == 96 + 8);
  CHECK(negate.children[0].cidrs[1].prefix_bits == 32);

  const Condition& exists = c.children[3];
  CHECK(exists.op == Condition::Op::kExists);
  CHECK(exists.operands[0].kind == ValueKind::kBool);
  CHECK_FALSE(exists.operands[0].b);
}

TEST_CASE("the field decides the literal's type") {
  // Text fields take any scalar as text, so a version header can be 2.
  Condition header = MustCompile("{field: request.header.X-Version, eq: 2}");
  CHECK(header.field.header == "x-version");
  CHECK(header.operands[0].kind == ValueKind::kString);
  CHECK(header.operands[0].str == "2");
  Condition number = MustCompile("{field: body.max_tokens, lt: 4096.5}");
  CHECK(number.operands[0].kind == ValueKind::kNumber);
  CHECK(number.operands[0].num == 4096.5);
  Condition flags = MustCompile("{field: account.flags, eq: research-partner}");
  CHECK(flags.operands[0].kind == ValueKind::kString);

  std::vector<policies::Diagnostic> errors;
  Condition c;
  CHECK_FALSE(CompileWhen("{field: body.logprobs, eq: 'true'}", &c, &errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].ToString() ==
        "w.yaml:1:28: when.eq: body.logprobs is a boolean (true or false), got the string \"true\"");
}

TEST_CASE("errors in several branches of one tree are all reported") {
  std::vector<policies::Diagnostic> errors;
  Condition c;
  CHECK_FALSE(CompileWhen("any:\n  - {field: body.nn, eq: 1}\n  - {field: body.n, gt: x}\n"
                          "  - {field: request.client_ip, cidr: 300.1.1.1}\n  - 5\n",
                          &c, &errors));
  std::string all;
  for (const auto& d : errors) all += d.ToString() + "\n";
  INFO(all);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].ToString().rfind("w.yaml:2:13: when.any[0].field: unknown field \"body.nn\"", 0) == 0);
  CHECK(errors[1].ToString() == "w.yaml:3:25: when.any[1].gt: body.n is a number, got \"x\"");
  CHECK(errors[2].ToString().rfind("w.yaml:4:38: when.any[2].cidr: bad address range \"300.1.1.1\"", 0) == 0);
  CHECK(errors[3].ToString() == "w.yaml:5:5: when.any[3]: expected a map, got \"5\"");
}

TEST_CASE("compiled conditions decide requests as written") {
  Condition extraction =
      MustCompile("all: [{field: body.logprobs, eq: true}, {field: body.logit_bias_count, gt: 0}]");
  Request r = ChatWithAccount();
  r.body.present = true;
  r.body.logprobs = true;
  CHECK_FALSE(Eval(extraction, r));
  r.body.logit_bias_count = 3;
  std::string trace;
  CHECK(Eval(extraction, r, &trace));
  CHECK(trace == "body.logprobs = true (eq true); body.logit_bias_count = 3 (gt 0)");

  Condition purpose = MustCompile("{field: request.purpose, in: [model-training, distillation]}");
  r.purpose = "distillation";
  CHECK(Eval(purpose, r));
  r.purpose = "chatbot";
  CHECK_FALSE(Eval(purpose, r));

  Condition outside = MustCompile("{not: {field: request.client_ip, cidr: [203.0.113.0/24]}}");
  CHECK_FALSE(Eval(outside, r));
  r.client_ip = "198.51.100.1";
  CHECK(Eval(outside, r));

  Condition suspended = MustCompile("{field: account.suspended, eq: true}");
  CHECK_FALSE(Eval(suspended, r));
  r.account->suspended = true;
  CHECK(Eval(suspended, r));
}
