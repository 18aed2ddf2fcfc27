// Verifying a fleet's PostgreSQL audit store: every instance's chain on its
// own, tampering named by instance and seq.
#include "storage/audit/postgres/verify.h"

#include <doctest/doctest.h>

#include "storage/audit/postgres/sink.h"
#include "storage/audit/postgres/query.h"
#include "tests/storage/postgres_audit_fixture.h"

namespace tosgate::storage {
namespace {

using test::FleetInstances;
using test::kFleetPerInstance;

const InstanceVerdict* Find(const FleetVerdict& v, const std::string& instance) {
  for (const auto& iv : v.instances)
    if (iv.instance == instance) return &iv;
  return nullptr;
}

FleetVerdict VerifyOrFail(const std::string& dsn, const PostgresVerifyOptions& opts = {}) {
  auto v = VerifyPostgresAuditStore(dsn, opts);
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  return std::move(v.value());
}

TEST_CASE("VerifyPostgresAuditStore: three intact instances verify, each on its own") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  test::InsertFleet(dsn);
  uint64_t last_done = 0, last_total = 0;
  const FleetVerdict v = VerifyOrFail(dsn, {.progress = [&](uint64_t done, uint64_t total) {
                                        last_done = done;
                                        last_total = total;
                                      }});
  CHECK(v.ok);
  CHECK(v.records == 3 * kFleetPerInstance);
  CHECK(last_done == v.records);
  CHECK(last_total == v.records);
  REQUIRE(v.instances.size() == 3);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(v.instances[k].instance == FleetInstances()[k]);
    CHECK(v.instances[k].verdict.ok);
    CHECK(v.instances[k].verdict.records == kFleetPerInstance);
    CHECK(v.instances[k].verdict.last_seq == kFleetPerInstance);
  }
  CHECK_FALSE(v.notes.empty());  // no checkpoints in PostgreSQL: said

  const FleetVerdict one = VerifyOrFail(dsn, {.instance = FleetInstances()[2]});
  REQUIRE(one.instances.size() == 1);
  CHECK(one.instances[0].instance == FleetInstances()[2]);
  CHECK(one.records == kFleetPerInstance);
  auto unknown = VerifyPostgresAuditStore(dsn, {.instance = "gw-z"});
  CHECK(unknown.status().code() == Status::Code::kNotFound);
}

TEST_CASE("VerifyPostgresAuditStore names the instance and seq of an edited record") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  test::InsertFleet(dsn);
  auto c = test::ConnectOrFail(dsn);
  test::Exec(c.get(),
             "UPDATE tosgate_decisions SET reason = 'nothing to see' "
             "WHERE instance = $1 AND seq = 7",
             {FleetInstances()[1]});
  const FleetVerdict v = VerifyOrFail(dsn);
  CHECK_FALSE(v.ok);
  const InstanceVerdict* b = Find(v, FleetInstances()[1]);
  REQUIRE(b);
  CHECK_FALSE(b->verdict.ok);
  CHECK(b->verdict.bad_seq == 7);
  CHECK(b->verdict.bad_id == "d1_6");
  CHECK(b->verdict.problem == "seq 7 (decision d1_6): its contents do not match its hash: edited");
  CHECK(b->verdict.records == 6);
  // The other chains are checked to the end and are fine.
  CHECK(Find(v, FleetInstances()[0])->verdict.ok);
  CHECK(Find(v, FleetInstances()[2])->verdict.ok);
  CHECK(Find(v, FleetInstances()[2])->verdict.records == kFleetPerInstance);
}

TEST_CASE(
    "VerifyPostgresAuditStore names the gap a deleted record leaves, and a record slipped in") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  test::InsertFleet(dsn);
  auto c = test::ConnectOrFail(dsn);
  test::Exec(c.get(), "DELETE FROM tosgate_decisions WHERE instance = $1 AND seq = 5",
             {FleetInstances()[0]});
  // In another instance, seq 9 onwards moved up by one to make room for a
  // forged record at seq 9 that chains correctly to seq 8; the old seq 9
  // (now 10) still names seq 8's hash as its prev_hash.
  test::Exec(c.get(),
             "UPDATE tosgate_decisions SET seq = seq + 1000 WHERE instance = $1 AND seq >= 9",
             {FleetInstances()[2]});
  test::Exec(c.get(),
             "UPDATE tosgate_decisions SET seq = seq - 999 WHERE instance = $1 AND seq > 1000",
             {FleetInstances()[2]});
  const std::string prev8 = test::Exec(
      c.get(), "SELECT encode(hash, 'hex') FROM tosgate_decisions WHERE instance = $1 AND seq = 8",
      {FleetInstances()[2]});
  std::string prev;
  for (size_t i = 0; i < prev8.size(); i += 2)
    prev += static_cast<char>(std::stoi(prev8.substr(i, 2), nullptr, 16));
  AuditRow forged = test::FleetRow(2, 8);
  forged.id = "forged";
  test::InsertChain(c.get(), FleetInstances()[2], {forged}, 9, prev);

  const FleetVerdict v = VerifyOrFail(dsn);
  CHECK_FALSE(v.ok);
  const auto& a = Find(v, FleetInstances()[0])->verdict;
  CHECK_FALSE(a.ok);
  CHECK(a.bad_seq == 5);
  CHECK(a.problem.rfind("seq 5 is missing: deleted", 0) == 0);
  CHECK(Find(v, FleetInstances()[1])->verdict.ok);
  const auto& cc = Find(v, FleetInstances()[2])->verdict;
  CHECK_FALSE(cc.ok);
  CHECK(cc.bad_seq == 9);
  CHECK(cc.bad_id == "forged");
  CHECK(cc.problem.find("inserted") != std::string::npos);
}

TEST_CASE(
    "records written by PostgresAuditSink from three instances verify and read back in fleet "
    "order") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  constexpr int kEach = 300;
  {
    std::vector<std::unique_ptr<PostgresAuditSink>> sinks;
    for (const std::string& inst : FleetInstances()) {
      auto s = PostgresAuditSink::Open({.dsn = dsn, .instance = inst, .max_batch = 64});
      REQUIRE_MESSAGE(s.ok(), s.status().ToString());
      sinks.push_back(std::move(s.value()));
    }
    // Interleaved, with shared milliseconds, awkward text and a NaN risk.
    for (int i = 0; i < kEach; ++i) {
      for (size_t k = 0; k < sinks.size(); ++k) {
        engine::AuditRecord r = test::FleetRecord(k, i % kFleetPerInstance);
        r.id = "s" + std::to_string(k) + "_" + std::to_string(i);
        r.time_ms = test::kFleetT0 + i / 3;
        r.risk = i % 7 == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / (i + 1);
        REQUIRE(sinks[k]->Submit(r).ok());
      }
    }
    for (auto& s : sinks) REQUIRE(s->Close().ok());
  }
  const FleetVerdict v = VerifyOrFail(dsn);
  CHECK(v.ok);
  CHECK(v.records == 3 * kEach);
  REQUIRE(v.instances.size() == 3);
  for (const auto& iv : v.instances) CHECK(iv.verdict.last_seq == kEach);

  auto q = PostgresAuditQuery::Open(dsn);
  REQUIRE(q.ok());
  std::vector<std::string> got;
  REQUIRE((*q)->ForEach({},
                        [&](const StoredDecision& d) {
                          got.push_back(d.record.id);
                          return true;
                        })
              .ok());
  std::vector<std::string> want;
  for (int t = 0; t * 3 < kEach; ++t)  // per millisecond: instances a, b, c, each in seq order
    for (size_t k = 0; k < 3; ++k)
      for (int i = t * 3; i < std::min(kEach, t * 3 + 3); ++i)
        want.push_back("s" + std::to_string(k) + "_" + std::to_string(i));
  CHECK(got == want);
}

}  // namespace
}  // namespace tosgate::storage
