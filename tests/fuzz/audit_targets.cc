// Fuzz entry for stored audit decisions. A store is a file anyone with
// access can edit, so what comes back from it is any bytes: the chain hash
// and the exports must cope, and so must the strings users pass to
// `tosgate audit` to page and filter it.
#include <string>
#include <string_view>

#include "storage/audit/chain.h"
#include "storage/audit/query.h"
#include "storage/audit/sqlite/schema.h"
#include "tests/fuzz/fuzz_targets.h"

namespace tosgate::fuzz {
namespace {

// Reads the input as fields separated by NUL bytes; past the end, empty.
class Fields {
 public:
  explicit Fields(std::string_view in) : rest_(in) {}
  std::string Next() {
    const size_t nul = rest_.find('\0');
    std::string field(rest_.substr(0, nul));
    rest_ = nul == std::string_view::npos ? std::string_view() : rest_.substr(nul + 1);
    return field;
  }
  int64_t Int() {
    const std::string f = Next();
    int64_t v = 0;
    for (size_t i = 0; i < f.size() && i < 8; ++i)
      v = static_cast<int64_t>((static_cast<uint64_t>(v) << 8) | static_cast<uint8_t>(f[i]));
    return v;
  }

 private:
  std::string_view rest_;
};

}  // namespace

void AuditRecord(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  Fields f(in);
  storage::StoredDecision d;
  d.seq = static_cast<uint64_t>(f.Int());
  d.prev_hash = f.Next();
  d.hash = f.Next();
  storage::AuditRow& r = d.record;
  r.id = f.Next();
  r.time_ms = f.Int();
  r.request_id = f.Next();
  r.account = f.Next();
  r.key_id = f.Next();
  r.org = f.Next();
  r.client_ip = f.Next();
  r.method = f.Next();
  r.path = f.Next();
  r.operation = f.Next();
  r.model = f.Next();
  r.effect = f.Next();
  r.enforced = f.Int() & 1;
  r.status = static_cast<int>(f.Int());
  r.reason = f.Next();
  r.rule_ids = f.Next();
  r.matches = f.Next();
  const int64_t risk_bits = f.Int();
  static_assert(sizeof(double) == sizeof(int64_t));
  __builtin_memcpy(&r.risk, &risk_bits, sizeof(double));
  r.policy_revision = f.Next();
  r.prompt_sha256 = f.Next();
  r.latency_us = f.Int();

  std::string scratch;
  (void)storage::AuditChainHash(d.prev_hash, d.seq, r, &scratch);
  (void)storage::CsvRow(d);
  (void)storage::JsonLine(d);
  (void)storage::FormatAuditTime(r.time_ms);

  // What a user types: the whole input, then each field, as a cursor, a
  // time and a hex hash.
  for (const std::string_view s : {in, std::string_view(r.id), std::string_view(r.reason)}) {
    (void)storage::DecodeCursor(s);
    (void)storage::ParseAuditTime(s);
    (void)storage::FromHex(s);
  }
}

}  // namespace tosgate::fuzz
