// Competitor-training cluster counts shared through Redis: two gateways'
// stores against one real redis-server see one cluster; keys expire; Redis
// down or answering nonsense is counted, never a crash, and recovers.
#include <doctest/doctest.h>

#include <random>

#include "storage/redis/behavior_store.h"
#include "storage/redis/conn.h"
#include "tests/storage/redis_server.h"

namespace tosgate::test {
namespace {

using storage::RedisBehaviorOptions;
using storage::RedisBehaviorStore;

std::string Prefix() {
  std::random_device rd;
  return "t:" + std::to_string(rd()) + ":";
}

std::unique_ptr<RedisBehaviorStore> Open(const RedisServer& redis, const std::string& prefix,
                                         size_t max_pending = 65536) {
  RedisBehaviorOptions o;
  o.url = redis.url();
  o.prefix = prefix;
  o.sync_interval = std::chrono::milliseconds(0);  // the test drives SyncNow
  o.command_timeout = std::chrono::seconds(5);
  o.max_pending = max_pending;
  auto r = RedisBehaviorStore::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(*r);
}

// Runs one Redis command through the store's own connection code.
storage::RedisReply Command(const RedisServer& redis, std::vector<std::string> args) {
  auto address = storage::ParseRedisUrl(redis.url());
  REQUIRE(address.ok());
  auto c = storage::RedisDial(*address, std::chrono::seconds(1), std::chrono::seconds(5));
  REQUIRE(c.ok());
  auto r = storage::RedisCommand(c->get(), *address, args);
  REQUIRE(r.ok());
  return std::move(*r);
}

std::string KeyOf(const std::string& prefix, uint64_t bucket, char kind) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx}:%c", static_cast<unsigned long long>(bucket), kind);
  return prefix + "cl:{" + buf;
}

constexpr uint64_t kBucket = 0xfeedULL;

TEST_CASE("redis clusters: accounts linked on two gateways count as one cluster") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  const std::string prefix = Prefix();
  auto a = Open(redis, prefix);
  auto b = Open(redis, prefix);
  // 150 accounts reach gateway a, 150 others gateway b, all with one template.
  for (uint64_t i = 0; i < 150; ++i) a->Link(kBucket, 1000 + i, 0.8f, 0);
  for (uint64_t i = 0; i < 150; ++i) b->Link(kBucket, 5000 + i, 0.4f, 0);
  const auto local_only = a->Link(kBucket, 1000, 0.8f, 0);
  CHECK(local_only.accounts < 200);  // each gateway alone sees about half
  REQUIRE(a->SyncNow().ok());
  REQUIRE(b->SyncNow().ok());
  // a's next round with a link of the bucket brings back the fleet's
  // count, b's accounts included; a's later links answer with it.
  a->Link(kBucket, 1001, 0.8f, 0);
  REQUIRE(a->SyncNow().ok());
  const auto fleet = a->Link(kBucket, 1002, 0.8f, 0);
  CHECK(fleet.accounts >= 285);  // HyperLogLog: 0.81% standard error over 300
  CHECK(fleet.accounts <= 315);
  // The mean suspicion of every link, from both gateways: about 0.6.
  CHECK(fleet.suspicion == doctest::Approx(0.6).epsilon(0.05));
  CHECK(a->counters().rounds == 2);
  CHECK(a->counters().links_sent == 152);  // 150 + two probes (the third waits)
  CHECK(a->counters().errors == 0);
  // An unrelated bucket is untouched by the shared one.
  CHECK(b->Link(kBucket + 1, 7, 0.1f, 0).accounts == 1);

  // Both keys of the bucket carry the expiry, so Redis memory stays bounded.
  for (char kind : {'h', 's'}) {
    auto ttl = Command(redis, {"PTTL", KeyOf(prefix, kBucket, kind)});
    REQUIRE(ttl->type == REDIS_REPLY_INTEGER);
    CHECK(ttl->integer > 0);
    CHECK(ttl->integer <= 24 * 3600 * 1000);
  }
}

TEST_CASE("redis clusters: Redis down drops the round's links (counted), local view answers, recovery") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  auto store = Open(redis, Prefix());
  for (uint64_t i = 0; i < 40; ++i) store->Link(kBucket, i, 0.5f, 0);
  REQUIRE(store->SyncNow().ok());

  redis.Stop();
  for (uint64_t i = 40; i < 50; ++i) store->Link(kBucket, i, 0.5f, 0);
  const Status down = store->SyncNow();
  CHECK(down.code() == Status::Code::kUnavailable);
  CHECK(store->counters().links_dropped == 10);
  CHECK(store->counters().errors >= 1);
  // Still answering from what this gateway saw itself.
  const auto local = store->Link(kBucket, 50, 0.5f, 0);
  CHECK(local.accounts >= 45);

  redis.Start();  // same port, empty, without the script
  REQUIRE(store->SyncNow().ok());
  CHECK(store->counters().rounds == 2);
}

TEST_CASE("redis clusters: unexpected replies are counted errors, not a crash") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  const std::string prefix = Prefix();
  auto store = Open(redis, prefix);
  // Someone else's string where the HyperLogLog should be: PFADD fails.
  Command(redis, {"SET", KeyOf(prefix, kBucket, 'h'), "not a hyperloglog"});
  store->Link(kBucket, 1, 0.5f, 0);
  store->Link(kBucket + 1, 1, 0.5f, 0);
  const Status s = store->SyncNow();
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK(s.message().find("unexpected replies") != std::string::npos);
  CHECK(store->counters().errors == 1);
  // The other bucket of the same round was written.
  auto count = Command(redis, {"PFCOUNT", KeyOf(prefix, kBucket + 1, 'h')});
  REQUIRE(count->type == REDIS_REPLY_INTEGER);
  CHECK(count->integer == 1);
}

TEST_CASE("redis clusters: the queue of links is bounded; overflow is counted") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  auto store = Open(redis, Prefix(), /*max_pending=*/16);  // one per shard
  for (uint64_t i = 0; i < 100; ++i) store->Link(kBucket, i, 0.5f, 0);
  CHECK(store->counters().links_dropped == 99);
  REQUIRE(store->SyncNow().ok());
  CHECK(store->counters().links_sent == 1);
}

TEST_CASE("redis clusters: a wrong password or nothing listening is an error at start-up") {
  if (!RedisAvailable()) return;
  RedisServer redis("secret");
  RedisBehaviorOptions o;
  o.url = "redis://:wrong@127.0.0.1:" + std::to_string(redis.port());
  o.sync_interval = std::chrono::milliseconds(0);
  auto r = RedisBehaviorStore::Open(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("AUTH") != std::string::npos);
  o.url = "http://127.0.0.1:1";
  CHECK_FALSE(RedisBehaviorStore::Open(o).ok());
}

}  // namespace
}  // namespace tosgate::test
