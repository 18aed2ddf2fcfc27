#include "cli/audit_verify.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/audit_store.h"
#include "storage/audit/query.h"
#include "storage/audit/signing.h"
#include "storage/audit/verify.h"
#include "storage/audit/postgres/verify.h"

namespace tosgate::cli {
namespace {

constexpr char kUsage[] =
    "usage: tosgate audit verify [--db FILE] [--public-key FILE] [--anchor FILE]\n"
    "       tosgate audit verify --dsn DSN [--instance ID] [--anchor FILE]   (PostgreSQL)\n"
    "       tosgate audit export-anchor [--db FILE] [--public-key FILE] --out FILE\n"
    "       tosgate audit export-anchor --dsn DSN --instance ID --out FILE\n"
    "       tosgate audit prune [--db FILE] (--older-than 30d | --before TIME) "
    "[--public-key FILE]\n"
    "       tosgate audit keygen --out FILE\n"
    "       tosgate audit public-key --key FILE\n"
    "exit: 0 ok, 1 tampered, 2 usage or unreadable store/key (see docs/audit.md)\n";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "tosgate audit: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

bool Leftover(const Args& args) {
  if (args.empty()) return false;
  Usage("unexpected argument '" + args[0] + "'");
  return true;
}

// "30d", "12h", "90m", "45s" in milliseconds; nothing if malformed.
std::optional<int64_t> ParseAge(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 'd': unit = 86'400'000; break;
    case 'h': unit = 3'600'000; break;
    case 'm': unit = 60'000; break;
    case 's': unit = 1'000; break;
    default: return std::nullopt;
  }
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || n > 1'000'000) return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  return n * unit;
}

}  // namespace

bool LoadKey(const std::string& path, std::optional<storage::AuditKey>* out) {
  if (path.empty()) return true;
  auto key = storage::LoadPublicKey(path);
  if (!key.ok()) {
    std::cerr << "tosgate audit: " << key.status().message() << "\n";
    return false;
  }
  out->emplace(std::move(key).value());
  return true;
}

bool LoadAnchor(const std::string& path, std::optional<storage::AuditCheckpoint>* out) {
  if (path.empty()) return true;
  auto a = storage::ReadAnchorFile(path);
  if (!a.ok()) {
    std::cerr << "tosgate audit: --anchor " << a.status().message() << "\n";
    return false;
  }
  out->emplace(std::move(a).value());
  return true;
}

int VerifySqlite(const std::string& db, const storage::AuditKey* key,
                 const storage::AuditCheckpoint* anchor, bool quiet_ok,
                 storage::AuditVerdict* out) {
  storage::AuditVerifyOptions opts;
  opts.public_key = key;
  opts.anchor = anchor;
  const bool tty = isatty(STDERR_FILENO) == 1;
  bool printed = false;
  if (tty) {
    opts.progress = [&printed](uint64_t done, uint64_t total) {
      if (total < 200'000) return;
      std::fprintf(stderr, "\rverifying: %llu / %llu records",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
      printed = true;
    };
  }
  auto v = storage::VerifyAuditStore(db, opts);
  if (printed) std::fputs("\n", stderr);
  if (!v.ok()) {
    std::cerr << "tosgate audit: " << v.status().message() << "\n";
    return 2;
  }
  if (!v->ok) {
    std::cout << "TAMPERED: " << v->problem << "\n";
    return 1;
  }
  if (!quiet_ok) {
    std::cout << "ok: " << v->records << " records";
    if (v->records) std::cout << " (seq " << v->start_seq << " to " << v->last_seq << ")";
    std::cout << ", " << v->checkpoints << " checkpoints";
    if (key) std::cout << ", " << v->signatures << " signatures verified";
    if (anchor) std::cout << ", anchored checkpoint at seq " << anchor->seq << " present";
    std::cout << "\n";
    for (const std::string& n : v->notes) std::cout << "note: " << n << "\n";
  }
  if (out) *out = std::move(v).value();
  return -1;
}

int VerifyFleet(const std::string& dsn, const std::string& instance,
                const storage::AuditCheckpoint* anchor, bool quiet_ok,
                storage::AuditVerdict* out) {
  storage::PostgresVerifyOptions opts;
  opts.instance = instance;
  opts.anchor = anchor;
  bool printed = false;
  if (isatty(STDERR_FILENO) == 1) {
    opts.progress = [&printed](uint64_t done, uint64_t total) {
      if (total < 200'000) return;
      std::fprintf(stderr, "\rverifying: %llu / %llu records", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total));
      printed = true;
    };
  }
  auto v = storage::VerifyPostgresAuditStore(dsn, opts);
  if (printed) std::fputs("\n", stderr);
  if (!v.ok()) {
    std::cerr << "tosgate audit: " << v.status().message() << "\n";
    return 2;
  }
  if (out && !v->instances.empty()) *out = v->instances.front().verdict;
  size_t bad = 0;
  for (const storage::InstanceVerdict& iv : v->instances) {
    const storage::AuditVerdict& r = iv.verdict;
    if (quiet_ok && r.ok) continue;
    if (!r.ok) {
      ++bad;
      std::cout << "TAMPERED: instance " << iv.instance << " " << r.problem << "\n";
      continue;
    }
    std::cout << "ok: instance " << iv.instance << ": " << r.records << " records";
    if (r.records) std::cout << " (seq " << r.start_seq << " to " << r.last_seq << ")";
    std::cout << "\n";
  }
  if (quiet_ok && v->ok) return 0;
  const size_t n = v->instances.size();
  std::cout << (v->ok ? "ok" : "TAMPERED") << ": " << n << (n == 1 ? " instance, " : " instances, ")
            << v->records << " records verified";
  if (bad) std::cout << ", " << bad << (bad == 1 ? " instance" : " instances") << " tampered";
  std::cout << "\n";
  for (const std::string& note : v->notes) std::cout << "note: " << note << "\n";
  return v->ok ? 0 : 1;
}

int RunAuditVerify(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string key_path, instance, anchor_path;
  AuditStoreArg store;
  if (!TakeAuditStore(&args, &store)) return Usage("");
  TakeFlag(&args, "--public-key", &key_path, &bad);
  const bool has_instance = TakeFlag(&args, "--instance", &instance, &bad);
  TakeFlag(&args, "--anchor", &anchor_path, &bad);
  if (bad) return Usage("");
  if (Leftover(args)) return 2;
  std::optional<storage::AuditCheckpoint> anchor;
  if (!LoadAnchor(anchor_path, &anchor)) return 2;
  if (!store.dsn.empty()) {
    if (!key_path.empty())
      return Usage("--public-key: a PostgreSQL store keeps no signed checkpoints");
    if (anchor && anchor->store != "postgres")
      return Usage("--anchor: " + anchor_path + " is an SQLite store's anchor (give --db)");
    if (anchor && has_instance && instance != anchor->instance)
      return Usage("--anchor: " + anchor_path + " is instance '" + anchor->instance +
                   "''s anchor, not '" + instance + "''s");
    return VerifyFleet(store.dsn, instance, anchor ? &*anchor : nullptr, false, nullptr);
  }
  if (has_instance) return Usage("--instance needs --dsn: an SQLite store is one gateway's");
  if (anchor && anchor->store != "sqlite")
    return Usage("--anchor: " + anchor_path + " is a PostgreSQL instance's anchor (give --dsn)");
  std::optional<storage::AuditKey> key;
  if (!LoadKey(key_path, &key)) return 2;
  const int rc =
      VerifySqlite(store.db, key ? &*key : nullptr, anchor ? &*anchor : nullptr, false, nullptr);
  return rc < 0 ? 0 : rc;
}

int RunAuditPrune(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string key_path, older, before;
  AuditStoreArg store;
  if (!TakeAuditStore(&args, &store)) return Usage("");
  // Never prune var/tosgate.db because TOSGATE_AUDIT_DSN pointed elsewhere.
  if (!store.dsn.empty())
    return Usage(
        "prune works on an SQLite store (--db FILE); PostgreSQL retention is the "
        "database's (see docs/audit.md)");
  const std::string& db = store.db;
  TakeFlag(&args, "--public-key", &key_path, &bad);
  const bool has_older = TakeFlag(&args, "--older-than", &older, &bad);
  const bool has_before = TakeFlag(&args, "--before", &before, &bad);
  if (bad) return Usage("");
  if (Leftover(args)) return 2;
  if (has_older == has_before) return Usage("prune needs one of --older-than or --before");
  int64_t before_ms = 0;
  if (has_older) {
    auto age = ParseAge(older);
    if (!age) return Usage("--older-than: expected a number and d, h, m or s, like 30d");
    before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count() -
                *age;
  } else {
    auto t = storage::ParseAuditTime(before);
    if (!t.ok()) return Usage("--before: " + t.status().message());
    before_ms = *t;
  }
  std::optional<storage::AuditKey> key;
  if (!LoadKey(key_path, &key)) return 2;
  // Pruning discards evidence: only a store that verifies is pruned.
  if (int rc = VerifySqlite(db, key ? &*key : nullptr, nullptr, true, nullptr); rc >= 0) {
    if (rc == 1) std::cerr << "tosgate audit: not pruning a store that does not verify\n";
    return rc;
  }
  auto r = storage::PruneAuditStore(db, before_ms);
  if (!r.ok()) {
    std::cerr << "tosgate audit: " << r.status().message() << "\n";
    return 2;
  }
  std::cout << "pruned " << r->pruned << " records; the chain now starts after seq "
            << r->anchor_seq << "\n";
  return 0;
}

int RunAuditKey(const Args& in) {
  if (in.empty()) return Usage("");
  Args args(in.begin() + 1, in.end());
  bool bad = false;
  if (in[0] == "keygen") {
    std::string out;
    const bool has = TakeFlag(&args, "--out", &out, &bad);
    if (bad || !has) return Usage(bad ? "" : "keygen needs --out FILE");
    if (Leftover(args)) return 2;
    if (Status s = storage::GenerateKey(out); !s.ok()) {
      std::cerr << "tosgate audit: " << s.message() << "\n";
      return 2;
    }
    auto key = storage::LoadPrivateKey(out);
    std::cerr << "wrote " << out << " (Ed25519, mode 0600"
              << (key.ok() ? ", key id " + key->key_id() : "") << ")\n";
    return 0;
  }
  std::string path;
  const bool has = TakeFlag(&args, "--key", &path, &bad);
  if (bad || !has) return Usage(bad ? "" : "public-key needs --key FILE");
  if (Leftover(args)) return 2;
  auto key = storage::LoadPublicKey(path);
  if (!key.ok()) {
    std::cerr << "tosgate audit: " << key.status().message() << "\n";
    return 2;
  }
  std::cout << key->PublicKeyPem();
  return 0;
}

}  // namespace tosgate::cli
