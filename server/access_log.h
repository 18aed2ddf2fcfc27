// The access log (log.access: true): one event per decision, component
// "access", written on its way to the audit store. It holds identifiers and
// outcomes only (decision id, account, operation, effect, status, reason,
// rules, latency, trace id), never the key, the prompt or any other request
// text: those are in the audit store, hashed or not at all (docs/audit.md).
//
// Sampling keeps it cheap at high rates: log.access_sample is the share of
// decisions logged, chosen by the decision id, so the same share whatever
// the traffic's shape; denials and throttles are always logged.
//
// Thread-safe, as AuditSink requires.
#pragma once

#include "engine/audit_sink.h"

namespace tosgate::server {

class AccessLogSink final : public engine::AuditSink {
 public:
  // `inner` receives every record; `sample` is 0..1.
  AccessLogSink(engine::AuditSink* inner, double sample) : inner_(inner), sample_(sample) {}
  Status Submit(engine::AuditRecord record) override;
  void SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) override;

  // Whether the record with this decision id and effect is logged.
  bool Sampled(const engine::AuditRecord& record) const;
  // Logs it (server/logging.h), sampled or not.
  static void Log(const engine::AuditRecord& record);

 private:
  engine::AuditSink* inner_;
  double sample_;
};

}  // namespace tosgate::server
