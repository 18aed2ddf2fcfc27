#include "storage/audit/chain.h"

#include <openssl/sha.h>

#include <bit>
#include <cmath>

namespace tosgate::storage {
namespace {

constexpr std::string_view kDomain = "tosgate.audit.v1";

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
void PutI64(std::string* out, int64_t v) { PutU64(out, static_cast<uint64_t>(v)); }
void PutStr(std::string* out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
  out->append(s);
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
  b.clear();
  b.append(kDomain);
  b.append(prev_hash);
  PutU64(&b, seq);
  PutStr(&b, r.id);
  PutI64(&b, r.time_ms);
  PutStr(&b, r.request_id);
  PutStr(&b, r.account);
  PutStr(&b, r.key_id);
  PutStr(&b, r.org);
  PutStr(&b, r.client_ip);
  PutStr(&b, r.method);
  PutStr(&b, r.path);
  PutStr(&b, r.operation);
  PutStr(&b, r.model);
  PutStr(&b, r.effect);
  b.push_back(r.enforced ? 1 : 0);
  PutI64(&b, r.status);
  PutStr(&b, r.reason);
  PutStr(&b, r.rule_ids);
  PutStr(&b, r.matches);
  PutU64(&b, CanonicalBits(r.risk));
  PutStr(&b, r.policy_revision);
  PutStr(&b, r.prompt_sha256);
  PutI64(&b, r.latency_us);

  std::string out(kAuditHashSize, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace tosgate::storage
