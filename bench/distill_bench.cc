// What competitor_training adds to a decision, and what it keeps per account.
//
//   build/bench/distill_bench
//   build/bench/distill_bench --benchmark_filter=Check --benchmark_repetitions=5
//
// BM_Check/0 runs Engine::Check on the default pack with its
// competitor_training rule switched off, BM_Check/1 on the whole default
// pack, in the same process, over
// the same requests: ~1 KB templated prompts from 20k accounts with rotating
// addresses, so that every signal and cluster link does its work. The
// difference is the rule's cost. BM_CheckBenign/0 and /1 do the same on
// ordinary traffic that matches nothing (free-word prompts of 40-600 bytes,
// short answers, one address per account). BM_StateBytes prints the heap
// bytes one tracked account costs in the memory BehaviorStore (mallinfo2)
// and one cluster bucket: at 100k accounts, while its tables are growing,
// and at 250k, its default bound.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "engine/distill/behavior_store.h"
#include "engine/distill/text_features.h"
#include "engine/engine.h"
#include "policies/builtin/builtin_packs.h"
#include "policies/loader.h"
#include "tosgate/clock.h"

namespace {

using namespace tosgate;

constexpr int kAccounts = 20'000;
constexpr int kRequests = 1 << 14;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The default pack (which imports the prohibited-use and distillation packs),
// and without distillation the same set with that one rule switched off.
std::shared_ptr<const engine::PolicySnapshot> Load(bool with_distill) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"policy.yaml", ReadFile(TOSGATE_SOURCE_DIR "/policies/packs/default/policy.yaml")}};
  if (!with_distill) {
    files.emplace_back("off.yaml", R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: distill-off}
overrides:
  - {rule: distill.competitor-training, mode: off}
)");
  }
  policies::LoadOptions options;
  options.packs = &policies::BuiltinPacks();
  policies::LoadResult r = policies::LoadPolicyFiles(files, options);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  if (!r.snapshot) std::abort();
  return r.snapshot;
}

const char* const kWords[] = {"river",  "market",  "engine", "garden", "planet", "violin",
                              "harbor", "protein", "window", "silver", "forest", "algebra"};

// A seeded linear congruential generator: the same requests every run.
struct Lcg {
  uint64_t s;
  uint64_t operator()() { return (s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; }
};

// One chat request of one user message, as the body parser gives it.
Request Chat(std::string client_ip, std::string account, std::string payment, std::string user,
             int64_t max_tokens) {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.client_ip = std::move(client_ip);
  Account a;
  a.id = std::move(account);
  a.tier = "enterprise";
  a.org = "org";
  a.payment_fingerprint = std::move(payment);
  r.account = a;
  r.body.present = true;
  r.body.api = "chat";
  r.body.model = "gpt-test";
  r.body.max_tokens = max_tokens;
  r.body.message_count = 1;
  r.body.prompt_text = "user: " + user + "\n";
  r.body.user_text = std::move(user);
  r.body.prompt_chars = static_cast<int64_t>(r.body.prompt_text.size());
  return r;
}

std::vector<Request> Requests() {
  std::vector<Request> out;
  Lcg next{12345};
  for (int i = 0; i < kRequests; ++i) {
    std::string ip = "10." + std::to_string(next() % 256);
    ip += "." + std::to_string(next() % 256) + ".9";
    std::string account = "acct_" + std::to_string(next() % kAccounts);
    std::string payment = "pf_" + std::to_string(next() % 5000);
    std::string user = "You are a careful tutor. Answer the question below step by step. ";
    while (user.size() < 1000) user += std::string(kWords[next() % 12]) + " ";
    user.resize(1000);
    out.push_back(Chat(std::move(ip), std::move(account), std::move(payment), std::move(user), 2048));
  }
  return out;
}

const char* const kBenignWords[] = {
    "please", "summarize", "this",   "email",   "from",    "our",    "customer", "about",
    "the",    "late",      "order",  "draft",   "a",       "polite", "reply",    "translate",
    "into",   "french",    "fix",    "bug",     "in",      "my",     "python",   "function",
    "what",   "is",        "best",   "way",     "to",      "cook",   "rice",     "for",
    "dinner", "explain",   "how",    "tides",   "work",    "write",  "haiku",    "spring",
    "list",   "three",     "ideas",  "team",    "meeting", "why",    "does",     "sky"};

// Ordinary traffic: every account on its own address, prompts of free words
// (no template, no chain-of-thought phrase), 40-600 bytes, short answers.
std::vector<Request> BenignRequests() {
  std::vector<Request> out;
  Lcg next{67890};
  constexpr size_t kVocabulary = sizeof kBenignWords / sizeof kBenignWords[0];
  for (int i = 0; i < kRequests; ++i) {
    const uint64_t who = next() % kAccounts;
    const size_t length = 40 + next() % 560;
    std::string user;
    while (user.size() < length) user += std::string(kBenignWords[next() % kVocabulary]) + " ";
    const auto max_tokens = static_cast<int64_t>(64 + next() % 448);
    out.push_back(Chat("172." + std::to_string(16 + who % 16) + "." + std::to_string(who / 16 % 256) +
                           "." + std::to_string(who / 4096 + 1),
                       "user_" + std::to_string(who), "pf_user_" + std::to_string(who),
                       std::move(user), max_tokens));
  }
  return out;
}

struct World {
  SystemClock clock;
  std::vector<Request> requests = Requests();
  std::vector<Request> benign = BenignRequests();
  std::unique_ptr<engine::StateStore> state[2] = {engine::NewMemoryStateStore(),
                                                  engine::NewMemoryStateStore()};
  std::unique_ptr<engine::Engine> engine[2];
  World() {
    for (int i = 0; i < 2; ++i) {
      engine[i] = std::make_unique<engine::Engine>(
          engine::EngineOptions{&clock, state[i].get(), nullptr, nullptr});
      engine[i]->Publish(Load(i == 1));
    }
  }
};

World& TheWorld() {
  static World* w = new World();
  return *w;
}

// Engine::Check over `requests` on the engine st.range(0) picks: 0 the
// default pack without competitor_training, 1 the whole default pack.
void RunChecks(benchmark::State& st, const std::vector<Request>& requests, const char* traffic) {
  engine::Engine& e = *TheWorld().engine[st.range(0)];
  size_t i = 0, flagged = 0;
  for (auto _ : st) {
    Decision d = e.Check(requests[i++ % kRequests]);
    flagged += !d.matches.empty();
    benchmark::DoNotOptimize(d);
  }
  st.counters["matched"] = benchmark::Counter(static_cast<double>(flagged) / st.iterations());
  st.SetLabel(std::string(st.range(0) ? "default pack" : "default pack, competitor_training off") + traffic);
}

void BM_Check(benchmark::State& st) { RunChecks(st, TheWorld().requests, ""); }
BENCHMARK(BM_Check)->Arg(0)->Arg(1);

// The same two engines on ordinary traffic (BenignRequests): what the rule
// adds to a request that matches nothing.
void BM_CheckBenign(benchmark::State& st) { RunChecks(st, TheWorld().benign, ", benign"); }
BENCHMARK(BM_CheckBenign)->Arg(0)->Arg(1);

// The text part alone: fold, SimHash and topic of 256 bytes of a ~1 KB
// prompt (its first 170 and last 86, as the rule reads it by default), over
// 64 prompts that stay in cache, as a prompt just parsed does.
void BM_Text(benchmark::State& st) {
  World& w = TheWorld();
  std::string folded;
  size_t i = 0;
  for (auto _ : st) {
    const std::string_view user = w.requests[i++ % 64].body.user_text;
    folded.clear();
    engine::TextFeatures f;
    engine::TextExtractor x(3, &folded);
    x.Hash(user.substr(0, 170));
    x.Hash(user.substr(user.size() - 86));
    x.Finish(&f);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_Text);

// Heap in use, large (mmap-ed) blocks included: a shard's flat table
// passes the mmap threshold.
size_t HeapBytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

void BM_StateBytes(benchmark::State& st) {
  for (auto _ : st) {
    const size_t before = HeapBytes();
    auto store = engine::NewMemoryBehaviorStore();
    const int kN = static_cast<int>(st.range(0));
    for (int i = 0; i < kN; ++i)
      store->Update(static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL, i,
                    [](engine::AccountBehavior& b) { b.requests = 1; });
    const size_t accounts = HeapBytes();
    for (int i = 0; i < kN; ++i)
      (void)store->Link(static_cast<uint64_t>(i) * 0xC2B2AE3D27D4EB4FULL, i, 0, i);
    const size_t buckets = HeapBytes();
    st.counters["bytes_per_account"] = static_cast<double>(accounts - before) / kN;
    st.counters["bytes_per_bucket"] = static_cast<double>(buckets - accounts) / kN;
    st.counters["record_bytes"] = sizeof(engine::AccountBehavior);
  }
}
BENCHMARK(BM_StateBytes)->Arg(100'000)->Arg(250'000)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
