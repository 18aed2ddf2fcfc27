#include "server/access_log.h"

#include <cstdint>
#include <string>

#include "engine/trace_context.h"
#include "server/logging.h"

namespace tosgate::server {
namespace {

// FNV-1a: a stable spread of decision ids over 64 bits (ids are random, but
// hashing keeps the choice independent of how they are formed).
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

bool AccessLogSink::Sampled(const engine::AuditRecord& r) const {
  if (r.kind != engine::RecordKind::kDecision) return false;
  if (r.effect != Effect::kAllow) return true;
  if (sample_ >= 1) return true;
  if (sample_ <= 0) return false;
  return static_cast<double>(Fnv1a(r.id) >> 11) < sample_ * 9007199254740992.0;  // 2^53
}

void AccessLogSink::Log(const engine::AuditRecord& r) {
  LogEvent(r.effect == Effect::kAllow ? LogLevel::kInfo : LogLevel::kWarn, "access", "decision",
           {{"decision_id", r.id},
            {"account", r.account},
            {"operation", r.operation},
            {"effect", std::string(engine::EffectWord(r))},
            {"status", std::to_string(r.status), true},
            {"reason", r.reason},
            {"rules", Join(r.rule_ids)},
            {"enforced", r.enforced ? "true" : "false", true},
            {"latency_us", std::to_string(r.latency_us), true},
            {"trace_id", std::string(engine::TraceIdOf(r.traceparent))}});
}

Status AccessLogSink::Submit(engine::AuditRecord record) {
  if (Sampled(record)) Log(record);
  return inner_->Submit(std::move(record));
}

void AccessLogSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  if (Sampled(record)) Log(record);
  inner_->SubmitThen(std::move(record), std::move(done));
}

}  // namespace tosgate::server
