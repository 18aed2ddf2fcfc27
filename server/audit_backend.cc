#include "server/audit_backend.h"

#include <unistd.h>

#include <cstdio>
#include <system_error>

#include "storage/audit/postgres/sink.h"
#include "storage/audit/postgres/util.h"
#include "storage/audit/sqlite/sink.h"
#include "storage/sqlite/parent_dir.h"

namespace tosgate::server {
namespace {

storage::Durability DurabilityOf(const ServeConfig& cfg) {
  return cfg.audit_durability == AuditDurability::kSync ? storage::Durability::kSync
                                                         : storage::Durability::kAsync;
}

// Forwards to the concrete sink; one extra virtual call per record.
template <typename Sink>
class Backend final : public AuditBackend {
 public:
  explicit Backend(std::unique_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Status Submit(engine::AuditRecord record) override { return sink_->Submit(std::move(record)); }
  void SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) override {
    sink_->SubmitThen(std::move(record), std::move(done));
  }
  Status Close() override { return sink_->Close(); }
  AuditBackendStats stats() const override {
    const auto st = sink_->stats();
    AuditBackendStats out;
    out.submitted = st.submitted;
    out.written = st.written;
    out.rejected_full = st.rejected_full;
    out.write_errors = st.write_errors;
    out.batches = st.batches;
    out.commit_timeouts = st.commit_timeouts;
    out.dropped = st.dropped;
    out.queue_depth = st.queue_depth;
    if constexpr (requires { st.recreated; }) out.recreated = st.recreated;
    if constexpr (requires { st.reconnects; }) out.reconnects = st.reconnects;
    out.anchors = st.anchors;
    out.anchor_errors = st.anchor_errors;
    return out;
  }

 private:
  std::unique_ptr<Sink> sink_;
};

}  // namespace

std::string AuditInstance(const ServeConfig& cfg) {
  if (!cfg.audit_instance.empty()) return cfg.audit_instance;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "tosgate");
  const size_t colon = cfg.gateway_listen.rfind(':');
  const std::string port =
      colon == std::string::npos ? cfg.gateway_listen : cfg.gateway_listen.substr(colon + 1);
  return std::string(host) + ":" + port;
}

std::string DescribeAuditBackend(const ServeConfig& cfg) {
  const std::string anchor = cfg.audit_anchor.empty() ? "" : ", anchor " + cfg.audit_anchor;
  const std::string durability(DurabilityName(cfg.audit_durability));
  if (cfg.audit_backend == AuditBackendKind::kSqlite) return cfg.audit_path + " (" + durability + ")" + anchor;
  return "postgres " + storage::RedactDsn(cfg.audit_dsn) + " instance " + AuditInstance(cfg) + " (" +
         durability + ")" + anchor;
}

Result<std::unique_ptr<AuditBackend>> OpenAuditBackend(const ServeConfig& cfg) {
  if (cfg.audit_backend == AuditBackendKind::kPostgres) {
    storage::PostgresAuditOptions o;
    o.dsn = cfg.audit_dsn;
    o.instance = AuditInstance(cfg);
    o.durability = DurabilityOf(cfg);
    o.truncate_client_ip = cfg.audit_truncate_client_ip;
    if (!cfg.audit_anchor.empty()) {
      if (Status s = storage::EnsureParentDir(cfg.audit_anchor); !s.ok()) return s;
      o.anchor = std::make_shared<storage::AnchorFile>(cfg.audit_anchor);
      o.anchor_every = cfg.audit_checkpoint_every;
    }
    auto sink = storage::PostgresAuditSink::Open(o);
    if (!sink.ok()) return sink.status();
    return std::unique_ptr<AuditBackend>(
        new Backend<storage::PostgresAuditSink>(std::move(sink).value()));
  }
  if (Status s = storage::EnsureParentDir(cfg.audit_path); !s.ok()) return s;
  storage::SqliteAuditOptions o;
  o.path = cfg.audit_path;
  o.durability = DurabilityOf(cfg);
  o.signing_key_path = cfg.audit_signing_key;
  o.checkpoint_every = cfg.audit_checkpoint_every;
  o.truncate_client_ip = cfg.audit_truncate_client_ip;
  if (!cfg.audit_anchor.empty()) {
    if (Status s = storage::EnsureParentDir(cfg.audit_anchor); !s.ok()) return s;
    o.anchor = std::make_shared<storage::AnchorFile>(cfg.audit_anchor);
  }
  auto sink = storage::SqliteAuditSink::Open(o);
  if (!sink.ok()) return sink.status();
  return std::unique_ptr<AuditBackend>(new Backend<storage::SqliteAuditSink>(std::move(sink).value()));
}

void RegisterAuditMetrics(const AuditBackend* backend, metrics::Registry* registry) {
  auto stat = [backend](uint64_t AuditBackendStats::*field) {
    return [backend, field] { return backend->stats().*field; };
  };
  registry->Gauge("tosgate_audit_queue_depth", "Audit records accepted, not yet committed.",
                  [backend]() -> uint64_t { return backend->stats().queue_depth; });
  registry->Counter("tosgate_audit_written_total", "Audit records committed.", stat(&AuditBackendStats::written));
  registry->Counter("tosgate_audit_rejected_full_total", "Audit records refused: queue full.",
                    stat(&AuditBackendStats::rejected_full));
  registry->Counter("tosgate_audit_write_errors_total", "Failed audit commit attempts.",
                    stat(&AuditBackendStats::write_errors));
  registry->Counter("tosgate_audit_commit_timeouts_total", "Submitters answered Unavailable after commit_timeout.",
                    stat(&AuditBackendStats::commit_timeouts));
  registry->Counter("tosgate_audit_recreated_total",
                    "Times the audit file was found deleted or moved and written back.",
                    stat(&AuditBackendStats::recreated));
  registry->Counter("tosgate_audit_reconnects_total", "PostgreSQL audit: connections made again after one failed.",
                    stat(&AuditBackendStats::reconnects));
  registry->Counter("tosgate_audit_anchors_total", "Checkpoints written to audit.anchor.",
                    stat(&AuditBackendStats::anchors));
  registry->Counter("tosgate_audit_anchor_errors_total",
                    "Failed writes of audit.anchor (retried after the next commit).",
                    stat(&AuditBackendStats::anchor_errors));
}

}  // namespace tosgate::server
