// What a guard rule adds to a decision, against the project's stand-in
// classifier (the mock upstream, answering at once on loopback): a decision
// on a 1 KB prompt without a guard rule, then with one whose verdict is in
// the cache (the same prompt again), and with one that must ask (a new
// prompt each time), for both wire formats. Prints p50 and p99 per decision
// and what the guard added to the baseline's p50.
//
//   build/bench/guard_bench            # N=2000 decisions per case by default
//
// The stand-in answers in microseconds; a real classifier adds its own
// inference time to every miss (docs/guard.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/guard/http_guard_client.h"
#include "tools/mock_upstream/mock_upstream.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "policies/loader.h"
#include "tosgate/clock.h"

using namespace tosgate;

namespace {

struct Stats {
  double p50_us = 0, p99_us = 0;
};

Stats Percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

std::string Prompt(size_t i) {
  // About 1 KB of ordinary words; `i` makes it unique when asked to.
  std::string p = "request " + std::to_string(i) + ": ";
  while (p.size() < 1024) p += "please summarise the quarterly report and list the main risks ";
  return p;
}

std::shared_ptr<const engine::PolicySnapshot> Load(const std::string& rules) {
  const std::string yaml =
      "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: bench}\n"
      "operations: {chat: {paths: [/v1/chat/completions]}}\n"
      "rules:\n"
      "  - {id: purpose, kind: attribute, when: {field: request.purpose, eq: model-training}}\n" +
      rules;
  policies::LoadResult r = policies::LoadPolicyFiles({{"bench.yaml", yaml}});
  if (!r.snapshot) {
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    std::exit(1);
  }
  return r.snapshot;
}

Stats Run(engine::Engine& e, size_t n, bool unique) {
  std::vector<double> us;
  us.reserve(n);
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  Account a;
  a.id = "bench";
  r.account = a;
  r.body.present = true;
  for (size_t i = 0; i < n + n / 10; ++i) {
    r.body.user_text = Prompt(unique ? i + 1 : 0);
    r.body.prompt_text = "user: " + r.body.user_text;
    const auto t0 = std::chrono::steady_clock::now();
    Decision d = e.Check(r);
    const auto t1 = std::chrono::steady_clock::now();
    if (d.effect != Effect::kAllow) std::fprintf(stderr, "unexpected %s\n", d.reason.c_str());
    if (i >= n / 10) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return Percentiles(std::move(us));
}

}  // namespace

int main() {
  const size_t n = std::getenv("N") ? std::strtoul(std::getenv("N"), nullptr, 10) : 2000;
  api::MockUpstreamOptions mo;
  mo.listen = "127.0.0.1:0";
  mo.threads = 1;
  auto mock = api::MockUpstream::Start(mo);
  if (!mock.ok()) return 1;
  const std::string base = "http://127.0.0.1:" + std::to_string((*mock)->port());
  std::unique_ptr<engine::GuardClient> client = api::NewHttpGuardClient();

  SystemClock clock;
  auto state = engine::NewMemoryStateStore();
  engine::Engine e({.clock = &clock, .state = state.get(), .guard = client.get()});

  e.Publish(Load(""));
  const Stats none = Run(e, n, false);
  std::printf("%-44s p50 %8.1f us  p99 %8.1f us\n", "no guard rule", none.p50_us, none.p99_us);
  struct Case {
    const char* name;
    std::string format, path;
  };
  for (const Case& c : {Case{"openai-moderation", "openai-moderation", "/v1/moderations"},
                        Case{"llama-guard", "llama-guard", "/v1/chat/completions"}}) {
    e.Publish(Load("  - {id: guard, kind: guard, format: " + c.format +
                   ", model: mock-guard, endpoint: '" + base + c.path +
                   "', timeout: 2s, failure_mode: closed}\n"));
    const Stats hit = Run(e, n, false);
    const Stats miss = Run(e, n, true);
    std::printf("%-44s p50 %8.1f us  p99 %8.1f us  added p50 %8.1f us\n",
                (std::string(c.name) + ", cache hit").c_str(), hit.p50_us, hit.p99_us,
                hit.p50_us - none.p50_us);
    std::printf("%-44s p50 %8.1f us  p99 %8.1f us  added p50 %8.1f us\n",
                (std::string(c.name) + ", cache miss (loopback stand-in)").c_str(), miss.p50_us,
                miss.p99_us, miss.p50_us - none.p50_us);
  }
  return 0;
}
