#include "server/audit_store.h"

#include "storage/audit/postgres/query.h"

namespace tosgate::server {

Result<std::unique_ptr<storage::AuditReadStore>> OpenAuditStore(
    const AuditStoreArg& store, bool build_indexes, std::function<void(const std::string&)> note) {
  if (!store.dsn.empty()) {
    auto q = storage::PostgresAuditQuery::Open(store.dsn);
    if (!q.ok()) return q.status();
    return std::unique_ptr<storage::AuditReadStore>(std::move(q).value());
  }
  auto q = storage::AuditQuery::Open(store.db, {.ensure_indexes = build_indexes, .note = std::move(note)});
  if (!q.ok()) return q.status();
  return std::unique_ptr<storage::AuditReadStore>(std::move(q).value());
}

}  // namespace tosgate::server
