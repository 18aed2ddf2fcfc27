// Two gateways' engines, each scoring competitor-training with its cluster
// counts in one Redis: a campaign whose accounts a load balancer spreads
// over both is scored as one cluster, which neither gateway alone sees.
#include <doctest/doctest.h>

#include <random>

#include "storage/redis/behavior_store.h"
#include "tests/engine/distill_support.h"
#include "tests/storage/redis_server.h"

namespace tosgate::test {
namespace {

// Only the cluster signal counts; a bucket counts from 14 accounts, fully
// from 22.
engine::DistillConfig ClusterOnly() {
  engine::DistillConfig c = TestConfig();
  c.params.weights = {0, 0, 0, 0, 0, 0, 0, 0.9};
  c.params.cluster_min = 14, c.params.cluster_full = 22;
  c.thresholds = {0.3, -1, -1, -1, -1};
  return c;
}

std::unique_ptr<storage::RedisBehaviorStore> Clusters(const RedisServer& redis, const std::string& prefix) {
  storage::RedisBehaviorOptions o;
  o.url = redis.url();
  o.prefix = prefix;
  o.sync_interval = std::chrono::milliseconds(0);
  o.command_timeout = std::chrono::seconds(5);
  auto r = storage::RedisBehaviorStore::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(*r);
}

// Account i of 24 sharing one payment fingerprint, output-heavy, unrelated
// prompts and addresses; even accounts reach gateway 0, odd ones gateway 1.
double Campaign(DistillRig* gw[2], int round) {
  Lcg r(static_cast<uint64_t>(round) + 1);
  double worst = 0;
  for (int i = 0; i < 24; ++i) {
    Request q = DistillRequest("acct" + std::to_string(i), RandomPrompt(r), std::to_string(10 + i) + ".1.2.3");
    q.account->payment_fingerprint = "pf_campaign";
    q.body.max_tokens = 4096;
    DistillRig& g = *gw[i % 2];
    worst = std::max(worst, g.Check(q).risk);
    g.clock.advance_ms(1000);
  }
  return worst;
}

TEST_CASE("fleet clusters: accounts spread over two gateways are one cluster through Redis") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  std::random_device rd;
  const std::string prefix = "t:" + std::to_string(rd()) + ":";

  // Alone (memory stores), each gateway sees 12 accounts: below 14, no risk.
  DistillRig m0(ClusterOnly()), m1(ClusterOnly());
  DistillRig* alone[2] = {&m0, &m1};
  CHECK(Campaign(alone, 0) == 0);
  CHECK(Campaign(alone, 1) == 0);

  auto s0 = Clusters(redis, prefix), s1 = Clusters(redis, prefix);
  storage::RedisBehaviorStore* stores[2] = {s0.get(), s1.get()};
  DistillRig f0(ClusterOnly(), std::move(s0)), f1(ClusterOnly(), std::move(s1));
  DistillRig* fleet[2] = {&f0, &f1};
  CHECK(Campaign(fleet, 0) == 0);  // nothing synced yet: the local view
  for (auto* s : stores) REQUIRE(s->SyncNow().ok());
  // The next round's links bring back the fleet's count of 24 accounts.
  Campaign(fleet, 1);
  for (auto* s : stores) REQUIRE(s->SyncNow().ok());
  CHECK(Campaign(fleet, 2) >= 0.8);
}

}  // namespace
}  // namespace tosgate::test
