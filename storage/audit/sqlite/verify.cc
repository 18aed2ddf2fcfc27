#include "storage/audit/verify.h"

#include <algorithm>
#include <map>
#include <optional>

#include "storage/audit/anchor.h"
#include "storage/audit/sqlite/anchor_check.h"
#include "storage/audit/chain.h"
#include "storage/audit/chain_check.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/signing.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

struct Checkpoint {
  std::string hash, signature, key_id;
};

Result<SqliteDb> OpenStore(const std::string& path, bool writable) {
  sqlite3* raw = nullptr;
  const int flags = (writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, path, "cannot open the audit store");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  auto st = Prepare(raw, "PRAGMA user_version", path, "reading the file");
  if (!st.ok()) return st.status();
  rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(raw, rc, path, "reading the schema version");
  const int64_t version = sqlite3_column_int64(st->get(), 0);
  st->reset();
  if (version > kAuditSchemaVersion) {
    return Status::InvalidArgument(path + ": audit store schema version " +
                                   std::to_string(version) +
                                   " is newer than this tosgate understands (" +
                                   std::to_string(kAuditSchemaVersion) + ")");
  }
  auto has = HasTable(raw, path, "decisions");
  if (!has.ok()) return has.status();
  if (version != kAuditSchemaVersion || !*has)
    return Status::InvalidArgument(path + ": not a tosgate audit store");
  return db;
}

Result<std::map<uint64_t, Checkpoint>> ReadCheckpoints(sqlite3* db, const std::string& path) {
  std::map<uint64_t, Checkpoint> out;
  auto has = HasTable(db, path, "checkpoints");
  if (!has.ok()) return has.status();
  if (!*has) return out;
  auto st = Prepare(db, "SELECT seq, hash, signature, key_id FROM checkpoints ORDER BY seq", path);
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    out[static_cast<uint64_t>(sqlite3_column_int64(st->get(), 0))] =
        Checkpoint{ColumnBlob(st->get(), 1), ColumnBlob(st->get(), 2), ColumnText(st->get(), 3)};
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, path, "reading checkpoints");
  return out;
}

}  // namespace

namespace {

// What a clean verdict still cannot vouch for, said in words.
void AddNotes(const AuditVerifyOptions& opts, uint64_t last_signed, AuditVerdict* verdict) {
  AuditVerdict& v = *verdict;
  if (opts.anchor) {
    if (opts.anchor->seq < v.start_seq) {
      v.notes.push_back("the anchored checkpoint (seq " + std::to_string(opts.anchor->seq) +
                        ") was pruned: the anchor cannot tell whether records after it were cut; "
                        "export a newer anchor");
    }
  } else if (v.records > 0) {
    v.notes.push_back(
        "no --anchor: records cut from the end at a checkpoint, or rewritten with every "
        "checkpoint deleted, cannot be told from an intact store; keep the latest checkpoint "
        "outside it (audit.anchor, `tosgate audit export-anchor`) and verify with --anchor FILE");
  }
  if (v.records > 0 && v.checkpoints == 0) {
    v.notes.push_back("no signed checkpoints: the chain alone does not stop someone who "
                      "rewrites records and recomputes every hash");
  }
  if (!opts.public_key) {
    v.notes.push_back("signatures not checked (no --public-key); checkpoint hashes were compared "
                      "with the chain");
  }
  if (v.records > 0 && last_signed < v.last_seq) {
    v.notes.push_back("seq " + std::to_string(std::max(last_signed + 1, v.start_seq)) + " to " +
                      std::to_string(v.last_seq) +
                      " are after the last checkpoint: the chain links them, no signature "
                      "covers them yet");
  }
}

// The anchor kept outside the store against the store: false (with the
// failure in `check`'s verdict) when it does not match.
Result<bool> CheckAnchor(sqlite3* db, const std::string& path, const AuditVerifyOptions& opts,
                         const AuditCheckpoint& a, AuditChainCheck* check) {
  if (opts.public_key && !a.signature.empty() &&
      !opts.public_key->Verify(a.seq, a.hash, a.signature)) {
    check->Fail(a.seq, "",
                "the anchor's signature (seq " + std::to_string(a.seq) +
                    ") does not verify with the given public key: it is not an anchor this "
                    "key made");
    return false;
  }
  auto problem = AnchorProblem(db, path, a);
  if (!problem.ok()) return problem.status();
  if (!problem->empty()) {
    check->Fail(a.seq, "", *problem);
    return false;
  }
  check->verdict().anchored_seq = a.seq;
  return true;
}

}  // namespace

Result<AuditVerdict> VerifyAuditStore(const std::string& path, const AuditVerifyOptions& opts) {
  auto opened = OpenStore(path, false);
  if (!opened.ok()) return opened.status();
  sqlite3* db = opened->get();
  // One read transaction: a consistent snapshot while a writer appends.
  if (Status s = Exec(db, "BEGIN", path); !s.ok()) return s;

  auto anchor = ReadAuditAnchor(db, path);
  if (!anchor.ok()) return anchor.status();
  const uint64_t start_seq = *anchor ? (*anchor)->seq + 1 : 1;
  AuditChainCheck check(start_seq, *anchor ? (*anchor)->hash : AuditGenesisHash(),
                        ": is at or before the prune anchor (seq " + std::to_string(start_seq - 1) +
                            ") and should not exist: inserted");
  AuditVerdict& v = check.verdict();
  auto cps = ReadCheckpoints(db, path);
  if (!cps.ok()) return cps.status();

  uint64_t total = 0;
  {
    auto st = Prepare(db, "SELECT count(*) FROM decisions", path);
    if (!st.ok()) return st.status();
    if (sqlite3_step(st->get()) == SQLITE_ROW)
      total = static_cast<uint64_t>(sqlite3_column_int64(st->get(), 0));
  }

  auto st = Prepare(db, "SELECT " + DecisionColumns(db) + " FROM decisions ORDER BY seq",
                    path);
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    const StoredDecision d = ReadDecisionRow(st->get());
    const std::string& id = d.record.id;
    if (!check.Add(d)) return v;
    if (auto cp = cps->find(d.seq); cp != cps->end()) {
      ++v.checkpoints;
      if (cp->second.hash != check.last_hash()) {
        check.Fail(d.seq, id,
                   "the checkpoint at " + AuditRecordName(d.seq, id) +
                       " does not match the chain: the records up to it were rewritten");
        return v;
      }
      if (opts.public_key) {
        if (!opts.public_key->Verify(d.seq, check.last_hash(), cp->second.signature)) {
          check.Fail(d.seq, id,
                     "the checkpoint at " + AuditRecordName(d.seq, id) +
                         " has a signature that does not verify with the given public key (key "
                         "id " + opts.public_key->key_id() + ", the checkpoint names " +
                         cp->second.key_id + ")");
          return v;
        }
        ++v.signatures;
      }
    }
    if (opts.progress && v.records % 65536 == 0) opts.progress(v.records, total);
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, path, "reading decisions");
  if (opts.progress) opts.progress(v.records, total);

  uint64_t last_signed = 0;
  for (const auto& [seq, cp] : *cps) {
    if (seq < v.start_seq) continue;  // a checkpoint of pruned records
    if (seq > v.last_seq) {
      check.Fail(seq, "",
                 "seq " + std::to_string(seq) +
                     " is signed by a checkpoint but not in the store (the last record is seq " +
                     std::to_string(v.last_seq) + "): records at the end were deleted");
      return v;
    }
    last_signed = seq;
  }
  v.last_hash = check.last_hash();
  if (opts.anchor) {
    auto anchored = CheckAnchor(db, path, opts, *opts.anchor, &check);
    if (!anchored.ok()) return anchored.status();
    if (!*anchored) return v;
  }
  AddNotes(opts, last_signed, &v);
  return v;
}

Result<std::optional<AuditCheckpoint>> ReadLatestCheckpoint(const std::string& path) {
  auto opened = OpenStore(path, false);
  if (!opened.ok()) return opened.status();
  if (Status s = Exec(opened->get(), "BEGIN", path); !s.ok()) return s;
  return LatestCheckpoint(opened->get(), path);
}

Result<AuditPruneResult> PruneAuditStore(const std::string& path, int64_t before_ms) {
  auto opened = OpenStore(path, true);
  if (!opened.ok()) return opened.status();
  sqlite3* db = opened->get();
  if (Status s = Exec(db, "BEGIN IMMEDIATE", path); !s.ok()) return s;
  auto fail = [db](Status s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  AuditPruneResult r;
  auto anchor = ReadAuditAnchor(db, path);
  if (!anchor.ok()) return fail(anchor.status());
  if (*anchor) r.anchor_seq = (*anchor)->seq;

  // The last seq before the first record that is not old enough.
  auto cut_st = Prepare(db,
                        "SELECT coalesce((SELECT min(seq) FROM decisions WHERE time_ms >= ?1) - 1, "
                        "(SELECT max(seq) FROM decisions), 0)",
                        path);
  if (!cut_st.ok()) return fail(cut_st.status());
  sqlite3_bind_int64(cut_st->get(), 1, before_ms);
  if (sqlite3_step(cut_st->get()) != SQLITE_ROW)
    return fail(SqliteStatus(db, sqlite3_errcode(db), path, "finding what to prune"));
  const uint64_t cut = static_cast<uint64_t>(sqlite3_column_int64(cut_st->get(), 0));
  cut_st->reset();
  if (cut <= r.anchor_seq) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return r;
  }

  auto hash_st = Prepare(db, "SELECT hash FROM decisions WHERE seq = ?1", path);
  if (!hash_st.ok()) return fail(hash_st.status());
  sqlite3_bind_int64(hash_st->get(), 1, static_cast<sqlite3_int64>(cut));
  if (sqlite3_step(hash_st->get()) != SQLITE_ROW) {
    return fail(Status::InvalidArgument(path + ": seq " + std::to_string(cut) +
                                        " is missing; run `tosgate audit verify` first"));
  }
  AuditAnchor next{cut, ColumnBlob(hash_st->get(), 0)};
  hash_st->reset();
  if (next.hash.size() != kAuditHashSize)
    return fail(Status::InvalidArgument(path + ": seq " + std::to_string(cut) + " has no hash"));

  if (Status s = WriteAuditAnchor(db, path, next); !s.ok()) return fail(s);
  const std::string del = "DELETE FROM decisions WHERE seq <= " + std::to_string(cut);
  if (Status s = Exec(db, del.c_str(), path); !s.ok()) return fail(s);
  r.pruned = static_cast<uint64_t>(sqlite3_changes(db));
  auto has = HasTable(db, path, "checkpoints");
  if (!has.ok()) return fail(has.status());
  if (*has) {
    const std::string del_cp = "DELETE FROM checkpoints WHERE seq <= " + std::to_string(cut);
    if (Status s = Exec(db, del_cp.c_str(), path); !s.ok()) return fail(s);
  }
  if (Status s = Exec(db, "COMMIT", path); !s.ok()) return fail(s);
  r.anchor_seq = cut;
  return r;
}

}  // namespace tosgate::storage
