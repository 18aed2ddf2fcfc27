// The C ABI from C++: many threads checking one engine at once, a reload in
// the middle of it, and decisions read by several threads.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tosgate/tosgate.h"

namespace {

// 100 requests a minute per account: far more than the test takes, so the
// count is exact whatever the timing.
const char* kPolicy = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: threads}
identity: {unknown_keys: {tier: free}}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: rate.rpm
    kind: rate_limit
    scope: [account]
    limit: {requests: 100, per: 1m}
)";

struct Engine {
  tosgate_engine* e = nullptr;
  explicit Engine(const char* yaml) {
    tosgate_config* c = tosgate_config_create();
    tosgate_config_set_policy_yaml(c, yaml, "threads.yaml");
    char* error = nullptr;
    e = tosgate_engine_create(c, &error);
    tosgate_config_destroy(c);
    if (error) FAIL(std::string(error));
    tosgate_free_string(error);
  }
  ~Engine() { tosgate_engine_destroy(e); }
};

}  // namespace

TEST_CASE("checks from many threads count every request exactly once") {
  Engine engine(kPolicy);
  REQUIRE(engine.e != nullptr);
  constexpr int kThreads = 4, kPerThread = 75;  // 300 requests for 100 places
  std::atomic<int> allowed{0}, throttled{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        char* error = nullptr;
        tosgate_decision* d = tosgate_check(engine.e, "POST", "/v1/chat/completions", nullptr,
                                            "sk-shared", nullptr, nullptr, 0, nullptr, &error);
        if (!d) {
          ++errors;
          tosgate_free_string(error);
          continue;
        }
        (tosgate_decision_effect(d) == TOSGATE_ALLOW ? allowed : throttled)++;
        tosgate_decision_destroy(d);
      }
    });
  }
  // A reload of the same rule while the checks run: id and limit are
  // unchanged, so the count carries over and stays exact.
  char* error = nullptr;
  CHECK(tosgate_engine_reload_yaml(engine.e, kPolicy, "threads.yaml", &error) == 0);
  CHECK(error == nullptr);
  tosgate_free_string(error);
  for (auto& t : threads) t.join();
  CHECK(errors.load() == 0);
  CHECK(allowed.load() == 100);
  CHECK(throttled.load() == 200);
}

TEST_CASE("a decision can be read by several threads at once, explanation included") {
  Engine engine(kPolicy);
  REQUIRE(engine.e != nullptr);
  tosgate_decision* d = tosgate_check_json(engine.e, R"({"path": "/v1/chat/completions"})", nullptr);
  REQUIRE(d != nullptr);
  std::vector<std::thread> readers;
  std::vector<std::string> seen(4);
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&, t] { seen[t] = tosgate_decision_explain(d); });
  for (auto& t : readers) t.join();
  CHECK(!seen[0].empty());
  for (const std::string& s : seen) CHECK(s == seen[0]);
  // The explanation is computed once and kept: the same pointer every time.
  CHECK(tosgate_decision_explain(d) == tosgate_decision_explain(d));
  tosgate_decision_destroy(d);
}

TEST_CASE("error messages replace the one already in the out-parameter") {
  char* error = nullptr;
  CHECK(tosgate_engine_create(nullptr, &error) == nullptr);
  REQUIRE(error != nullptr);
  // A second failure frees the first message (LeakSanitizer would notice).
  CHECK(tosgate_check(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr,
                      &error) == nullptr);
  REQUIRE(error != nullptr);
  CHECK(std::strstr(error, "engine is NULL") != nullptr);
  tosgate_free_string(error);
}
