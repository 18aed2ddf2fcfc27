// The audit record both audit benchmarks write (bench/audit_bench.cc,
// bench/audit_pg_bench.cc): the size of a real one, with ids, a hashed key,
// a prompt hash and, for one in twenty, a deny by a rule.
#pragma once

#include <cstdint>
#include <string>

#include "engine/audit_sink.h"

namespace tosgate::bench {

inline engine::AuditRecord SampleAuditRecord(uint64_t i) {
  engine::AuditRecord r;
  r.id = "dec_" + std::to_string(i);
  r.time_ms = 1764331200000 + static_cast<int64_t>(i);
  r.request_id = "req-" + std::to_string(i * 7919 % 1000003);
  r.account = "acct_" + std::to_string(i % 5000);
  r.key_id = std::string(64, 'a' + static_cast<char>(i % 6));
  r.org = "org_" + std::to_string(i % 500);
  r.client_ip = "203.0.113." + std::to_string(i % 250);
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.operation = "chat";
  r.model = "m-large";
  const bool deny = i % 20 == 0;
  r.effect = deny ? Effect::kDeny : Effect::kAllow;
  r.status = deny ? 403 : 200;
  r.reason = deny ? "purpose-not-allowed" : "";
  if (deny) {
    r.rule_ids = {"purpose.no-model-training"};
    r.matches = {{"purpose.no-model-training", Action::kDeny, false, ""}};
  }
  r.risk = 0.125;
  r.policy_revision = "rev-2025-11-27";
  r.prompt_sha256 = std::string(64, 'f');
  r.latency_us = 4;
  return r;
}

}  // namespace tosgate::bench
