#include "storage/audit/postgres/sink.h"

#include <system_error>
#include <thread>
#include <utility>

#include "storage/audit/row.h"
#include "storage/audit/postgres/sink_impl.h"
#include "storage/audit/postgres/schema.h"

namespace tosgate::storage {

namespace {

// The length of the valid UTF-8 sequence at s[i], or 0 if there is none
// (NUL counts as invalid: PostgreSQL text cannot hold it).
size_t Utf8SequenceLength(const std::string& s, size_t i) {
  const auto b = [&s](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) n = 3, lo = 0xa0;
  else if (c == 0xed) n = 3, hi = 0x9f;  // no UTF-16 surrogates
  else if (c >= 0xe1 && c <= 0xef) n = 3;
  else if (c == 0xf0) n = 4, lo = 0x90;
  else if (c == 0xf4) n = 4, hi = 0x8f;  // nothing above U+10FFFF
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

void MakeRecordStorable(AuditRow& r) {
  for (std::string* s : {&r.id, &r.request_id, &r.account, &r.key_id, &r.org, &r.client_ip,
                         &r.method, &r.path, &r.operation, &r.model, &r.effect, &r.reason,
                         &r.rule_ids, &r.matches, &r.policy_revision, &r.prompt_sha256,
                         &r.traceparent, &r.tracestate})
    MakeValidUtf8(s);
}

// What the sink queues: the record as its columns, the client IP truncated
// if asked, text made storable.
AuditRow Storable(const PostgresAuditOptions& opts, engine::AuditRecord record) {
  AuditRow r = ToAuditRow(std::move(record));
  if (opts.truncate_client_ip) r.client_ip = TruncateClientIp(r.client_ip);
  MakeRecordStorable(r);
  return r;
}

}  // namespace

bool MakeValidUtf8(std::string* s) {
  size_t i = 0;
  while (i < s->size()) {
    const size_t n = Utf8SequenceLength(*s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s->size()) return false;
  std::string out(*s, 0, i);
  while (i < s->size()) {
    const size_t n = Utf8SequenceLength(*s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(*s, i, n);
      i += n;
    }
  }
  *s = std::move(out);
  return true;
}

PostgresAuditSink::Impl::Impl(PostgresAuditOptions o)
    : opts(std::move(o)),
      queue(AuditBatchQueue::OptionsOf(opts, std::chrono::milliseconds(5),
                                        std::chrono::milliseconds(1000)),
            {.who = "PostgreSQL audit: ",
             .prefix = "PostgreSQL audit: ",
             .records = "records",
             .closed = "PostgreSQL audit: the sink is closed",
             .back_when = "the database is back",
             .keep_code = false}) {}

PostgresAuditSink::PostgresAuditSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PostgresAuditSink::~PostgresAuditSink() { (void)Close(); }

Result<std::unique_ptr<PostgresAuditSink>> PostgresAuditSink::Open(PostgresAuditOptions opts) {
  if (opts.dsn.empty()) return Status::InvalidArgument("PostgreSQL audit: no DSN given");
  if (opts.instance.empty())
    return Status::InvalidArgument("PostgreSQL audit: no instance id given");
  if (MakeValidUtf8(&opts.instance))
    return Status::InvalidArgument("PostgreSQL audit: the instance id is not valid UTF-8");
  if (opts.queue_capacity == 0 || opts.max_batch == 0)
    return Status::InvalidArgument("PostgreSQL audit: queue_capacity and max_batch must be at least 1");
  auto impl = std::make_unique<Impl>(std::move(opts));
  Impl* p = impl.get();
  p->description = RedactDsn(p->opts.dsn);
  // A gateway restarted at once may find its old session's lock still held
  // for a moment: the server drops it when that backend has exited.
  Status connected = p->Connect();
  for (int i = 0; i < 10 && connected.code() == Status::Code::kAlreadyExists; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    connected = p->Connect();
  }
  if (!connected.ok()) return connected;
  if (Status s = EnsurePostgresAuditSchema(p->conn.get()); !s.ok()) return s;
  if (Status s = p->ReadChainEnd(&p->next_seq, &p->prev_hash); !s.ok()) return s;
  ++p->next_seq;
  if (Status s = p->CheckAnchor(); !s.ok()) return s;
  try {
    p->queue.Start([p](const std::vector<Impl::Item>& batch) { return p->Commit(batch); },
                   [p] { p->PublishAnchor(true); });
  } catch (const std::system_error& e) {
    return Status::Internal("PostgreSQL audit: cannot start the writer thread: " +
                            std::string(e.what()));
  }
  return std::unique_ptr<PostgresAuditSink>(new PostgresAuditSink(std::move(impl)));
}

Status PostgresAuditSink::Submit(engine::AuditRecord record) {
  return impl_->queue.Submit(Storable(impl_->opts, std::move(record)),
                             impl_->opts.durability == Durability::kSync);
}

void PostgresAuditSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  impl_->queue.SubmitThen(Storable(impl_->opts, std::move(record)), std::move(done));
}

Status PostgresAuditSink::Flush() { return impl_->queue.Flush(); }

Status PostgresAuditSink::Close() {
  Impl& m = *impl_;
  return m.queue.Close([&m] {
    // Unlocked here, not by the disconnect: the server releases a session's
    // locks only once its backend has exited, a moment after we hang up.
    if (m.conn && !PgConnectionLost(m.conn.get()))
      (void)m.Query("SELECT pg_advisory_unlock(hashtext('tosgate.audit:' || $1))",
                    {m.opts.instance}, "releasing the instance's advisory lock", nullptr);
    m.Disconnect();
  });
}

PostgresAuditSink::Stats PostgresAuditSink::stats() const {
  Stats s = impl_->queue.stats<Stats>();
  s.reconnects = impl_->reconnects.load();
  s.anchors = impl_->anchors.load();
  s.anchor_errors = impl_->anchor_errors.load();
  return s;
}

const std::string& PostgresAuditSink::instance() const { return impl_->opts.instance; }
const std::string& PostgresAuditSink::description() const { return impl_->description; }

}  // namespace tosgate::storage
