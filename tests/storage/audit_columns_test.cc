// Golden bytes of the audit record's columns: what the engine's record
// becomes in a store. The literals were captured from the code as it was
// before the record was typed (the engine wrote these columns as text then), and the hash
// chain of every existing database depends on them: a change here is a
// change of the stored format, never a refactor.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/rules/token_budget.h"
#include "storage/audit/reader.h"
#include "storage/audit/row.h"
#include "storage/audit/sqlite/sink.h"
#include "temp_dir.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

namespace tosgate::storage {
namespace {

using engine::Condition;

struct RecordingSink : engine::AuditSink {
  std::vector<engine::AuditRecord> records;
  Status Submit(engine::AuditRecord r) override {
    records.push_back(std::move(r));
    return Status::Ok();
  }
};

// The three columns the engine used to write as text, as the stores render
// them now.
struct Columns {
  std::string effect, rule_ids, matches;
};
Columns Of(const engine::AuditRecord& r) {
  AuditRow row = ToAuditRow(r);
  return {row.effect, row.rule_ids, row.matches};
}

std::string Hex(const std::string& raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) out += {kHex[c >> 4], kHex[c & 0xf]};
  return out;
}

// A value with every kind of byte JSON escapes or passes through.
const std::string kOdd = "tr\"ain\\ing\x01\t\xc3\xa9/\xe2\x80\xa6";

std::unique_ptr<engine::Rule> Odd(std::string id, Action a, RuleMode m = RuleMode::kEnforce) {
  return test::Attribute(std::move(id), test::Leaf("request.purpose", Condition::Op::kEq, test::Str(kOdd)),
                         a, m);
}

// 1000 tokens a minute per account: an admission a usage report settles.
std::unique_ptr<engine::Rule> Budget() {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, 1000, 60'000'000'000};
  auto c = test::Common("tpm", Action::kThrottle);
  c.kind = "token_budget";
  engine::TokenBudgetOptions o;
  o.count = engine::TokenCount::kTotal;
  o.reservation_ttl_ns = 60'000'000'000;
  engine::ScopeItem account;
  account.name = "account";
  return std::make_unique<engine::TokenBudgetRule>(c, std::vector{account}, std::move(limits), o);
}

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  RecordingSink sink;
  engine::Engine engine{{&clock, state.get(), &sink, nullptr}};

  void Publish(std::vector<std::unique_ptr<engine::Rule>> rules) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->revision = "rev-golden";
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    for (auto& r : rules) snap->rules.push_back(std::move(r));
    engine.Publish(std::move(snap));
  }
};

// Stores `records` in a fresh SQLite store and reads them back.
std::vector<StoredDecision> StoreAndRead(const std::vector<engine::AuditRecord>& records) {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE(sink.ok());
    for (const engine::AuditRecord& r : records) REQUIRE((*sink)->Submit(r).ok());
    REQUIRE((*sink)->Close().ok());
  }
  auto rows = ReadDecisions(path);
  REQUIRE_MESSAGE(rows.ok(), rows.status().ToString());
  return std::move(rows).value();
}

constexpr std::string_view kDenyRules = R"(["deny.a","deny.b"])";
constexpr std::string_view kDenyMatches =
    R"g([{"rule":"deny.a","action":"deny","shadow":false,"detail":"request.purpose = \"tr\"ain\\ing\u0001\té/…\" (eq \"tr\"ain\\ing\u0001\té/…\")"},)g"
    R"g({"rule":"shadow.review","action":"review","shadow":true,"detail":"request.purpose = \"tr\"ain\\ing\u0001\té/…\" (eq \"tr\"ain\\ing\u0001\té/…\")"},)g"
    R"g({"rule":"review.c","action":"review","shadow":false,"detail":"request.purpose = \"tr\"ain\\ing\u0001\té/…\" (eq \"tr\"ain\\ing\u0001\té/…\")"},)g"
    R"g({"rule":"flag.d","action":"flag","shadow":false,"detail":"request.purpose = \"tr\"ain\\ing\u0001\té/…\" (eq \"tr\"ain\\ing\u0001\té/…\")"},)g"
    R"g({"rule":"deny.b","action":"deny","shadow":false,"detail":"request.purpose = \"tr\"ain\\ing\u0001\té/…\" (eq \"tr\"ain\\ing\u0001\té/…\")"}])g";

TEST_CASE("audit columns: a decision's effect, rule ids and matches are stored as they always were") {
  Fixture f;
  std::vector<std::unique_ptr<engine::Rule>> rules;
  rules.push_back(Odd("deny.a", Action::kDeny));
  rules.push_back(Odd("shadow.review", Action::kReview, RuleMode::kShadow));
  rules.push_back(Odd("review.c", Action::kReview));
  rules.push_back(Odd("flag.d", Action::kFlag));
  rules.push_back(Odd("deny.b", Action::kDeny));
  f.Publish(std::move(rules));
  Request req = test::ChatRequest("acct-golden");
  req.purpose = kOdd;
  req.request_id = "req-1";
  req.body.prompt_text = "hello";
  (void)f.engine.Check(req);
  (void)f.engine.Check(test::ChatRequest("acct-golden"));  // an allow: no rules, no matches
  REQUIRE(f.sink.records.size() == 2);
  f.sink.records[0].id = "golden-deny";  // decision ids are random
  f.sink.records[1].id = "golden-allow";

  const Columns deny = Of(f.sink.records[0]);
  CHECK(deny.effect == "deny");
  CHECK(deny.rule_ids == kDenyRules);
  CHECK(deny.matches == kDenyMatches);
  const Columns allow = Of(f.sink.records[1]);
  CHECK(allow.effect == "allow");
  CHECK(allow.rule_ids == "[]");
  CHECK(allow.matches == "[]");

  // What the store holds, and the chain over it.
  const std::vector<StoredDecision> rows = StoreAndRead(f.sink.records);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].record.effect == "deny");
  CHECK(rows[0].record.rule_ids == kDenyRules);
  CHECK(rows[0].record.matches == kDenyMatches);
  CHECK(Hex(rows[0].hash) == "5f8c7c518f200f32309e3ed90142c88ff433cdd1dbb383a55ad4d82aa7c38f99");
  CHECK(rows[1].record.rule_ids == "[]");
  CHECK(rows[1].record.matches == "[]");
  CHECK(Hex(rows[1].hash) == "5596e823ffb91e4ba3fd92fcd25d9d3affe6622e6c8419e656134473eda717d6");
}

TEST_CASE("audit columns: a usage report's record is stored as it always was") {
  Fixture f;
  std::vector<std::unique_ptr<engine::Rule>> rules;
  rules.push_back(Budget());
  f.Publish(std::move(rules));
  Request req = test::ChatRequest("acct-golden");
  req.body.max_tokens = 400;
  const Decision d = f.engine.Check(req);
  REQUIRE(f.engine.ReportUsage(d.decision_id, {12, -1}).ok());
  REQUIRE(f.sink.records.size() == 2);
  engine::AuditRecord usage = f.sink.records[1];
  const Columns c = Of(usage);
  CHECK(c.effect == "usage");
  CHECK(c.rule_ids == "[]");
  CHECK(c.matches == R"([{"rule":"usage-report","action":"flag","shadow":false,"detail":"decision )" +
                         d.decision_id + R"(: input_tokens 12, output_tokens not reported"}])");
  // Fixed ids, so that the hash is too.
  usage.id = "golden.usage";
  REQUIRE(usage.matches.size() == 1);
  std::string& detail = usage.matches[0].detail;
  detail.replace(detail.find(d.decision_id), d.decision_id.size(), "golden");
  const std::vector<StoredDecision> rows = StoreAndRead({usage});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].record.effect == "usage");
  CHECK(rows[0].record.matches == R"([{"rule":"usage-report","action":"flag","shadow":false,"detail":"decision golden: input_tokens 12, output_tokens not reported"}])");
  CHECK(Hex(rows[0].hash) == "d91aa93044486abaf43271237ab4b2397e79efbaf533766cfe040c5c901039f5");
}

}  // namespace
}  // namespace tosgate::storage
