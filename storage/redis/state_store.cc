#include "storage/redis/state_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage/redis/conn.h"
#include "storage/redis/script.h"

namespace tosgate::storage {
namespace {

using engine::Meter;
using engine::MeterResult;
using engine::MeterSpec;

using Reply = RedisReply;
using Context = RedisContext;

std::string_view MeterName(Meter m) {
  switch (m) {
    case Meter::kWindow: return "window";
    case Meter::kGcra: return "gcra";
    case Meter::kPeriod: return "period";
  }
  return "window";
}

bool ParseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<RedisAddress> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme)
    return Status::InvalidArgument("state url '" + std::string(url) +
                                   "' must start with redis:// (redis://[:password@]host:port[/db])");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    if (size_t colon = cred.find(':'); colon != std::string_view::npos) cred = cred.substr(colon + 1);
    a.password = std::string(cred);
    rest = rest.substr(at + 1);
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!ParseInt(db, &a.db) || a.db < 0))
      return Status::InvalidArgument("state url '" + std::string(url) + "': database '" +
                                     std::string(db) + "' is not a number");
    rest = rest.substr(0, slash);
  }
  const size_t close = rest.find(']');
  if (size_t colon = rest.rfind(':');
      colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    std::string_view port = rest.substr(colon + 1);
    if (!ParseInt(port, &a.port) || a.port <= 0 || a.port > 65535)
      return Status::InvalidArgument("state url '" + std::string(url) + "': bad port '" +
                                     std::string(port) + "'");
    rest = rest.substr(0, colon);
  }
  if (rest.size() >= 2 && rest.front() == '[' && rest.back() == ']') rest = rest.substr(1, rest.size() - 2);
  if (!rest.empty()) a.host = std::string(rest);
  return a;
}

// One connection and the calls queued on it. Calls from concurrent threads
// are pipelined: the first caller to find the lane idle becomes its leader,
// writes every queued call at once, reads the replies in order, and hands
// them out; the others wait. One thread alone pays no hand-off, many share
// round trips (as a group commit does). Only the leader touches `ctx`.
struct Lane {
  struct Pending {
    const std::vector<std::string>* argv;
    Result<Reply> result = Status::Unavailable("not sent");
    bool done = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Pending*> queue;
  bool leader = false;
  Context ctx;             // null: to be dialled
  int64_t next_dial_ns = 0;  // after a failed dial, not before this
};

struct RedisStateStore::Impl {
  RedisStateOptions options;
  RedisAddress address;
  std::string sha;  // of kRedisStateScript, from SCRIPT LOAD; set once in Open
  SystemClock system_clock;
  const Clock* clock = nullptr;
  std::vector<std::unique_ptr<Lane>> lanes;
  std::atomic<uint64_t> next_lane{0};
  std::atomic<uint64_t> calls{0}, errors{0}, reconnects{0}, batches{0};

  std::string Where() const { return RedisWhere(address); }

  Result<Reply> Command(redisContext* c, const std::vector<std::string>& args) {
    return RedisCommand(c, address, args);
  }

  // Dials, authenticates, selects the database and loads the script.
  Result<Context> Dial() {
    Result<Context> c = RedisDial(address, options.connect_timeout, options.command_timeout);
    if (!c.ok()) return c.status();
    Result<std::string> digest = RedisLoadScript(c->get(), address, kRedisStateScript);
    if (!digest.ok()) return digest.status();
    // The same digest on every connection: only the first dial (in Open,
    // before any other thread runs) records it; later ones only load.
    if (sha.empty()) sha = std::move(*digest);
    return c;
  }

  // Makes sure the lane has a connection; Unavailable while a recent dial
  // failed, so that a dead Redis costs no connect timeout per call.
  Status Connect(Lane& lane) {
    if (lane.ctx) return Status::Ok();
    const int64_t now = clock->monotonic_ns();
    if (now < lane.next_dial_ns) return Status::Unavailable(Where() + " is unreachable (retrying shortly)");
    Result<Context> c = Dial();
    if (!c.ok()) {
      lane.next_dial_ns = clock->monotonic_ns() +
          std::chrono::duration_cast<std::chrono::nanoseconds>(options.retry_interval).count();
      return c.status();
    }
    reconnects.fetch_add(1, std::memory_order_relaxed);
    lane.ctx = std::move(*c);
    return Status::Ok();
  }

  // The leader's round trip: every call of `batch` written, then read.
  void RunBatch(Lane& lane, const std::vector<Lane::Pending*>& batch) {
    batches.fetch_add(1, std::memory_order_relaxed);
    if (Status s = Connect(lane); !s.ok()) {
      for (Lane::Pending* p : batch) p->result = s;
      return;
    }
    for (Lane::Pending* p : batch) RedisAppend(lane.ctx.get(), *p->argv);
    size_t i = 0;
    for (; i < batch.size(); ++i) {
      void* r = nullptr;
      if (redisGetReply(lane.ctx.get(), &r) != REDIS_OK || !r) break;
      batch[i]->result = Reply(static_cast<redisReply*>(r));
    }
    if (i < batch.size()) {  // the connection broke: this call and the rest fail
      const Status broken = Status::Unavailable(
          Where() + ": " + (lane.ctx->errstr[0] ? lane.ctx->errstr : "connection lost"));
      for (; i < batch.size(); ++i) batch[i]->result = broken;
      lane.ctx.reset();
      return;
    }
    // A server that lost the script (restarted, SCRIPT FLUSH): load, resend.
    for (Lane::Pending* p : batch) {
      const redisReply* r = p->result.ok() ? p->result->get() : nullptr;
      if (!IsNoScript(r)) continue;
      Result<Reply> load = Command(lane.ctx.get(), {"SCRIPT", "LOAD", kRedisStateScript});
      p->result = load.ok() ? Command(lane.ctx.get(), *p->argv) : load.status();
      if (lane.ctx->err) {
        lane.ctx.reset();
        return;
      }
    }
  }

  // One script call (EVALSHA) on one of the lanes, pipelined with the
  // calls other threads make on it at the same moment.
  Result<Reply> Eval(std::string_view key, std::vector<std::string> args) {
    calls.fetch_add(1, std::memory_order_relaxed);
    std::vector<std::string> argv{"EVALSHA", sha, "1", options.prefix + std::string(key)};
    for (std::string& a : args) argv.push_back(std::move(a));
    Lane& lane = *lanes[next_lane.fetch_add(1, std::memory_order_relaxed) % lanes.size()];
    Lane::Pending me{&argv};
    std::unique_lock lock(lane.mu);
    lane.queue.push_back(&me);
    while (!me.done) {
      if (lane.leader) {
        lane.cv.wait(lock);
        continue;
      }
      lane.leader = true;
      std::vector<Lane::Pending*> batch;
      batch.swap(lane.queue);
      lock.unlock();
      RunBatch(lane, batch);
      lock.lock();
      for (Lane::Pending* p : batch) p->done = true;
      lane.leader = false;
      lane.cv.notify_all();
    }
    lock.unlock();
    Result<Reply>& r = me.result;
    if (r.ok() && (*r)->type == REDIS_REPLY_ERROR)
      r = Status::Unavailable("redis: " + std::string((*r)->str, (*r)->len));
    if (!r.ok()) errors.fetch_add(1, std::memory_order_relaxed);
    return std::move(r);
  }

  std::string Now(int64_t now_ns) const {
    return options.server_time ? "-1" : std::to_string(now_ns / 1000);
  }

  std::vector<std::string> MeterArgs(std::string_view op, const MeterSpec& s, int64_t amount) const {
    return {std::string(op),
            std::string(MeterName(s.meter)),
            std::to_string(s.limit),
            std::to_string(std::max<int64_t>(1, s.period_ns / 1000)),
            std::to_string(s.burst),
            std::to_string(s.period_index),
            std::to_string(s.period_left_ns / 1000),
            std::to_string(amount)};
  }

  Result<MeterResult> ToResult(const Reply& r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return Status::Unavailable("redis: unexpected reply to the state script");
    }
    int64_t v[6];
    for (size_t i = 0; i < 6; ++i) {
      if (r->element[i]->type != REDIS_REPLY_INTEGER) {
        errors.fetch_add(1, std::memory_order_relaxed);
        return Status::Unavailable("redis: unexpected reply to the state script");
      }
      v[i] = r->element[i]->integer;
    }
    MeterResult m;
    m.allowed = v[0] != 0;
    m.used = v[1];
    m.remaining = v[2];
    m.retry_after_ns = v[3] * 1000;
    m.reset_ns = v[4] * 1000;
    m.delay_ns = v[5] * 1000;
    return m;
  }
};

RedisStateStore::RedisStateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisStateStore::~RedisStateStore() = default;

Result<std::unique_ptr<RedisStateStore>> RedisStateStore::Open(RedisStateOptions options) {
  Result<RedisAddress> address = ParseRedisUrl(options.url);
  if (!address.ok()) return address.status();
  if (options.connections < 1) return Status::InvalidArgument("state connections must be >= 1");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->address = std::move(*address);
  impl->clock = impl->options.clock ? impl->options.clock : &impl->system_clock;
  Result<Context> first = impl->Dial();
  if (!first.ok()) return first.status();
  for (int i = 0; i < impl->options.connections; ++i) impl->lanes.push_back(std::make_unique<Lane>());
  impl->lanes[0]->ctx = std::move(*first);  // the others dial on first use
  return std::unique_ptr<RedisStateStore>(new RedisStateStore(std::move(impl)));
}

Result<MeterResult> RedisStateStore::Take(std::string_view key, const MeterSpec& spec, int64_t cost,
                                          int64_t now_ns, int64_t max_delay_ns) {
  if (spec.limit <= 0 || spec.period_ns <= 0)
    return Status::InvalidArgument("limit and period must be > 0");
  if (cost < 0) return Status::InvalidArgument("cost must be >= 0");
  std::vector<std::string> args = impl_->MeterArgs("take", spec, cost);
  args.push_back(impl_->Now(now_ns));
  args.push_back(std::to_string(max_delay_ns / 1000));
  Result<Reply> r = impl_->Eval(key, std::move(args));
  if (!r.ok()) return r.status();
  return impl_->ToResult(*r);
}

Status RedisStateStore::Adjust(std::string_view key, const MeterSpec& spec, int64_t taken_at_ns,
                               int64_t delta, int64_t now_ns) {
  if (spec.limit <= 0 || spec.period_ns <= 0)
    return Status::InvalidArgument("limit and period must be > 0");
  std::vector<std::string> args = impl_->MeterArgs("adjust", spec, delta);
  args.push_back(impl_->Now(now_ns));
  // On the server's clock the time of the take is given as its age.
  args.push_back(std::to_string((impl_->options.server_time ? now_ns - taken_at_ns : taken_at_ns) / 1000));
  Result<Reply> r = impl_->Eval(key, std::move(args));
  return r.ok() ? Status::Ok() : r.status();
}

Result<MeterResult> RedisStateStore::Acquire(std::string_view key, uint64_t lease_id, int64_t limit,
                                             int64_t now_ns, int64_t ttl_ns) {
  if (limit <= 0 || ttl_ns <= 0) return Status::InvalidArgument("limit and lease time must be > 0");
  Result<Reply> r = impl_->Eval(key, {"acquire", std::to_string(limit), std::to_string(ttl_ns / 1000),
                                      std::to_string(lease_id), impl_->Now(now_ns)});
  if (!r.ok()) return r.status();
  return impl_->ToResult(*r);
}

void RedisStateStore::Release(std::string_view key, uint64_t lease_id) {
  (void)impl_->Eval(key, {"release", std::to_string(lease_id)});  // else the lease's TTL frees it
}

RedisStateCounters RedisStateStore::counters() const {
  return {impl_->calls.load(std::memory_order_relaxed), impl_->errors.load(std::memory_order_relaxed),
          impl_->reconnects.load(std::memory_order_relaxed),
          impl_->batches.load(std::memory_order_relaxed)};
}

}  // namespace tosgate::storage
