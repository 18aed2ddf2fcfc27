#include "cli/audit_store.h"

#include <cstdlib>
#include <iostream>

#include "storage/audit/postgres/query.h"

namespace tosgate::cli {

constexpr char kDefaultDb[] = "var/tosgate.db";
constexpr char kDsnEnv[] = "TOSGATE_AUDIT_DSN";

bool TakeAuditStore(Args* args, AuditStoreArg* out) {
  bool bad = false;
  const bool has_db = TakeFlag(args, "--db", &out->db, &bad);
  const bool has_dsn = TakeFlag(args, "--dsn", &out->dsn, &bad);
  if (bad) return false;
  if (has_db && has_dsn) {
    std::cerr << "tosgate audit: give --db FILE (SQLite) or --dsn DSN (PostgreSQL), not both\n";
    return false;
  }
  if (has_dsn && out->dsn.empty()) {
    std::cerr << "tosgate audit: --dsn is empty\n";
    return false;
  }
  if (!has_db && !has_dsn) {
    const char* env = std::getenv(kDsnEnv);
    if (env && *env) out->dsn = env;
  }
  if (out->dsn.empty() && out->db.empty()) out->db = kDefaultDb;
  if (!out->dsn.empty()) out->db.clear();
  return true;
}

std::unique_ptr<storage::AuditReadStore> OpenAuditStore(const AuditStoreArg& store,
                                                        bool build_indexes) {
  if (!store.dsn.empty()) {
    auto q = storage::PostgresAuditQuery::Open(store.dsn);
    if (!q.ok()) {
      std::cerr << "tosgate audit: " << q.status().message() << "\n";
      return nullptr;
    }
    return std::move(q.value());
  }
  auto q = storage::AuditQuery::Open(
      store.db, {.ensure_indexes = build_indexes, .note = [](const std::string& m) {
                   std::cerr << "tosgate audit: " << m << "\n";
                 }});
  if (!q.ok()) {
    std::cerr << "tosgate audit: " << q.status().message() << "\n";
    return nullptr;
  }
  return std::move(q.value());
}

}  // namespace tosgate::cli
