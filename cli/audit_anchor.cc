// tosgate audit export-anchor: copies the store's latest signed checkpoint
// (SQLite) or an instance's chain head (PostgreSQL) into an anchor file
// (storage/audit/anchor.h), for operators who keep it off the host. The
// store is verified first, against the anchor already in --out if there is
// one: an anchor is never exported from a store that does not verify, and
// never moved back to an older checkpoint, which would hide a cut tail.
#include <chrono>
#include <iostream>
#include <optional>

#include "cli/audit_store.h"
#include "cli/audit_verify.h"

namespace tosgate::cli {
namespace {

constexpr char kUsage[] =
    "usage: tosgate audit export-anchor [--db FILE] [--public-key FILE] --out FILE\n"
    "       tosgate audit export-anchor --dsn DSN --instance ID --out FILE\n"
    "exit: 0 written, 1 the store does not verify, 2 usage or unreadable (see docs/audit.md)\n";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "tosgate audit: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int RunAuditExportAnchor(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string out, key_path, instance;
  AuditStoreArg store;
  if (!TakeAuditStore(&args, &store)) return Usage("");
  const bool has_out = TakeFlag(&args, "--out", &out, &bad);
  TakeFlag(&args, "--public-key", &key_path, &bad);
  const bool has_instance = TakeFlag(&args, "--instance", &instance, &bad);
  if (bad) return Usage("");
  if (!args.empty()) return Usage("unexpected argument '" + args[0] + "'");
  if (!has_out) return Usage("export-anchor needs --out FILE");
  const bool postgres = !store.dsn.empty();
  if (postgres && !key_path.empty())
    return Usage("--public-key: a PostgreSQL store keeps no signed checkpoints");
  if (postgres && !has_instance)
    return Usage("export-anchor --dsn needs --instance ID: each instance has its own chain");
  if (!postgres && has_instance)
    return Usage("--instance needs --dsn: an SQLite store is one gateway's");

  std::optional<storage::AuditCheckpoint> previous;
  if (auto p = storage::ReadAnchorFile(out); p.ok()) {
    previous = std::move(p).value();
  } else if (p.status().code() != Status::Code::kNotFound) {
    std::cerr << "tosgate audit: --out " << p.status().message() << "\n";
    return 2;
  }
  if (previous && (previous->store != (postgres ? "postgres" : "sqlite") ||
                   (postgres && previous->instance != instance))) {
    return Usage("--out " + out + " holds the anchor of another store" +
                 (previous->instance.empty() ? "" : " (instance '" + previous->instance + "')") +
                 "; give each store its own anchor file");
  }
  const storage::AuditCheckpoint* prev = previous ? &*previous : nullptr;

  storage::AuditCheckpoint cp;
  storage::AuditVerdict verdict;
  if (postgres) {
    const int rc = VerifyFleet(store.dsn, instance, prev, true, &verdict);
    if (rc != 0) {
      if (rc == 1)
        std::cerr << "tosgate audit: not exporting an anchor of a chain that does not verify\n";
      return rc;
    }
    cp.store = "postgres";
    cp.instance = instance;
    cp.seq = verdict.last_seq;
    cp.hash = verdict.last_hash;
    cp.signed_at_ms = NowMs();
  } else {
    std::optional<storage::AuditKey> key;
    if (!LoadKey(key_path, &key)) return 2;
    if (int rc = VerifySqlite(store.db, key ? &*key : nullptr, prev, true, &verdict); rc >= 0) {
      if (rc == 1)
        std::cerr << "tosgate audit: not exporting an anchor of a store that does not verify\n";
      return rc;
    }
    auto latest = storage::ReadLatestCheckpoint(store.db);
    if (!latest.ok()) {
      std::cerr << "tosgate audit: " << latest.status().message() << "\n";
      return 2;
    }
    if (!*latest) {
      std::cerr << "tosgate audit: " << store.db
                << ": no signed checkpoint to export (the gateway signs them with "
                   "audit.signing_key)\n";
      return 2;
    }
    cp = std::move(**latest);
  }
  if (cp.seq == 0) {
    std::cerr << "tosgate audit: instance '" << instance << "' has no records to anchor\n";
    return 2;
  }
  if (prev && cp.seq < prev->seq) {
    std::cerr << "tosgate audit: " << out << " anchors seq " << prev->seq
              << ", after the store's latest (seq " << cp.seq << "); not moving it back\n";
    return 1;
  }
  if (Status s = storage::WriteAnchorFile(out, cp); !s.ok()) {
    std::cerr << "tosgate audit: " << s.message() << "\n";
    return 2;
  }
  std::cout << "wrote " << out << ": " << (postgres ? "instance " + instance + " " : "") << "seq "
            << cp.seq;
  if (!cp.key_id.empty()) std::cout << ", signed by key " << cp.key_id;
  std::cout << "\n";
  return 0;
}

}  // namespace tosgate::cli
