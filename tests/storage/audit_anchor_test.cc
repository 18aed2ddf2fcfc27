// The anchor: the latest signed checkpoint kept outside the store, and what
// verify and the gateway do with it. Each attack here verifies without an
// anchor (the old behaviour) and fails with one.
#include "storage/audit/anchor.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audit_test_support.h"
#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/signing.h"
#include "storage/audit/verify.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::OpenSink;
using audit_test::RawSql;
using audit_test::Rec;

constexpr int64_t kT0 = 1764331200000;

bool HasNote(const AuditVerdict& v, const std::string& text) {
  for (const std::string& n : v.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// 35 records signed every 10 and at Close (checkpoints 10, 20, 30, 35),
// each published to an anchor file.
struct AnchoredStore {
  test::TempDir dir;
  std::string path = dir.File("audit.db");
  std::string key_path = dir.File("signing.pem");
  std::string anchor_path = dir.File("anchor.json");
  AuditKey key = [this] {
    REQUIRE(GenerateKey(key_path).ok());
    auto k = LoadPrivateKey(key_path);
    REQUIRE(k.ok());
    return std::move(k).value();
  }();

  AnchoredStore() { Append(1, 35); }

  SqliteAuditOptions Options() {
    return {.path = path,
            .signing_key_path = key_path,
            .checkpoint_every = 10,
            .anchor = std::make_shared<AnchorFile>(anchor_path)};
  }

  void Append(int from, int to) {
    auto sink = OpenSink(Options());
    for (int i = from; i <= to; ++i)
      REQUIRE(sink->Submit(Rec("r-" + std::to_string(i), kT0 + i * 1000)).ok());
    REQUIRE(sink->Close().ok());
  }

  AuditCheckpoint Anchor() {
    auto a = ReadAnchorFile(anchor_path);
    REQUIRE_MESSAGE(a.ok(), a.status().ToString());
    return std::move(a).value();
  }

  AuditVerdict Verify(const AuditCheckpoint* anchor) {
    auto v = VerifyAuditStore(path, {.public_key = &key, .anchor = anchor});
    REQUIRE_MESSAGE(v.ok(), v.status().ToString());
    return std::move(v).value();
  }

  void Rechain(uint64_t seq) { audit_test::Rechain(path, seq); }
};

TEST_CASE("the anchor file holds the latest committed checkpoint, signed") {
  AnchoredStore s;
  const AuditCheckpoint a = s.Anchor();
  CHECK(a.store == "sqlite");
  CHECK(a.seq == 35);
  CHECK(a.key_id == s.key.key_id());
  CHECK(s.key.Verify(a.seq, a.hash, a.signature));
  CHECK(CountSql(s.path, "SELECT count(*) FROM decisions WHERE seq = 35 AND hash = x'" +
                             ToHex(a.hash) + "'") == 1);
  CHECK(!std::filesystem::exists(s.anchor_path + ".tmp"));
}

TEST_CASE("the anchor file is replaced by rename, never rewritten in place") {
  AnchoredStore s;
  struct stat before {};
  REQUIRE(stat(s.anchor_path.c_str(), &before) == 0);
  s.Append(36, 40);  // checkpoint at 40 (every 10)
  struct stat after {};
  REQUIRE(stat(s.anchor_path.c_str(), &after) == 0);
  CHECK(s.Anchor().seq == 40);
  // A new inode: the reader of the path saw the old document or the new one.
  CHECK(before.st_ino != after.st_ino);
}

TEST_CASE("an anchor that cannot be written leaves the old one whole, is counted and retried") {
  AnchoredStore s;
  // The temporary file's name taken by a directory: the write fails.
  std::filesystem::create_directory(s.anchor_path + ".tmp");
  auto sink = OpenSink(s.Options());
  for (int i = 36; i <= 40; ++i) REQUIRE(sink->Submit(Rec("r-" + std::to_string(i))).ok());
  REQUIRE(sink->Flush().ok());
  CHECK(sink->stats().anchor_errors >= 1);
  CHECK(s.Anchor().seq == 35);  // the old document, intact
  std::filesystem::remove(s.anchor_path + ".tmp");
  REQUIRE(sink->Submit(Rec("r-41")).ok());  // the next commit retries
  REQUIRE(sink->Flush().ok());
  CHECK(s.Anchor().seq == 40);
  REQUIRE(sink->Close().ok());
  CHECK(s.Anchor().seq == 41);
}

// A sink that records what it is given, checking each time that the
// checkpoint is already committed (visible to another connection).
struct CommittedCheck final : CheckpointSink {
  std::string db;
  std::vector<uint64_t> seen;
  bool all_committed = true;
  Status Publish(const AuditCheckpoint& cp) override {
    seen.push_back(cp.seq);
    all_committed = all_committed && CountSql(db, "SELECT count(*) FROM checkpoints WHERE seq = " +
                                                      std::to_string(cp.seq)) == 1;
    return Status::Ok();
  }
  Result<std::optional<AuditCheckpoint>> Latest() const override {
    return std::optional<AuditCheckpoint>();
  }
  std::string Describe() const override { return "test sink"; }
};

TEST_CASE("a checkpoint is published only after the transaction holding it committed") {
  test::TempDir dir;
  const std::string key_path = dir.File("k.pem");
  REQUIRE(GenerateKey(key_path).ok());
  auto check = std::make_shared<CommittedCheck>();
  check->db = dir.File("audit.db");
  auto sink = OpenSink({.path = check->db,
                        .max_batch = 4,
                        .signing_key_path = key_path,
                        .checkpoint_every = 5,
                        .anchor = check});
  for (int i = 1; i <= 12; ++i) REQUIRE(sink->Submit(Rec("r-" + std::to_string(i))).ok());
  REQUIRE(sink->Close().ok());
  REQUIRE(!check->seen.empty());
  CHECK(check->seen.back() == 12);  // the one signed at Close
  CHECK(check->all_committed);
}

TEST_CASE("an intact store verifies against its anchor") {
  AnchoredStore s;
  const AuditCheckpoint a = s.Anchor();
  const AuditVerdict v = s.Verify(&a);
  CHECK_MESSAGE(v.ok, v.problem);
  CHECK(v.anchored_seq == 35);
  CHECK(!HasNote(v, "cannot be told"));
}

TEST_CASE("records rewritten, chain recomputed, every checkpoint deleted: only the anchor tells") {
  AnchoredStore s;
  const AuditCheckpoint a = s.Anchor();
  RawSql(s.path, "UPDATE decisions SET account = 'someone-else' WHERE seq = 7");
  s.Rechain(7);
  RawSql(s.path, "DELETE FROM checkpoints");

  const AuditVerdict blind = s.Verify(nullptr);
  CHECK_MESSAGE(blind.ok, blind.problem);  // the chain is consistent again
  CHECK(HasNote(blind, "cannot be told from an intact store"));
  CHECK(HasNote(blind, "no signed checkpoints"));

  const AuditVerdict v = s.Verify(&a);
  CHECK(!v.ok);
  CHECK(v.bad_seq == 35);
  CHECK_MESSAGE(v.problem.find("rewritten") != std::string::npos, v.problem);
}

TEST_CASE("the tail cut at a checkpoint fails against the anchor") {
  AnchoredStore s;
  const AuditCheckpoint a = s.Anchor();
  RawSql(s.path, "DELETE FROM decisions WHERE seq > 30; DELETE FROM checkpoints WHERE seq > 30");

  const AuditVerdict blind = s.Verify(nullptr);
  CHECK_MESSAGE(blind.ok, blind.problem);  // what verify could not see before
  CHECK(HasNote(blind, "cut from the end"));

  const AuditVerdict v = s.Verify(&a);
  CHECK(!v.ok);
  CHECK_MESSAGE(
      v.problem.find("the store ends at seq 30, before the anchored checkpoint at seq 35") !=
          std::string::npos,
      v.problem);
}

TEST_CASE("an anchored checkpoint deleted or replaced fails against the anchor") {
  AnchoredStore s;
  const AuditCheckpoint a = s.Anchor();
  SUBCASE("deleted") {
    RawSql(s.path, "DELETE FROM checkpoints WHERE seq = 35");
    const AuditVerdict v = s.Verify(&a);
    CHECK(!v.ok);
    CHECK_MESSAGE(v.problem.find("checkpoints were deleted") != std::string::npos, v.problem);
  }
  SUBCASE("replaced by one another key signed (not checked without --public-key)") {
    const std::string other = s.dir.File("other.pem");
    REQUIRE(GenerateKey(other).ok());
    auto k = LoadPrivateKey(other);
    REQUIRE(k.ok());
    auto sig = k->Sign(35, a.hash);
    REQUIRE(sig.ok());
    RawSql(s.path, "UPDATE checkpoints SET signature = x'" + ToHex(*sig) + "' WHERE seq = 35");
    auto v = VerifyAuditStore(s.path, {.anchor = &a});
    REQUIRE(v.ok());
    CHECK(!v->ok);
    CHECK_MESSAGE(v->problem.find("differs from the anchored one") != std::string::npos,
                  v->problem);
  }
}

TEST_CASE("an anchor the public key did not sign is refused") {
  AnchoredStore s;
  AuditCheckpoint a = s.Anchor();
  a.signature[0] = static_cast<char>(a.signature[0] ^ 1);
  const AuditVerdict v = s.Verify(&a);
  CHECK(!v.ok);
  CHECK_MESSAGE(v.problem.find("the anchor's signature") != std::string::npos, v.problem);
}

TEST_CASE("the gateway refuses to continue a store cut behind its anchor") {
  AnchoredStore s;
  RawSql(s.path, "DELETE FROM decisions WHERE seq > 30; DELETE FROM checkpoints WHERE seq > 30");
  auto sink = SqliteAuditSink::Open(s.Options());
  REQUIRE(!sink.ok());
  CHECK_MESSAGE(sink.status().message().find("does not match its anchor file") != std::string::npos,
                sink.status().message());
  CHECK(sink.status().message().find("before the anchored checkpoint at seq 35") !=
        std::string::npos);
  CHECK(s.Anchor().seq == 35);  // untouched
}

TEST_CASE("an intact store reopens with its anchor and the anchor advances") {
  AnchoredStore s;
  s.Append(36, 52);
  CHECK(s.Anchor().seq == 52);
  const AuditCheckpoint a = s.Anchor();
  CHECK(s.Verify(&a).ok);
}

TEST_CASE("an anchor file added to an existing store starts from its latest checkpoint") {
  AnchoredStore s;
  std::filesystem::remove(s.anchor_path);
  auto sink = OpenSink(s.Options());
  CHECK(s.Anchor().seq == 35);  // at once, before any new record
  REQUIRE(sink->Close().ok());
}

TEST_CASE("an anchor needs a signing key on an SQLite store") {
  test::TempDir dir;
  auto sink = SqliteAuditSink::Open(
      {.path = dir.File("a.db"), .anchor = std::make_shared<AnchorFile>(dir.File("anchor.json"))});
  REQUIRE(!sink.ok());
  CHECK(sink.status().message().find("needs a signing key") != std::string::npos);
}

TEST_CASE("anchor documents round-trip and junk is refused with the file named") {
  AuditCheckpoint cp;
  cp.seq = 1000;
  cp.hash = std::string(32, '\x5a');
  cp.signature = std::string(64, '\x01');
  cp.key_id = "0123456789abcdef";
  cp.signed_at_ms = kT0;
  auto back = ParseAnchor(AnchorJson(cp), "a.json");
  REQUIRE(back.ok());
  CHECK(back->seq == 1000);
  CHECK(back->hash == cp.hash);
  CHECK(back->signature == cp.signature);
  CHECK(back->key_id == cp.key_id);
  CHECK(back->signed_at_ms == kT0);
  for (const char* junk : {"", "{}", "[1]", "{\"format\":\"tosgate.audit.anchor.v1\"}",
                           "{\"format\":\"tosgate.audit.anchor.v1\",\"store\":\"sqlite\",\"seq\":"
                           "-1,\"hash\":\"00\"}"}) {
    auto r = ParseAnchor(junk, "a.json");
    CHECK_MESSAGE(!r.ok(), junk);
    if (!r.ok()) CHECK(r.status().message().rfind("a.json: not a tosgate audit anchor", 0) == 0);
  }
  test::TempDir dir;
  CHECK(ReadAnchorFile(dir.File("missing.json")).status().code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace tosgate::storage
