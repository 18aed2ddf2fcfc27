#include "storage/postgres_audit.h"

#include <system_error>
#include <thread>
#include <utility>

#include "storage/postgres_audit_impl.h"
#include "storage/postgres_audit_schema.h"

namespace tosgate::storage {

using postgres_audit_internal::Item;

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

void MakeRecordStorable(engine::AuditRecord& r) {
  for (std::string* s : {&r.id, &r.request_id, &r.account, &r.key_id, &r.org, &r.client_ip,
                         &r.method, &r.path, &r.operation, &r.model, &r.effect, &r.reason,
                         &r.rule_ids, &r.matches, &r.policy_revision, &r.prompt_sha256})
    MakeValidUtf8(s);
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
  try {
    p->writer = std::thread([p] { p->Run(); });
  } catch (const std::system_error& e) {
    return Status::Internal("PostgreSQL audit: cannot start the writer thread: " +
                            std::string(e.what()));
  }
  return std::unique_ptr<PostgresAuditSink>(new PostgresAuditSink(std::move(impl)));
}

// Queues `item` (moving from it) or returns why not (leaving it as it was).
Status PostgresAuditSink::Impl::Enqueue(Item& item) {
  if (opts.truncate_client_ip) item.record.client_ip = TruncateClientIp(item.record.client_ip);
  MakeRecordStorable(item.record);
  if (item.done) item.deadline = Clock::now() + opts.commit_timeout;
  std::unique_lock lock(mu);
  if (!closing && pending() >= opts.queue_capacity) {
    ++space_waiters;
    const bool room = space_cv.wait_for(lock, opts.queue_wait, [this] {
      return closing || pending() < opts.queue_capacity;
    });
    --space_waiters;
    if (!room) {
      ++rejected_full;
      std::string msg = "PostgreSQL audit: queue full (" + std::to_string(pending()) +
                        " records not yet written)";
      if (!last_error.ok()) msg += "; last write error: " + last_error.message();
      return Status::ResourceExhausted(std::move(msg));
    }
  }
  if (closing) return Status::Unavailable("PostgreSQL audit: the sink is closed");
  queue.push_back(std::move(item));
  ++submitted;
  const bool wake = writer_idle;
  lock.unlock();
  if (wake) work_cv.notify_one();
  return Status::Ok();
}

Status PostgresAuditSink::Submit(engine::AuditRecord record) {
  Item item{std::move(record), nullptr};
  if (impl_->opts.durability == Durability::kAsync) return impl_->Enqueue(item);
  // The waiter lives on this stack: the writer calls `done` exactly once
  // and this returns only after it did.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  } w;
  item.done = [&w](Status s) {
    std::lock_guard lock(w.mu);
    w.status = std::move(s);
    w.done = true;
    w.cv.notify_one();
  };
  if (Status s = impl_->Enqueue(item); !s.ok()) return s;
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&w] { return w.done; });
  return w.status;
}

void PostgresAuditSink::SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) {
  Item item{std::move(record), std::move(done)};
  if (Status s = impl_->Enqueue(item); !s.ok() && item.done) item.done(std::move(s));
}

Status PostgresAuditSink::Flush() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const uint64_t target = m.submitted;
  const uint64_t errors_before = m.write_errors;
  ++m.flush_waiters;
  m.progress_cv.wait(lock, [&] {
    return m.written + m.dropped >= target || m.write_errors != errors_before || m.writer_done;
  });
  --m.flush_waiters;
  if (m.written + m.dropped >= target && m.dropped == 0) return Status::Ok();
  if (m.dropped != 0) {
    return Status::IoError("PostgreSQL audit: " + std::to_string(m.dropped) +
                           " records were given up at close: " + m.last_error.message());
  }
  return Status::Unavailable(std::to_string(m.pending()) +
                             " audit records not yet written, will retry: " +
                             m.last_error.message());
}

Status PostgresAuditSink::Close() {
  Impl& m = *impl_;
  std::lock_guard close_lock(m.close_mu);
  if (m.closed) return m.close_status;
  {
    std::lock_guard lock(m.mu);
    m.closing = true;
    m.close_deadline = Impl::Clock::now() + m.opts.close_timeout;
  }
  m.work_cv.notify_all();
  m.space_cv.notify_all();
  if (m.writer.joinable()) m.writer.join();
  // Unlocked here, not by the disconnect: the server releases a session's
  // locks only once its backend has exited, a moment after we hang up.
  if (m.conn && !PgConnectionLost(m.conn.get()))
    (void)m.Query("SELECT pg_advisory_unlock(hashtext('tosgate.audit:' || $1))", {m.opts.instance},
                  "releasing the instance's advisory lock", nullptr);
  m.Disconnect();
  m.closed = true;
  std::lock_guard lock(m.mu);
  if (m.dropped != 0) {
    m.close_status = Status::IoError("PostgreSQL audit: " + std::to_string(m.dropped) +
                                     " records could not be written before closing: " +
                                     m.last_error.message());
  }
  return m.close_status;
}

PostgresAuditSink::Stats PostgresAuditSink::stats() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  Stats s;
  s.submitted = m.submitted;
  s.written = m.written;
  s.rejected_full = m.rejected_full;
  s.write_errors = m.write_errors;
  s.batches = m.batches;
  s.commit_timeouts = m.commit_timeouts;
  s.reconnects = m.reconnects;
  s.dropped = m.dropped;
  s.queue_depth = static_cast<size_t>(m.pending());
  return s;
}

const std::string& PostgresAuditSink::instance() const { return impl_->opts.instance; }
const std::string& PostgresAuditSink::description() const { return impl_->description; }

}  // namespace tosgate::storage
