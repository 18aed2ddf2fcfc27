// Engine::Check on the default policy pack: what one in-process decision
// costs, with a ~1 KB chat prompt, as a forward-auth front end would ask it.
//
//   build/bench/engine_bench                          # everything
//   build/bench/engine_bench --benchmark_filter=Latency
//   ENGINE_BENCH_POLICY=DIR build/bench/engine_bench  # another policy directory
//
// BM_Check measures throughput (decisions/s); BM_CheckLatency times every
// call with steady_clock and reports p50/p99/p99.9 in microseconds (the two
// clock reads, ~40 ns, are included). Each runs without an audit sink and
// with a trivial in-memory one, on 1 and 2 threads. Requests cycle over
// 100k enterprise accounts so that rate limits leave nearly everything
// allowed; the `allowed` counter says how much was.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/accounts.h"
#include "engine/audit_sink.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "policies/builtin/builtin_packs.h"
#include "policies/loader.h"
#include "tosgate/clock.h"
#include "tosgate/request.h"

namespace {

using namespace tosgate;

// The default pack imports built-in packs by name, as the CLI loads it.
policies::LoadOptions BuiltinPackOptions() {
  policies::LoadOptions options;
  options.packs = &policies::BuiltinPacks();
  return options;
}

// 100k accounts; ENGINE_BENCH_ACCOUNTS=N for fewer (a profile under
// valgrind need not wait for 100k keys to be hashed).
const int kAccounts = [] {
  const char* n = std::getenv("ENGINE_BENCH_ACCOUNTS");
  return n && std::atoi(n) > 0 ? std::atoi(n) : 100'000;
}();
constexpr size_t kPromptBytes = 1024;

// Takes every record and keeps only a count: the cost of handing a record
// over, without any storage behind it.
class CountingSink final : public engine::AuditSink {
 public:
  Status Submit(engine::AuditRecord record) override {
    bytes_.fetch_add(record.id.size() + record.rule_ids.size() + record.matches.size(), std::memory_order_relaxed);
    return Status::Ok();
  }

 private:
  std::atomic<uint64_t> bytes_{0};
};

// The texts of one chat request as the body parser fills them: the system
// and user messages, and prompt_text with both behind their roles. The user
// turn is ~1 KB of support-ticket prose; `variant` changes a few words and
// numbers in it so that consecutive requests differ, as real ones do (a
// per-thread cache of the last text scored would otherwise answer every
// request after the first).
struct PromptTexts {
  std::string system, user, all;
};

PromptTexts Prompt(int variant) {
  static const char* const kProducts[] = {"blender", "kettle", "router", "backpack", "desk lamp",
                                          "headphones", "monitor", "coffee grinder"};
  static const char* const kMoods[] = {"frustrated", "polite", "confused", "impatient"};
  PromptTexts t;
  t.system = "You are a helpful assistant for an online store.";
  const std::string product = kProducts[variant % 8], mood = kMoods[variant / 8 % 4];
  const std::string order = std::to_string(100'000 + variant * 7'919 % 900'000);
  const std::string sentences[] = {
      "Summarize the following support ticket and suggest a polite reply to the customer. ",
      "The customer is " + mood + " because order " + order + " arrived late and the " + product +
          " inside was scratched. ",
      "They ask whether they can return the " + product + " after " +
          std::to_string(14 + variant % 17) + " days and who pays for shipping. ",
      "Keep the reply short, thank them for their patience, and offer a replacement or a refund. ",
  };
  for (size_t i = 0; t.system.size() + t.user.size() + 16 < kPromptBytes; ++i)
    t.user += sentences[(i + static_cast<size_t>(variant)) % 4];
  t.user.resize(kPromptBytes - t.system.size() - 16);
  t.all = "system: " + t.system + "\nuser: " + t.user + "\n";
  return t;
}

// Built once for every benchmark: the compiled default pack, the accounts,
// the key ids requests carry, and one engine per sink variant.
struct World {
  std::shared_ptr<const engine::PolicySnapshot> snapshot;
  engine::MemoryAccountDirectory accounts;
  std::vector<std::string> key_ids;
  std::vector<std::string> client_ips;
  SystemClock clock;
  std::unique_ptr<engine::StateStore> state_plain = engine::NewMemoryStateStore();
  std::unique_ptr<engine::StateStore> state_sink = engine::NewMemoryStateStore();
  CountingSink sink;
  std::unique_ptr<engine::Engine> plain;      // no audit sink
  std::unique_ptr<engine::Engine> with_sink;  // CountingSink

  World() {
    // ENGINE_BENCH_POLICY=DIR: another policy directory, e.g. the one-rule
    // policy of bench/nginx_module_cost.sh, for the engine's fixed cost per
    // check without the default pack's content rules.
    const char* policy = std::getenv("ENGINE_BENCH_POLICY");
    const char* dir = policy && *policy ? policy : TOSGATE_SOURCE_DIR "/policies/packs/default";
    policies::LoadResult loaded = policies::LoadPolicyDir(dir, BuiltinPackOptions());
    if (!loaded.errors.empty() || !loaded.snapshot) {
      for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
      std::fprintf(stderr, "engine_bench: cannot load %s\n", dir);
      std::exit(1);
    }
    snapshot = loaded.snapshot;

    std::vector<Account> list;
    list.reserve(kAccounts);
    for (int i = 0; i < kAccounts; ++i) {
      Account a;
      a.id = "acct_" + std::to_string(i);
      a.org = "org_" + std::to_string(i / 10);
      a.tier = "enterprise";
      a.country = "US";
      a.created_ms = 1'700'000'000'000;
      key_ids.push_back(engine::KeyId("sk-bench-" + std::to_string(i)));
      a.key_ids.push_back(key_ids.back());
      client_ips.push_back("10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) +
                           "." + std::to_string(i & 255));
      list.push_back(std::move(a));
    }
    accounts.Replace(std::move(list));

    plain = std::make_unique<engine::Engine>(
        engine::EngineOptions{&clock, state_plain.get(), nullptr, &accounts});
    with_sink = std::make_unique<engine::Engine>(
        engine::EngineOptions{&clock, state_sink.get(), &sink, &accounts});
    plain->Publish(snapshot);
    with_sink->Publish(snapshot);
  }
};

World& TheWorld() {
  static World world;
  return world;
}

// A chat request as the forward-auth front end fills it; identity is set per
// call from the account index.
Request ChatRequest(int variant) {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.headers = {{"content-type", "application/json"},
               {"user-agent", "openai-python/1.54.0"},
               {"accept", "application/json"},
               {"x-original-method", "POST"},
               {"x-original-uri", "/v1/chat/completions"},
               {"x-tos-proxy", "nginx"}};
  r.purpose = "customer-support";
  r.body.present = true;
  r.body.model = "m-large";
  r.body.max_tokens = 512;
  r.body.message_count = 2;
  PromptTexts t = Prompt(variant);
  r.body.prompt_text = std::move(t.all);
  r.body.system_text = std::move(t.system);
  r.body.user_text = std::move(t.user);
  r.body.prompt_chars = static_cast<int64_t>(r.body.prompt_text.size());
  return r;
}

// Requests are taken in turn from this many prompts.
constexpr int kVariants = 64;

// ENGINE_BENCH_PROMPT_ONLY=1: the request this bench sent before
// 2026-12-07 19:00 UTC, for comparison with figures taken then: one prompt
// for every call, in prompt_text only, so the content rules (which read user
// and system text) scan empty strings and the classifier never runs.
bool PromptOnly() {
  const char* e = std::getenv("ENGINE_BENCH_PROMPT_ONLY");
  return e && *e == '1';
}

std::vector<Request> ChatRequests() {
  std::vector<Request> out;
  for (int v = 0; v < kVariants; ++v) {
    out.push_back(ChatRequest(PromptOnly() ? 0 : v));
    if (PromptOnly()) out.back().body.system_text.clear(), out.back().body.user_text.clear();
  }
  return out;
}

engine::Engine& EngineFor(const benchmark::State& state) {
  return state.range(0) ? *TheWorld().with_sink : *TheWorld().plain;
}

// Each thread walks the accounts from its own starting point.
struct Cursor {
  explicit Cursor(const benchmark::State& state)
      : next(static_cast<size_t>(state.thread_index()) * static_cast<size_t>(kAccounts / 2 + 7919) % static_cast<size_t>(kAccounts)) {}
  // The next request: the next prompt, for the next account.
  Request& Next() {
    const World& w = TheWorld();
    Request& r = requests[next % kVariants];
    r.key_id = w.key_ids[next];
    r.client_ip = w.client_ips[next];
    if (++next == static_cast<size_t>(kAccounts)) next = 0;
    return r;
  }
  size_t next;
  std::vector<Request> requests = ChatRequests();
};

void ReportEffects(benchmark::State& state, uint64_t allowed, uint64_t total) {
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.counters["allowed"] =
      benchmark::Counter(total ? 100.0 * static_cast<double>(allowed) / static_cast<double>(total) : 0,
                         benchmark::Counter::kAvgThreads);
}

void BM_Check(benchmark::State& state) {
  engine::Engine& engine = EngineFor(state);
  Cursor cursor(state);
  uint64_t allowed = 0, total = 0;
  for (auto _ : state) {
    const Request& req = cursor.Next();
    Decision d = engine.Check(req);
    allowed += d.effect == Effect::kAllow;
    ++total;
    benchmark::DoNotOptimize(d);
  }
  ReportEffects(state, allowed, total);
}

void BM_CheckLatency(benchmark::State& state) {
  engine::Engine& engine = EngineFor(state);
  Cursor cursor(state);
  std::vector<int64_t> ns;
  ns.reserve(1 << 20);
  uint64_t allowed = 0;
  for (auto _ : state) {
    const Request& req = cursor.Next();
    const auto t0 = std::chrono::steady_clock::now();
    Decision d = engine.Check(req);
    const auto t1 = std::chrono::steady_clock::now();
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    allowed += d.effect == Effect::kAllow;
    benchmark::DoNotOptimize(d);
  }
  ReportEffects(state, allowed, ns.size());
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t i = std::min(ns.size() - 1, static_cast<size_t>(q * static_cast<double>(ns.size())));
    return static_cast<double>(ns[i]) / 1000.0;
  };
  // Averaged over threads: each thread's own percentile, then the mean.
  state.counters["p50_us"] = benchmark::Counter(at(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(at(0.99), benchmark::Counter::kAvgThreads);
  state.counters["p999_us"] = benchmark::Counter(at(0.999), benchmark::Counter::kAvgThreads);
}

void SinkArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("sink");
  b->Arg(0)->Arg(1);
  b->UseRealTime();
}

BENCHMARK(BM_Check)->Apply(SinkArgs)->Threads(1)->Threads(2);
BENCHMARK(BM_CheckLatency)->Apply(SinkArgs)->Threads(1)->Threads(2);

}  // namespace

// ENGINE_BENCH_PROFILE=N runs N warm checks (sink:0, one thread) outside
// Google Benchmark and exits: a fixed amount of work for callgrind, whose
// slow first calls would otherwise make the framework run one iteration.
//   ENGINE_BENCH_PROFILE=2000 valgrind --tool=callgrind
//       --toggle-collect='tosgate::engine::Engine::Check(*' build/bench/engine_bench
int main(int argc, char** argv) {
  if (const char* n = std::getenv("ENGINE_BENCH_PROFILE"); n && *n) {
    const long iterations = std::strtol(n, nullptr, 10);
    engine::Engine& engine = *TheWorld().plain;
    std::vector<Request> requests = ChatRequests();
    uint64_t allowed = 0;
    for (long i = -100; i < iterations; ++i) {  // 100 warm-up calls first
      const auto at = static_cast<size_t>(i + 100);
      Request& req = requests[at % kVariants];
      req.key_id = TheWorld().key_ids[at % static_cast<size_t>(kAccounts)];
      req.client_ip = TheWorld().client_ips[at % static_cast<size_t>(kAccounts)];
      allowed += engine.Check(req).effect == Effect::kAllow;
    }
    std::printf("%ld checks, %llu allowed\n", iterations + 100, static_cast<unsigned long long>(allowed));
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
