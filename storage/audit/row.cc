#include "storage/audit/row.h"

#include <utility>

#include "engine/json_util.h"

namespace tosgate::storage {

std::string RuleIdsJson(const std::vector<std::string>& ids) { return engine::JsonStringArray(ids); }

std::string MatchesJson(const std::vector<engine::AuditMatch>& matches) {
  std::string out = "[";
  for (size_t i = 0; i < matches.size(); ++i) {
    const engine::AuditMatch& m = matches[i];
    if (i) out += ',';
    out += "{\"rule\":";
    engine::AppendJsonString(&out, m.rule_id);
    out += ",\"action\":";
    engine::AppendJsonString(&out, ActionName(m.action));
    out += m.shadow ? ",\"shadow\":true" : ",\"shadow\":false";
    out += ",\"detail\":";
    engine::AppendJsonString(&out, m.detail);
    out += '}';
  }
  return out + "]";
}

AuditRow ToAuditRow(engine::AuditRecord r) {
  AuditRow row;
  row.id = std::move(r.id);
  row.time_ms = r.time_ms;
  row.request_id = std::move(r.request_id);
  row.account = std::move(r.account);
  row.key_id = std::move(r.key_id);
  row.org = std::move(r.org);
  row.client_ip = std::move(r.client_ip);
  row.method = std::move(r.method);
  row.path = std::move(r.path);
  row.operation = std::move(r.operation);
  row.model = std::move(r.model);
  row.effect = std::string(engine::EffectWord(r));
  row.enforced = r.enforced;
  row.status = r.status;
  row.reason = std::move(r.reason);
  row.rule_ids = RuleIdsJson(r.rule_ids);
  row.matches = MatchesJson(r.matches);
  row.risk = r.risk;
  row.policy_revision = std::move(r.policy_revision);
  row.prompt_sha256 = std::move(r.prompt_sha256);
  row.latency_us = r.latency_us;
  row.traceparent = std::move(r.traceparent);
  row.tracestate = std::move(r.tracestate);
  row.cost_reserved_nano = r.cost_reserved_nano;
  row.cost_settled_nano = r.cost_settled_nano;
  return row;
}

}  // namespace tosgate::storage
