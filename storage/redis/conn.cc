#include "storage/redis/conn.h"

namespace tosgate::storage {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

struct Argv {
  explicit Argv(const std::vector<std::string>& args) {
    for (const std::string& a : args) ptrs.push_back(a.data()), lens.push_back(a.size());
  }
  int argc() const { return static_cast<int>(ptrs.size()); }
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
};

}  // namespace

std::string RedisWhere(const RedisAddress& a) { return "redis " + a.host + ":" + std::to_string(a.port); }

Result<RedisReply> RedisCommand(redisContext* c, const RedisAddress& a,
                                const std::vector<std::string>& args) {
  Argv argv(args);
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, argv.argc(), argv.ptrs.data(), argv.lens.data()));
  if (!r) return Status::Unavailable(RedisWhere(a) + ": " + (c->errstr[0] ? c->errstr : "no reply"));
  return RedisReply(r);
}

void RedisAppend(redisContext* c, const std::vector<std::string>& args) {
  Argv argv(args);
  redisAppendCommandArgv(c, argv.argc(), argv.ptrs.data(), argv.lens.data());
}

Result<RedisContext> RedisDial(const RedisAddress& a, std::chrono::milliseconds connect_timeout,
                               std::chrono::milliseconds command_timeout) {
  RedisContext c(redisConnectWithTimeout(a.host.c_str(), a.port, ToTimeval(connect_timeout)));
  if (!c) return Status::Unavailable(RedisWhere(a) + ": cannot allocate a connection");
  if (c->err) return Status::Unavailable(RedisWhere(a) + ": " + c->errstr);
  redisSetTimeout(c.get(), ToTimeval(command_timeout));
  auto expect_ok = [&](std::vector<std::string> args, const char* what) -> Status {
    Result<RedisReply> r = RedisCommand(c.get(), a, args);
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_ERROR)
      return Status::Unavailable(RedisWhere(a) + ": " + what + " failed: " + (*r)->str);
    return Status::Ok();
  };
  if (!a.password.empty())
    if (Status s = expect_ok({"AUTH", a.password}, "AUTH"); !s.ok()) return s;
  if (a.db != 0)
    if (Status s = expect_ok({"SELECT", std::to_string(a.db)}, "SELECT"); !s.ok()) return s;
  return c;
}

Result<std::string> RedisLoadScript(redisContext* c, const RedisAddress& a, const char* script) {
  Result<RedisReply> r = RedisCommand(c, a, {"SCRIPT", "LOAD", script});
  if (!r.ok()) return r.status();
  if ((*r)->type != REDIS_REPLY_STRING)
    return Status::Unavailable(RedisWhere(a) + ": SCRIPT LOAD failed: " +
                               ((*r)->type == REDIS_REPLY_ERROR ? (*r)->str : "unexpected reply"));
  return std::string((*r)->str, (*r)->len);
}

bool IsNoScript(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT");
}

}  // namespace tosgate::storage
