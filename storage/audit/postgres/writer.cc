// The PostgreSQL audit sink's writer side: sends a batch as one COPY (one
// transaction: group commit; the trace context and costs of its records,
// if any, in the same transaction), and after a failed commit reconnects and
// reads the chain back (the queue, retries with backoff and waiters are
// storage/audit/batch_queue.h's). Every round trip is bounded by io_timeout
// (non-blocking libpq + poll), so a server that hangs is a failed commit,
// not a stuck writer. See storage/audit/postgres/sink.h.
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "engine/hex.h"
#include "storage/audit/postgres/sink_impl.h"
#include "storage/audit/postgres/schema.h"

namespace tosgate::storage {
namespace {

// COPY text format: a field with \, tab, newline or CR escaped (the record
// is valid UTF-8 without NUL bytes by now: see MakeValidUtf8).
void AppendText(std::string& out, const std::string& s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
  out.push_back('\t');
}

void AppendInt(std::string& out, int64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
  out.push_back('\t');
}

// Shortest text that reads back as the same double; NaN is NULL, as in
// the SQLite store (the chain hashes every NaN alike).
void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) out += "\\N";
  else if (std::isinf(v)) out += v > 0 ? "Infinity" : "-Infinity";
  else {
    char b[32];
    auto r = std::to_chars(b, b + sizeof b, v);
    out.append(b, r.ptr);
  }
  out.push_back('\t');
}

// bytea's hex text form: "\\x0a1b..".
std::string ByteaHex(std::string_view bytes) { return "\\x" + engine::ToHex(bytes); }

// The same in COPY text, whose escape doubles the backslash.
void AppendBytea(std::string& out, std::string_view bytes, char end) {
  out.push_back('\\');
  out += ByteaHex(bytes);
  out.push_back(end);
}

void AppendRow(std::string& out, const std::string& instance, uint64_t seq,
               const AuditRow& r, std::string_view prev, std::string_view hash) {
  AppendText(out, instance);
  AppendInt(out, static_cast<int64_t>(seq));
  AppendText(out, r.id);
  AppendInt(out, r.time_ms);
  AppendText(out, r.request_id);
  AppendText(out, r.account);
  AppendText(out, r.key_id);
  AppendText(out, r.org);
  AppendText(out, r.client_ip);
  AppendText(out, r.method);
  AppendText(out, r.path);
  AppendText(out, r.operation);
  AppendText(out, r.model);
  AppendText(out, r.effect);
  out += r.enforced ? "t\t" : "f\t";
  AppendInt(out, r.status);
  AppendText(out, r.reason);
  AppendText(out, r.rule_ids);
  AppendText(out, r.matches);
  AppendDouble(out, r.risk);
  AppendText(out, r.policy_revision);
  AppendText(out, r.prompt_sha256);
  AppendInt(out, r.latency_us);
  AppendBytea(out, prev, '\t');
  AppendBytea(out, hash, '\n');
}

// tosgate_traces and tosgate_costs rows, in COPY text, for the batch's
// records that carry a trace context or a cost; most carry neither, and
// then nothing is appended.
void AppendSideRows(std::string& traces, std::string& costs, const std::string& instance,
                    uint64_t first_seq, const std::vector<AuditBatchQueue::Item>& batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const AuditRow& r = batch[i].record;
    const auto seq = static_cast<int64_t>(first_seq + i);
    if (!r.traceparent.empty() || !r.tracestate.empty()) {
      AppendText(traces, instance);
      AppendInt(traces, seq);
      AppendText(traces, r.traceparent);
      AppendText(traces, r.tracestate);
      traces.back() = '\n';
    }
    if (r.cost_reserved_nano >= 0 || r.cost_settled_nano >= 0) {
      AppendText(costs, instance);
      AppendInt(costs, seq);
      AppendInt(costs, r.cost_reserved_nano);
      AppendInt(costs, r.cost_settled_nano);
      costs.back() = '\n';
    }
  }
}

}  // namespace

void PostgresAuditSink::Impl::Disconnect() { conn.reset(); }

// Flushes what libpq holds to send, then reads results until the command is
// done (or COPY is ready for data). `last`, if given, gets the last result.
Status PostgresAuditSink::Impl::RoundTrip(Clock::time_point deadline, const char* what,
                                          PgResult* last) {
  PGconn* c = conn.get();
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (PQsocket(c) < 0) return PgStatus(c, nullptr, what);  // poll would ignore it
    pollfd p{PQsocket(c), events, 0};
    const int n = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (n > 0) return Status::Ok();
    return Status::Unavailable(PgDescribe(c) + ": " + what + ": no answer within " +
                               std::to_string(opts.io_timeout.count()) + " ms");
  };
  for (int f; (f = PQflush(c)) != 0;) {
    if (f < 0) return PgStatus(c, nullptr, what);
    if (Status s = wait(POLLIN | POLLOUT); !s.ok()) return s;
    if (!PQconsumeInput(c)) return PgStatus(c, nullptr, what);
  }
  Status failure;
  for (;;) {
    while (PQisBusy(c)) {
      if (Status s = wait(POLLIN); !s.ok()) return s;
      if (!PQconsumeInput(c)) return PgStatus(c, nullptr, what);
    }
    PgResult r(PQgetResult(c));
    if (!r) break;
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_COPY_IN) return failure;  // the caller sends the rows now
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      if (failure.ok()) failure = PgStatus(c, r.get(), what);
    } else if (last) {
      *last = std::move(r);
    }
  }
  if (failure.ok() && PgConnectionLost(c)) return PgStatus(c, nullptr, what);
  return failure;
}

Status PostgresAuditSink::Impl::Query(const char* sql, const std::vector<std::string>& params,
                                      const char* what, PgResult* out) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  if (!PQsendQueryParams(conn.get(), sql, static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0))
    return PgStatus(conn.get(), nullptr, what);
  return RoundTrip(Clock::now() + opts.io_timeout, what, out);
}

Status PostgresAuditSink::Impl::Connect() {
  auto c = ConnectPostgres(opts.dsn, opts.connect_timeout);
  if (!c.ok()) return c.status();
  conn = std::move(c).value();
  PQsetnonblocking(conn.get(), 1);
  const std::string timeout = "SET statement_timeout = " + std::to_string(opts.io_timeout.count());
  Status s = Query(timeout.c_str(), {}, "setting statement_timeout", nullptr);
  PgResult locked;
  if (s.ok()) {
    s = Query("SELECT pg_try_advisory_lock(hashtext('tosgate.audit:' || $1))", {opts.instance},
              "taking the instance's advisory lock", &locked);
  }
  if (s.ok() && PgText(locked.get(), 0, 0) != "t") {
    s = Status::AlreadyExists(
        PgDescribe(conn.get()) + ": audit instance '" + opts.instance +
        "' is already being written by another live gateway (it holds the instance's advisory "
        "lock); give each gateway its own audit.instance");
  }
  if (!s.ok()) Disconnect();
  return s;
}

Status PostgresAuditSink::Impl::ReadChainEnd(uint64_t* seq, std::string* hash) {
  PgResult r;
  if (Status s = Query("SELECT seq, hash FROM tosgate_decisions WHERE instance = $1 "
                       "ORDER BY seq DESC LIMIT 1",
                       {opts.instance}, "reading the instance's last decision", &r);
      !s.ok())
    return s;
  if (PQntuples(r.get()) == 0) {
    *seq = 0;
    *hash = AuditGenesisHash();
    return Status::Ok();
  }
  const std::string text = PgText(r.get(), 0, 0);
  uint64_t got = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), got);
  std::string h = PgBytea(r.get(), 0, 1);
  if (parsed.ec != std::errc() || h.size() != kAuditHashSize) {
    return Status::InvalidArgument(PgDescribe(conn.get()) + ": the last decision of instance '" +
                                   opts.instance + "' (seq " + text +
                                   ") has no valid hash; its chain cannot be continued");
  }
  *seq = got;
  *hash = std::move(h);
  return Status::Ok();
}

// After a failed commit, on a new connection: where does the instance's
// chain end now? At our last commit (the batch did not land: write it), at
// the failed batch's end (it landed before the connection died: done), or
// elsewhere (another writer continued the instance while the lock was
// free: continue after it, so the chain stays whole).
Status PostgresAuditSink::Impl::Resync(bool* already_written) {
  uint64_t seq = 0;
  std::string hash;
  if (Status s = ReadChainEnd(&seq, &hash); !s.ok()) return s;
  *already_written = attempt_end_seq != 0 && seq == attempt_end_seq && hash == attempt_end_hash;
  next_seq = seq + 1;
  prev_hash = std::move(hash);
  return Status::Ok();
}

// Sends one statement and reads its result, by `deadline`.
Status PostgresAuditSink::Impl::Run(const std::string& sql, const std::vector<const char*>& values,
                                    Clock::time_point deadline) {
  if (!PQsendQueryParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0))
    return PgStatus(conn.get(), nullptr, "writing decisions");
  return RoundTrip(deadline, "writing decisions", nullptr);
}

// COPY `rows` (COPY text) with `copy` ("COPY table (columns) FROM STDIN").
Status PostgresAuditSink::Impl::CopyIn(const std::string& copy, const std::string& rows,
                                       Clock::time_point deadline) {
  PGconn* c = conn.get();
  if (!PQsendQuery(c, copy.c_str())) return PgStatus(c, nullptr, "starting COPY");
  if (Status s = RoundTrip(deadline, "starting COPY", nullptr); !s.ok()) return s;
  // Non-blocking libpq grows its buffer rather than refuse (0 would mean
  // it could not allocate); RoundTrip then sends it, bounded by the deadline.
  if (PQputCopyData(c, rows.data(), static_cast<int>(rows.size())) != 1 ||
      PQputCopyEnd(c, nullptr) != 1)
    return PgStatus(c, nullptr, "sending decisions");
  return RoundTrip(deadline, "writing decisions", nullptr);
}

// The same rows as multi-row INSERTs of up to kRowsPerInsert rows (25
// parameters each; PostgreSQL takes at most 65535), inside the caller's
// transaction.
Status PostgresAuditSink::Impl::InsertRows(const std::vector<Item>& batch,
                                           const std::vector<std::string>& hashes,
                                           Clock::time_point deadline) {
  constexpr size_t kRowsPerInsert = 1000;
  constexpr int kCols = 25;
  std::vector<std::string> text;
  std::vector<const char*> values;
  for (size_t from = 0; from < batch.size(); from += kRowsPerInsert) {
    const size_t to = std::min(batch.size(), from + kRowsPerInsert);
    std::string sql = "INSERT INTO tosgate_decisions (" + std::string(kPostgresDecisionColumns) +
                      ") VALUES ";
    text.clear();
    text.reserve((to - from) * kCols);
    for (size_t i = from; i < to; ++i) {
      const AuditRow& r = batch[i].record;
      const std::string& prev = i == 0 ? prev_hash : hashes[i - 1];
      const size_t base = text.size();
      sql += i == from ? "(" : ",(";
      for (int k = 1; k <= kCols; ++k)
        sql += "$" + std::to_string(base + static_cast<size_t>(k)) + (k < kCols ? "," : ")");
      char d[32];
      const auto dr = std::to_chars(d, d + sizeof d, r.risk);
      for (std::string v : {opts.instance, std::to_string(next_seq + i), r.id,
                            std::to_string(r.time_ms), r.request_id, r.account, r.key_id, r.org,
                            r.client_ip, r.method, r.path, r.operation, r.model, r.effect,
                            std::string(r.enforced ? "t" : "f"), std::to_string(r.status),
                            r.reason, r.rule_ids, r.matches, std::string(d, dr.ptr),
                            r.policy_revision, r.prompt_sha256, std::to_string(r.latency_us),
                            std::string(), std::string()})
        text.push_back(std::move(v));
      text[base + 23] = ByteaHex(prev);
      text[base + 24] = ByteaHex(hashes[i]);
    }
    values.clear();
    for (size_t k = 0; k < text.size(); ++k) {
      const bool nan_risk = k % kCols == 19 && std::isnan(batch[from + k / kCols].record.risk);
      values.push_back(nan_risk ? nullptr : text[k].c_str());
    }
    if (Status s = Run(sql, values, deadline); !s.ok()) return s;
  }
  return Status::Ok();
}

Status PostgresAuditSink::Impl::WriteBatch(const std::vector<Item>& batch) {
  buffer.clear();
  uint64_t seq = next_seq;
  std::string prev = prev_hash;
  std::vector<std::string> hashes;
  for (const Item& item : batch) {
    std::string hash = AuditChainHash(prev, seq, item.record, &scratch);
    if (opts.use_copy) AppendRow(buffer, opts.instance, seq, item.record, prev, hash);
    else hashes.push_back(hash);
    prev = std::move(hash);
    ++seq;
  }
  attempt_end_seq = seq - 1;
  attempt_end_hash = prev;
  traces.clear();
  costs.clear();
  AppendSideRows(traces, costs, opts.instance, next_seq, batch);

  // One transaction: a record lands with its trace context and cost, which
  // the chain hashes; a lone COPY is a transaction of its own.
  const auto deadline = Clock::now() + opts.io_timeout;
  const bool transaction = !opts.use_copy || !traces.empty() || !costs.empty();
  Status s = transaction ? Run("BEGIN", {}, deadline) : Status::Ok();
  if (s.ok()) {
    s = opts.use_copy ? CopyIn("COPY tosgate_decisions (" +
                                   std::string(kPostgresDecisionColumns) + ") FROM STDIN",
                               buffer, deadline)
                      : InsertRows(batch, hashes, deadline);
  }
  if (s.ok() && !traces.empty()) {
    s = CopyIn("COPY tosgate_traces (" + std::string(kPostgresTraceColumns) + ") FROM STDIN",
               traces, deadline);
  }
  if (s.ok() && !costs.empty()) {
    s = CopyIn("COPY tosgate_costs (" + std::string(kPostgresCostColumns) + ") FROM STDIN", costs,
               deadline);
  }
  if (s.ok() && transaction) s = Run("COMMIT", {}, deadline);
  if (!s.ok()) return s;
  next_seq = seq;
  prev_hash = std::move(prev);
  attempt_end_seq = 0;
  return Status::Ok();
}

Status PostgresAuditSink::Impl::CheckAnchor() {
  if (!opts.anchor) return Status::Ok();
  auto latest = opts.anchor->Latest();
  if (!latest.ok()) return Prefixed(latest.status(), "audit anchor: ");
  const uint64_t end = next_seq - 1;
  if (!*latest) {
    published_seq = 0;
    if (end > 0) PublishAnchor(true);
    return Status::Ok();
  }
  const AuditCheckpoint& a = **latest;
  std::string problem;
  if (a.store != "postgres" || a.instance != opts.instance) {
    problem = a.store != "postgres" ? "it is an SQLite store's anchor"
                                    : "it is instance '" + a.instance + "''s anchor";
  } else if (end < a.seq) {
    problem = "the chain ends at seq " + std::to_string(end) + ", before the anchored seq " +
              std::to_string(a.seq) + ": records at the end were deleted";
  } else {
    PgResult r;
    if (Status s = Query("SELECT hash FROM tosgate_decisions WHERE instance = $1 AND seq = $2",
                         {opts.instance, std::to_string(a.seq)}, "reading the anchored decision",
                         &r);
        !s.ok())
      return s;
    if (PQntuples(r.get()) == 0)
      problem = "seq " + std::to_string(a.seq) + ", which the anchor names, is missing: deleted";
    else if (PgBytea(r.get(), 0, 0) != a.hash)
      problem = "seq " + std::to_string(a.seq) +
                " does not have the anchored hash: the records up to it were rewritten";
  }
  if (!problem.empty()) {
    return Status::InvalidArgument(
        PgDescribe(conn.get()) + ": audit instance '" + opts.instance + "' does not match its " +
        opts.anchor->Describe() + ": " + problem + ". Run `tosgate audit verify --dsn DSN --anchor " +
        "FILE`; if the store was replaced on purpose (a restore), move the anchor aside");
  }
  published_seq = a.seq;
  return Status::Ok();
}

void PostgresAuditSink::Impl::PublishAnchor(bool force) {
  const uint64_t end = next_seq - 1;
  if (!opts.anchor || end <= published_seq) return;
  if (!force && end - published_seq < opts.anchor_every) return;
  AuditCheckpoint cp;
  cp.store = "postgres";
  cp.instance = opts.instance;
  cp.seq = end;
  cp.hash = prev_hash;
  cp.signed_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  if (opts.anchor->Publish(cp).ok()) {
    published_seq = end;
    ++anchors;
  } else {
    ++anchor_errors;
  }
}

Status PostgresAuditSink::Impl::Commit(const std::vector<Item>& batch) {
  Status s;
  bool already_written = false;
  if (!conn) {
    s = Connect();
    if (s.ok()) ++reconnects;
  }
  if (s.ok() && need_resync) {
    s = Resync(&already_written);
    if (s.ok()) need_resync = false;
  }
  if (s.ok() && !already_written) s = WriteBatch(batch);
  if (!s.ok()) {
    // The connection's state is unknown (a COPY may have committed just
    // before it died): start afresh and read the chain back.
    Disconnect();
    need_resync = true;
    return s;
  }
  // After the commit: an anchor never names a record the database could
  // still take back.
  PublishAnchor(false);
  return s;
}

}  // namespace tosgate::storage
