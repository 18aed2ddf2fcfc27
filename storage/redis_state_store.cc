#include "storage/redis_state_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage/redis_script.h"

namespace tosgate::storage {
namespace {

using engine::Meter;
using engine::MeterResult;
using engine::MeterSpec;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

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

struct RedisStateStore::Impl {
  RedisStateOptions options;
  RedisAddress address;
  std::string sha;  // of kRedisStateScript, from SCRIPT LOAD
  SystemClock system_clock;
  const Clock* clock = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Context> idle;  // connections not in use
  int open = 0;               // connections dialled and not dropped
  int64_t next_dial_ns = 0;   // after a failed dial, not before this
  bool dialled_once = false;

  std::atomic<uint64_t> calls{0}, errors{0}, reconnects{0};

  Result<Reply> Command(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
    if (!r) return Status::Unavailable("redis " + address.host + ":" + std::to_string(address.port) +
                                       ": " + (c->errstr[0] ? c->errstr : "no reply"));
    return Reply(r);
  }

  // Dials, authenticates, selects the database and loads the script.
  Result<Context> Dial() {
    Context c(redisConnectWithTimeout(address.host.c_str(), address.port,
                                      ToTimeval(options.connect_timeout)));
    const std::string where = "redis " + address.host + ":" + std::to_string(address.port);
    if (!c) return Status::Unavailable(where + ": cannot allocate a connection");
    if (c->err) return Status::Unavailable(where + ": " + c->errstr);
    redisSetTimeout(c.get(), ToTimeval(options.command_timeout));
    auto expect_ok = [&](std::vector<std::string> args, const char* what) -> Status {
      Result<Reply> r = Command(c.get(), args);
      if (!r.ok()) return r.status();
      if ((*r)->type == REDIS_REPLY_ERROR)
        return Status::Unavailable(where + ": " + what + " failed: " + (*r)->str);
      return Status::Ok();
    };
    if (!address.password.empty())
      if (Status s = expect_ok({"AUTH", address.password}, "AUTH"); !s.ok()) return s;
    if (address.db != 0)
      if (Status s = expect_ok({"SELECT", std::to_string(address.db)}, "SELECT"); !s.ok()) return s;
    Result<Reply> r = Command(c.get(), {"SCRIPT", "LOAD", kRedisStateScript});
    if (!r.ok()) return r.status();
    if ((*r)->type != REDIS_REPLY_STRING)
      return Status::Unavailable(where + ": SCRIPT LOAD failed: " +
                                 ((*r)->type == REDIS_REPLY_ERROR ? (*r)->str : "unexpected reply"));
    sha.assign((*r)->str, (*r)->len);  // the same for every connection
    return c;
  }

  // Borrows a connection, dialling one when the pool has room. Unavailable
  // while a recent dial failed, so that a dead Redis costs no timeouts.
  Result<Context> Borrow() {
    std::unique_lock lock(mu);
    for (;;) {
      if (!idle.empty()) {
        Context c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
      if (open < options.connections) break;
      cv.wait(lock);
    }
    const int64_t now = clock->monotonic_ns();
    if (now < next_dial_ns)
      return Status::Unavailable("redis " + address.host + ":" + std::to_string(address.port) +
                                 " is unreachable (retrying shortly)");
    ++open;
    lock.unlock();
    Result<Context> c = Dial();
    lock.lock();
    if (!c.ok()) {
      --open;
      next_dial_ns = clock->monotonic_ns() +
                     std::chrono::duration_cast<std::chrono::nanoseconds>(options.retry_interval).count();
      cv.notify_one();
      return c.status();
    }
    if (dialled_once) reconnects.fetch_add(1, std::memory_order_relaxed);
    dialled_once = true;
    return c;
  }

  void Return(Context c) {
    std::lock_guard lock(mu);
    if (c && c->err == 0) idle.push_back(std::move(c));
    else --open;  // broken: dropped, re-dialled by a later call
    cv.notify_one();
  }

  // One script call: EVALSHA, with a reload when the server lost the script
  // (restarted, or SCRIPT FLUSH).
  Result<Reply> Eval(std::string_view key, std::vector<std::string> args) {
    calls.fetch_add(1, std::memory_order_relaxed);
    Result<Context> c = Borrow();
    if (!c.ok()) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return c.status();
    }
    std::vector<std::string> argv{"EVALSHA", sha, "1", options.prefix + std::string(key)};
    for (std::string& a : args) argv.push_back(std::move(a));
    Result<Reply> r = Command(c->get(), argv);
    if (r.ok() && (*r)->type == REDIS_REPLY_ERROR && std::string_view((*r)->str).starts_with("NOSCRIPT")) {
      Result<Reply> load = Command(c->get(), {"SCRIPT", "LOAD", kRedisStateScript});
      if (load.ok() && (*load)->type == REDIS_REPLY_STRING) r = Command(c->get(), argv);
    }
    Status failed;
    if (!r.ok()) failed = r.status();
    else if ((*r)->type == REDIS_REPLY_ERROR)
      failed = Status::Unavailable("redis: " + std::string((*r)->str, (*r)->len));
    Return(std::move(*c));
    if (!failed.ok()) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return failed;
    }
    return r;
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
  impl->dialled_once = true;
  impl->open = 1;
  impl->idle.push_back(std::move(*first));
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
          impl_->reconnects.load(std::memory_order_relaxed)};
}

}  // namespace tosgate::storage
