// One hiredis connection and what every Redis-backed store does with it:
// dial (with AUTH and SELECT), send a command, load a script, recognise a
// NOSCRIPT answer. Private to storage/ (it includes hiredis); not
// thread-safe: one thread uses a connection at a time.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/redis/state_store.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisContext = std::unique_ptr<redisContext, RedisContextDeleter>;

// "redis host:port", for messages (never the password).
std::string RedisWhere(const RedisAddress& a);

// Connects with `connect_timeout`, sets `command_timeout` on every later
// read and write, authenticates and selects the database. Unavailable,
// naming the server and what failed (refused, AUTH, SELECT), otherwise.
Result<RedisContext> RedisDial(const RedisAddress& a, std::chrono::milliseconds connect_timeout,
                               std::chrono::milliseconds command_timeout);

// Sends one command and waits for its reply (which may be an error reply).
Result<RedisReply> RedisCommand(redisContext* c, const RedisAddress& a,
                                const std::vector<std::string>& args);

// Appends one command to the connection's output buffer (a pipeline: the
// replies are read later with redisGetReply, in order).
void RedisAppend(redisContext* c, const std::vector<std::string>& args);

// SCRIPT LOAD: the script's SHA-1 digest, for EVALSHA.
Result<std::string> RedisLoadScript(redisContext* c, const RedisAddress& a, const char* script);

// Whether `r` is the error a server that no longer has a script answers.
bool IsNoScript(const redisReply* r);

}  // namespace tosgate::storage
