// Attacks on the audit trail by someone who can write the store: rewriting
// records and recomputing the chain, deleting the signed checkpoints that
// would catch it, cutting the tail at a checkpoint; and filling every record
// with a huge model name. Issue 19, "Audit". Through the storage API and
// the real `tosgate audit verify` binary.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>

#include "engine/engine.h"
#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/signing.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/adversarial/assumed_names.h"
#include "tests/storage/temp_dir.h"
#include "tosgate/clock.h"
#if __has_include("storage/audit/anchor.h")
#include "storage/audit/anchor.h"
#define TOSGATE_HAS_AUDIT_ANCHOR 1
#endif

namespace tosgate::test {
namespace {

constexpr int64_t kT0 = 1767225600000;

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// Runs `tosgate <args>` (the binary this build made) with stdin closed.
RunResult RunTosgate(const std::string& args) {
  const std::string cmd = std::string(TOSGATE_BINARY) + " " + args + " </dev/null 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

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

engine::AuditRecord Rec(int i) {
  engine::AuditRecord r;
  r.id = "adv-" + std::to_string(i);
  r.time_ms = kT0 + i * 1000;
  r.account = "acct-good";
  r.client_ip = "203.0.113.7";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.effect = i == 17 ? Effect::kDeny : Effect::kAllow;
  r.status = i == 17 ? 403 : 200;
  r.reason = i == 17 ? "prohibited-weapons" : "";
  if (i == 17) r.rule_ids = {"prohibited.cbrn-weapons"};
  return r;
}

// A signed store of 35 records (checkpoints at 10, 20, 30 and 35) and the
// anchor: its latest checkpoint, kept outside the store.
struct Store {
  TempDir dir;
  std::string db = dir.File("audit.db");
  std::string key = dir.File("signing.pem");
  std::string anchor = dir.File("anchor.json");

  Store() {
    REQUIRE(storage::GenerateKey(key).ok());
    storage::SqliteAuditOptions o;
    o.path = db;
    o.signing_key_path = key;
    o.checkpoint_every = 10;
#ifdef TOSGATE_HAS_AUDIT_ANCHOR
    // Where an operator keeps the latest checkpoint, off the store's reach.
    o.anchor = std::make_shared<storage::AnchorFile>(anchor);
#else
    FAIL("storage/audit/anchor.h is missing: no way to keep a checkpoint outside the store");
#endif
    auto sink = storage::SqliteAuditSink::Open(o);
    REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
    for (int i = 1; i <= 35; ++i) REQUIRE((*sink)->Submit(Rec(i)).ok());
    REQUIRE((*sink)->Close().ok());
    REQUIRE_MESSAGE(std::filesystem::exists(anchor), "the store published no anchor");
  }

  // Rewrites hash and prev_hash from `seq` on, as an attacker who knows the
  // chain format would after editing a record.
  void Rechain(uint64_t seq) {
    storage::DecisionQuery all;
    all.limit = 0;
    auto rows = storage::ReadDecisions(db, all);
    REQUIRE(rows.ok());
    std::string prev;
    for (const storage::StoredDecision& d : *rows) {
      if (d.seq < seq) {
        prev = d.hash;
        continue;
      }
      const std::string h = storage::AuditChainHash(prev, d.seq, d.record);
      Sql(db, "UPDATE decisions SET prev_hash = x'" + storage::ToHex(prev) + "', hash = x'" +
                  storage::ToHex(h) + "' WHERE seq = " + std::to_string(d.seq));
      prev = h;
    }
  }

  RunResult Verify() { return RunTosgate(assumed::VerifyWithAnchorArgs(db, key, anchor)); }
};

TEST_CASE("audit: an untouched store verifies against its anchor") {
  Store s;
  RunResult r = s.Verify();
  CHECK_MESSAGE(r.exit_code == 0, r.out);
}

TEST_CASE(
    "audit: a rewritten record, the chain recomputed and every checkpoint deleted, fails verify") {
  Store s;
  // The denial at seq 17 becomes an allow; the chain is made whole again and
  // the checkpoints that would disagree are removed.
  Sql(s.db,
      "UPDATE decisions SET effect = 'allow', status = 200, reason = '', rule_ids = '[]' "
      "WHERE seq = 17");
  s.Rechain(17);
  Sql(s.db, "DELETE FROM checkpoints");
  RunResult r = s.Verify();
  CHECK_MESSAGE(r.exit_code == 1, r.out);
  CHECK(r.out.find("TAMPERED") != std::string::npos);
}

TEST_CASE("audit: the tail cut at a checkpoint fails verify") {
  Store s;
  // Nothing dangles: the store ends at seq 30, which its checkpoint signs.
  Sql(s.db, "DELETE FROM decisions WHERE seq > 30; DELETE FROM checkpoints WHERE seq > 30");
  RunResult r = s.Verify();
  CHECK_MESSAGE(r.exit_code == 1, r.out);
  CHECK(r.out.find("TAMPERED") != std::string::npos);
}

TEST_CASE("audit: the whole store replaced by an older copy fails verify") {
  Store s;
  // Everything from seq 21 on, checkpoints included: a restored backup.
  Sql(s.db, "DELETE FROM decisions WHERE seq > 20; DELETE FROM checkpoints WHERE seq > 20");
  RunResult r = s.Verify();
  CHECK_MESSAGE(r.exit_code == 1, r.out);
}

TEST_CASE("audit: a 100 KB model name, request id and path are stored bounded") {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  storage::SqliteAuditOptions o;
  o.path = db;
  auto sink = storage::SqliteAuditSink::Open(o);
  REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
  FakeClock clock{kT0};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine e(engine::EngineOptions{&clock, state.get(), sink->get(), nullptr});
  e.Publish(std::make_shared<engine::PolicySnapshot>());

  const std::string huge(100 * 1024, 'x');
  Request req;
  req.method = "POST";
  req.path = "/v1/" + huge;
  req.request_id = "req-" + huge;
  req.body.present = true;
  req.body.model = "gpt-" + huge;
  e.Check(req);
  REQUIRE((*sink)->Flush().ok());
  auto rows = storage::ReadDecisions(db);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const storage::AuditRow& rec = (*rows)[0].record;
  // Bounded, and still saying what it was the start of.
  for (const auto& [name, stored, prefix] :
       {std::tuple{"model", rec.model, std::string("gpt-x")},
        std::tuple{"request_id", rec.request_id, std::string("req-x")},
        std::tuple{"path", rec.path, std::string("/v1/x")}}) {
    INFO(name << " stored as " << stored.size() << " bytes");
    CHECK(stored.size() <= 4096);
    CHECK(stored.rfind(prefix, 0) == 0);
    CHECK(stored.find(assumed::kCutMarker) != std::string::npos);
  }
  REQUIRE((*sink)->Close().ok());
}

}  // namespace
}  // namespace tosgate::test
