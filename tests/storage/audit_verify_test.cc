// Tampering with a real audit store by raw SQL, and what verify says.
#include "storage/audit/verify.h"

#include <doctest/doctest.h>

#include <string>

#include "audit_test_support.h"
#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/signing.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::OpenSink;
using audit_test::RawSql;
using audit_test::Rec;

constexpr int64_t kT0 = 1764331200000;

// A store of 35 records r-1..r-35 (seq i has time kT0 + i s), signed every
// 10 and at Close: checkpoints at 10, 20, 30 and 35.
struct Store {
  test::TempDir dir;
  std::string path = dir.File("audit.db");
  std::string key_path = dir.File("signing.pem");
  AuditKey key = [this] {
    REQUIRE(GenerateKey(key_path).ok());
    auto k = LoadPrivateKey(key_path);
    REQUIRE(k.ok());
    return std::move(k).value();
  }();

  Store() { Append(1, 35); }

  void Append(int from, int to) {
    auto sink = OpenSink({.path = path, .signing_key_path = key_path, .checkpoint_every = 10});
    for (int i = from; i <= to; ++i)
      REQUIRE(sink->Submit(Rec("r-" + std::to_string(i), kT0 + i * 1000)).ok());
    REQUIRE(sink->Close().ok());
  }

  AuditVerdict Verify(const AuditKey* k = nullptr) {
    auto v = VerifyAuditStore(path, {.public_key = k ? k : &key});
    REQUIRE_MESSAGE(v.ok(), v.status().ToString());
    return std::move(v).value();
  }

  void Rechain(uint64_t seq) { audit_test::Rechain(path, seq); }
};

TEST_CASE("an untouched signed store verifies, every checkpoint signature checked") {
  Store s;
  const AuditVerdict v = s.Verify();
  CHECK_MESSAGE(v.ok, v.problem);
  CHECK(v.records == 35);
  CHECK(v.last_seq == 35);
  CHECK(v.checkpoints == 4);
  CHECK(v.signatures == 4);
  // Only that, without an anchor, a cut tail could not have been seen.
  REQUIRE(v.notes.size() == 1);
  CHECK(v.notes[0].find("no --anchor") == 0);
  CHECK(CountSql(s.path, "SELECT count(*) FROM checkpoints") == 4);
}

TEST_CASE("each kind of tampering is found and the first bad record named") {
  Store s;
  SUBCASE("an edited field") {
    RawSql(s.path, "UPDATE decisions SET effect = 'deny' WHERE seq = 17");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 17);
    CHECK(v.bad_id == "r-17");
    CHECK(v.problem.find("edited") != std::string::npos);
  }
  SUBCASE("an edited field with its hash recomputed") {
    RawSql(s.path, "UPDATE decisions SET effect = 'deny', status = 403 WHERE seq = 17");
    DecisionQuery q;
    q.limit = 0;
    auto rows = ReadDecisions(s.path, q);
    REQUIRE(rows.ok());
    const std::string h = AuditChainHash((*rows)[15].hash, 17, (*rows)[16].record);
    RawSql(s.path, "UPDATE decisions SET hash = x'" + ToHex(h) + "' WHERE seq = 17");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 18);  // the link from 18 breaks
    CHECK(v.bad_id == "r-18");
  }
  SUBCASE("an edit with the whole rest of the chain recomputed: the checkpoint catches it") {
    RawSql(s.path, "UPDATE decisions SET effect = 'deny' WHERE seq = 17");
    s.Rechain(17);
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 20);
    CHECK(v.problem.find("checkpoint") != std::string::npos);
  }
  SUBCASE("a deleted record") {
    RawSql(s.path, "DELETE FROM decisions WHERE seq = 17");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 17);
    CHECK(v.bad_id == "r-18");  // the next one present
    CHECK(v.problem.find("seq 17 is missing") != std::string::npos);
  }
  SUBCASE("records deleted at the end") {
    RawSql(s.path, "DELETE FROM decisions WHERE seq >= 34");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 35);
    CHECK(v.problem.find("at the end were deleted") != std::string::npos);
  }
  SUBCASE("an inserted record with a correctly computed hash") {
    RawSql(s.path,
           "UPDATE decisions SET seq = -seq WHERE seq >= 17;"
           "UPDATE decisions SET seq = 1 - seq WHERE seq < 0;"
           "INSERT INTO decisions SELECT 17, 'forged', time_ms, request_id, account, key_id, org, "
           "client_ip, method, path, operation, model, effect, enforced, status, reason, "
           "rule_ids, matches, risk, policy_revision, prompt_sha256, latency_us, prev_hash, hash "
           "FROM decisions WHERE seq = 16;");
    DecisionQuery q;
    q.limit = 0;
    auto rows = ReadDecisions(s.path, q);
    REQUIRE(rows.ok());
    const std::string h = AuditChainHash((*rows)[15].hash, 17, (*rows)[16].record);
    RawSql(s.path, "UPDATE decisions SET prev_hash = x'" + ToHex((*rows)[15].hash) +
                       "', hash = x'" + ToHex(h) + "' WHERE seq = 17");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 17);
    CHECK(v.bad_id == "forged");
    CHECK(v.problem.find("inserted") != std::string::npos);
  }
  SUBCASE("two records swapped") {
    RawSql(s.path,
           "UPDATE decisions SET seq = -12 WHERE seq = 12;"
           "UPDATE decisions SET seq = 12 WHERE seq = 13;"
           "UPDATE decisions SET seq = 13 WHERE seq = -12;");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 12);
    CHECK(v.bad_id == "r-13");
    CHECK(v.problem.find("reordered") != std::string::npos);
  }
}

TEST_CASE("a checkpoint signature that does not verify is tampering") {
  Store s;
  SUBCASE("another key") {
    test::TempDir other_dir;
    const std::string other = other_dir.File("other.pem");
    REQUIRE(GenerateKey(other).ok());
    auto k = LoadPublicKey(other);
    REQUIRE(k.ok());
    const AuditVerdict v = s.Verify(&*k);
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 10);
    CHECK(v.problem.find("does not verify with the given public key") != std::string::npos);
    CHECK(v.problem.find(s.key.key_id()) != std::string::npos);
  }
  SUBCASE("a forged signature") {
    RawSql(s.path, "UPDATE checkpoints SET signature = zeroblob(64) WHERE seq = 20");
    const AuditVerdict v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 20);
  }
  SUBCASE("without a public key the hashes are still compared, with a note") {
    auto v = VerifyAuditStore(s.path);
    REQUIRE(v.ok());
    CHECK(v->ok);
    CHECK(v->signatures == 0);
    CHECK(v->checkpoints == 4);
    REQUIRE(v->notes.size() == 2);
    CHECK(v->notes[0].find("no --anchor") == 0);
    CHECK(v->notes[1].find("signatures not checked") != std::string::npos);
  }
}

TEST_CASE("prune stores an anchor; verify and the writer continue from it") {
  Store s;
  auto r = PruneAuditStore(s.path, kT0 + 15 * 1000);  // seq 1..14 are older
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->pruned == 14);
  CHECK(r->anchor_seq == 14);
  CHECK(CountSql(s.path, "SELECT min(seq) FROM decisions") == 15);
  AuditVerdict v = s.Verify();
  CHECK_MESSAGE(v.ok, v.problem);
  CHECK(v.start_seq == 15);
  CHECK(v.records == 21);
  CHECK(v.checkpoints == 3);

  // Pruning again at the same time changes nothing.
  r = PruneAuditStore(s.path, kT0 + 15 * 1000);
  REQUIRE(r.ok());
  CHECK(r->pruned == 0);

  s.Append(36, 40);
  v = s.Verify();
  CHECK_MESSAGE(v.ok, v.problem);
  CHECK(v.records == 26);

  SUBCASE("deleting the first record after the anchor is found") {
    RawSql(s.path, "DELETE FROM decisions WHERE seq = 15");
    v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 15);
  }
  SUBCASE("everything pruned, then the writer continues the chain from the anchor") {
    r = PruneAuditStore(s.path, kT0 + 1000 * 1000);
    REQUIRE(r.ok());
    CHECK(r->pruned == 26);
    CHECK(r->anchor_seq == 40);
    s.Append(41, 42);
    v = s.Verify();
    CHECK_MESSAGE(v.ok, v.problem);
    CHECK(v.start_seq == 41);
    CHECK(v.records == 2);
  }
  SUBCASE("a forged anchor does not match the chain") {
    RawSql(s.path, "UPDATE meta SET value = '" + std::string(64, '0') + "' WHERE key = 'anchor_hash'");
    v = s.Verify();
    CHECK_FALSE(v.ok);
    CHECK(v.bad_seq == 15);
  }
}

}  // namespace
}  // namespace tosgate::storage
