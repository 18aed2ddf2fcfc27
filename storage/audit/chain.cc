#include "storage/audit/chain.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "engine/sha256.h"

namespace tosgate::storage {
namespace {

constexpr std::string_view kDomain = "tosgate.audit.v1";

// The encoding is written through a cursor into a buffer sized beforehand:
// one size computation and memcpys, instead of a push_back per byte.
char* PutU64(char* p, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) *p++ = static_cast<char>(v >> shift);
  return p;
}
char* PutI64(char* p, int64_t v) { return PutU64(p, static_cast<uint64_t>(v)); }
char* PutBytes(char* p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* PutStr(char* p, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) *p++ = static_cast<char>(n >> shift);
  return PutBytes(p, s);
}
uint64_t CanonicalBits(double d) {
  if (std::isnan(d)) return 0x7ff8000000000000ull;
  if (d == 0.0) return 0;  // -0.0 too
  return std::bit_cast<uint64_t>(d);
}

}  // namespace

std::string AuditGenesisHash() { return std::string(kAuditHashSize, '\0'); }

std::string AuditChainHash(std::string_view prev_hash, uint64_t seq,
                           const AuditRow& r, std::string* scratch) {
  std::string local;
  std::string& b = scratch ? *scratch : local;
  const std::string_view strings[] = {r.id,     r.request_id, r.account, r.key_id,
                                      r.org,    r.client_ip,  r.method,  r.path,
                                      r.operation, r.model,   r.effect,  r.reason,
                                      r.rule_ids,  r.matches, r.policy_revision, r.prompt_sha256};
  size_t size = kDomain.size() + prev_hash.size() + 8 /*seq*/ + 8 /*time_ms*/ + 1 /*enforced*/ +
                8 /*status*/ + 8 /*risk*/ + 8 /*latency_us*/;
  for (std::string_view s : strings) size += 4 + s.size();
  // Later fields, each group only when set, so that older chains verify
  // unchanged. A costed record writes the trace strings too (empty when it
  // has none), so that the cost never stands where a trace string could.
  const bool costed = r.cost_reserved_nano >= 0 || r.cost_settled_nano >= 0;
  const bool traced = costed || !r.traceparent.empty() || !r.tracestate.empty();
  if (traced) size += 8 + r.traceparent.size() + r.tracestate.size();
  if (costed) size += 16;
  b.resize(size);  // reused: no allocation once the scratch is as large
  char* p = b.data();
  p = PutBytes(p, kDomain);
  p = PutBytes(p, prev_hash);
  p = PutU64(p, seq);
  p = PutStr(p, r.id);
  p = PutI64(p, r.time_ms);
  p = PutStr(p, r.request_id);
  p = PutStr(p, r.account);
  p = PutStr(p, r.key_id);
  p = PutStr(p, r.org);
  p = PutStr(p, r.client_ip);
  p = PutStr(p, r.method);
  p = PutStr(p, r.path);
  p = PutStr(p, r.operation);
  p = PutStr(p, r.model);
  p = PutStr(p, r.effect);
  *p++ = r.enforced ? 1 : 0;
  p = PutI64(p, r.status);
  p = PutStr(p, r.reason);
  p = PutStr(p, r.rule_ids);
  p = PutStr(p, r.matches);
  p = PutU64(p, CanonicalBits(r.risk));
  p = PutStr(p, r.policy_revision);
  p = PutStr(p, r.prompt_sha256);
  p = PutI64(p, r.latency_us);
  if (traced) {
    p = PutStr(p, r.traceparent);
    p = PutStr(p, r.tracestate);
  }
  if (costed) {
    p = PutI64(p, r.cost_reserved_nano);
    p = PutI64(p, r.cost_settled_nano);
  }

  std::string out(kAuditHashSize, '\0');
  engine::Sha256(std::string_view(b.data(), static_cast<size_t>(p - b.data())),
                 reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace tosgate::storage
