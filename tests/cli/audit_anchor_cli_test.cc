// tosgate audit verify --anchor and export-anchor on the binary, and serve's
// audit.anchor: a store whose tail was cut at a checkpoint, or whose records
// were rewritten with every checkpoint deleted, verifies without an anchor
// (verify says it cannot tell) and fails with one.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>

#include "run_support.h"
#include "storage/audit/anchor.h"
#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "storage/audit/signing.h"
#include "storage/audit/postgres/sink.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/storage/postgres_audit_fixture.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;
namespace storage = tosgate::storage;

namespace {

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << msg);
}

std::string Hex(const std::string& b) {
  static const char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

// 25 decisions signed every 10 and at Close (10, 20, 25), with the anchor
// file written by the sink as serve's audit.anchor does.
struct Store {
  std::string dir = TempDir();
  std::string db = dir + "/audit.db";
  std::string key = dir + "/k.pem";
  std::string anchor = dir + "/anchor.json";
  Store() {
    REQUIRE(RunTosgate("audit keygen --out " + key).exit_code == 0);
    auto sink =
        storage::SqliteAuditSink::Open({.path = db,
                                        .signing_key_path = key,
                                        .checkpoint_every = 10,
                                        .anchor = std::make_shared<storage::AnchorFile>(anchor)});
    REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
    for (int i = 1; i <= 25; ++i) {
      tosgate::engine::AuditRecord r;
      r.id = "d" + std::to_string(i);
      r.account = "acct_" + std::to_string(i % 3);
      r.time_ms = 1764331200000 + i;
      r.effect = tosgate::Effect::kAllow;
      REQUIRE((*sink)->Submit(r).ok());
    }
    REQUIRE((*sink)->Close().ok());
  }
  // Recomputes every hash from seq 1, as an attacker would after an edit.
  void Rechain() {
    storage::DecisionQuery all;
    all.limit = 0;
    auto rows = storage::ReadDecisions(db, all);
    REQUIRE(rows.ok());
    std::string prev = storage::AuditGenesisHash();
    for (const auto& d : *rows) {
      const std::string h = storage::AuditChainHash(prev, d.seq, d.record);
      Sql(db, "UPDATE decisions SET prev_hash = x'" + Hex(prev) + "', hash = x'" + Hex(h) +
                  "' WHERE seq = " + std::to_string(d.seq));
      prev = h;
    }
  }
};

}  // namespace

TEST_CASE("audit verify --anchor passes an intact store and names the anchored checkpoint") {
  Store s;
  auto r = RunTosgate("audit verify --db " + s.db + " --anchor " + s.anchor);
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("anchored checkpoint at seq 25 present") != std::string::npos);
  CHECK(r.out.find("no --anchor") == std::string::npos);

  auto blind = RunTosgate("audit verify --db " + s.db);
  CHECK(blind.exit_code == 0);
  CHECK(blind.out.find("note: no --anchor: records cut from the end at a checkpoint") !=
        std::string::npos);
}

TEST_CASE("audit verify --anchor fails a tail cut at a checkpoint; without it verify cannot tell") {
  Store s;
  Sql(s.db, "DELETE FROM decisions WHERE seq > 20; DELETE FROM checkpoints WHERE seq > 20");
  auto blind = RunTosgate("audit verify --db " + s.db);
  CHECK(blind.exit_code == 0);
  CHECK(blind.out.find("cannot be told from an intact store") != std::string::npos);

  auto r = RunTosgate("audit verify --db " + s.db + " --anchor " + s.anchor);
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.out.find("TAMPERED: the store ends at seq 20, before the anchored checkpoint "
                           "at seq 25: records at the end were deleted") != std::string::npos,
                r.out);
}

TEST_CASE("audit verify --anchor fails records rewritten with every checkpoint deleted") {
  Store s;
  Sql(s.db, "UPDATE decisions SET account = 'nobody' WHERE seq = 3");
  s.Rechain();
  Sql(s.db, "DELETE FROM checkpoints");
  auto blind = RunTosgate("audit verify --db " + s.db);
  CHECK_MESSAGE(blind.exit_code == 0, blind.out);
  CHECK(blind.out.find("note: no signed checkpoints") != std::string::npos);

  auto r = RunTosgate("audit verify --db " + s.db + " --anchor " + s.anchor);
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.out.find("TAMPERED: seq 25 does not have the anchored hash: the records up to "
                           "it were rewritten") != std::string::npos,
                r.out);
}

TEST_CASE("audit export-anchor writes the latest checkpoint and never covers a cut") {
  Store s;
  const std::string out = s.dir + "/exported.json";
  auto r =
      RunTosgate("audit export-anchor --db " + s.db + " --public-key " + s.key + " --out " + out);
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("wrote " + out + ": seq 25, signed by key ") != std::string::npos);
  auto exported = storage::ReadAnchorFile(out);
  REQUIRE(exported.ok());
  auto written = storage::ReadAnchorFile(s.anchor);
  REQUIRE(written.ok());
  CHECK(exported->seq == written->seq);
  CHECK(exported->hash == written->hash);
  CHECK(exported->signature == written->signature);

  // Cut at checkpoint 20: exporting over the old anchor would hide the cut.
  Sql(s.db, "DELETE FROM decisions WHERE seq > 20; DELETE FROM checkpoints WHERE seq > 20");
  auto cover = RunTosgate("audit export-anchor --db " + s.db + " --out " + out);
  CHECK(cover.exit_code == 1);
  CHECK(cover.out.find("not exporting an anchor of a store that does not verify") !=
        std::string::npos);
  auto still = storage::ReadAnchorFile(out);
  REQUIRE(still.ok());
  CHECK(still->seq == 25);

  auto none = RunTosgate("audit export-anchor --db " + s.db);
  CHECK(none.exit_code == 2);
  CHECK(none.out.find("export-anchor needs --out FILE") != std::string::npos);
}

TEST_CASE("audit verify --anchor: an unreadable or foreign anchor is a usage error") {
  Store s;
  WriteFile(s.dir + "/junk.json", "{\"seq\": 3}");
  auto junk = RunTosgate("audit verify --db " + s.db + " --anchor " + s.dir + "/junk.json");
  CHECK(junk.exit_code == 2);
  CHECK(junk.out.find("not a tosgate audit anchor") != std::string::npos);
  auto missing = RunTosgate("audit verify --db " + s.db + " --anchor " + s.dir + "/none.json");
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.find("no anchor file") != std::string::npos);
}

TEST_CASE("serve: audit.anchor needs a signing key, and a store cut behind it stops serve") {
  Store s;
  const std::string dir = s.dir;
  WriteFile(dir + "/nokey.yaml", "audit: {path: " + s.db + ", anchor: " + s.anchor + "}\n");
  auto nokey = RunTosgate("serve --config " + dir + "/nokey.yaml");
  CHECK(nokey.exit_code == 2);
  CHECK_MESSAGE(nokey.out.find("audit.anchor: needs signing_key") != std::string::npos, nokey.out);

  Sql(s.db, "DELETE FROM decisions WHERE seq > 20; DELETE FROM checkpoints WHERE seq > 20");
  WriteFile(dir + "/c.yaml",
            "listen: {gateway: 127.0.0.1:0, admin: 127.0.0.1:0}\n"
            "admin: {db: " +
                dir +
                "/admin.db}\n"
                "audit: {path: " +
                s.db + ", signing_key: " + s.key + ", anchor: " + s.anchor + "}\n");
  auto cut = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(cut.exit_code == 1);
  CHECK_MESSAGE(cut.out.find("does not match its anchor file " + s.anchor) != std::string::npos,
                cut.out);
}

TEST_CASE("audit verify --dsn --anchor fails a cut instance; export-anchor --dsn writes its head") {
  auto* pg = tosgate::test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = tosgate::test::FreshAuditDb(*pg);
  const std::string dir = TempDir(), anchor = dir + "/gw-1.json";
  {
    storage::PostgresAuditOptions o;
    o.dsn = dsn;
    o.instance = "gw-1";
    o.anchor = std::make_shared<storage::AnchorFile>(anchor);
    o.anchor_every = 4;
    auto sink = storage::PostgresAuditSink::Open(o);
    REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
    for (int i = 1; i <= 10; ++i) {
      tosgate::engine::AuditRecord r;
      r.id = "d" + std::to_string(i);
      r.effect = tosgate::Effect::kAllow;
      REQUIRE((*sink)->Submit(r).ok());
    }
    REQUIRE((*sink)->Close().ok());
  }
  const std::string q = "'" + dsn + "'";
  auto ok = RunTosgate("audit verify --dsn " + q + " --anchor " + anchor);
  CHECK_MESSAGE(ok.exit_code == 0, ok.out);
  CHECK(ok.out.find("note: instance gw-1 was checked against its anchor (seq 10)") !=
        std::string::npos);

  const std::string exported = dir + "/exported.json";
  auto ex = RunTosgate("audit export-anchor --dsn " + q + " --instance gw-1 --out " + exported);
  CHECK_MESSAGE(ex.exit_code == 0, ex.out);
  CHECK(ex.out.find("wrote " + exported + ": instance gw-1 seq 10") != std::string::npos);
  CHECK(storage::ReadAnchorFile(exported)->hash == storage::ReadAnchorFile(anchor)->hash);

  auto c = tosgate::test::ConnectOrFail(dsn);
  tosgate::test::Exec(c.get(), "DELETE FROM tosgate_decisions WHERE seq > 6");
  CHECK(RunTosgate("audit verify --dsn " + q).exit_code == 0);
  auto cut = RunTosgate("audit verify --dsn " + q + " --anchor " + anchor);
  CHECK(cut.exit_code == 1);
  CHECK_MESSAGE(cut.out.find("TAMPERED: instance gw-1 seq 7 to 10 are missing: the chain ends at "
                             "seq 6, before the anchored seq 10") != std::string::npos,
                cut.out);
  auto cover = RunTosgate("audit export-anchor --dsn " + q + " --instance gw-1 --out " + exported);
  CHECK(cover.exit_code == 1);
  auto wrong = RunTosgate("audit verify --db " + dir + "/x.db --anchor " + anchor);
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.out.find("is a PostgreSQL instance's anchor (give --dsn)") != std::string::npos);
}
