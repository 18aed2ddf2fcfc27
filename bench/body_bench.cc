// What reading a request body costs: engine::ParseBody on a 4 KB Chat
// Completions body (a system message and ten turns), against parsing the
// same bytes into a full DOM with nlohmann::json in the same run — the
// parser tosgate used before, and the usual choice.
//
//   build/bench/body_bench
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "engine/body_parser.h"

namespace {

std::string ChatBody(size_t bytes) {
  std::string body = R"({"model":"m-large","max_tokens":512,"temperature":0.7,"messages":[)";
  body += R"({"role":"system","content":"You are a helpful assistant for a travel company."})";
  for (int turn = 0; body.size() < bytes - 200; ++turn) {
    body += turn % 2 ? R"(,{"role":"assistant","content":")" : R"(,{"role":"user","content":")";
    body += "Turn " + std::to_string(turn) +
            ": I would like to plan a trip to Lisbon in May, with a day in Sintra and good "
            "seafood; what would you suggest for three days?\"}";
  }
  return body + "]}";
}

void BM_ParseBody(benchmark::State& state) {
  const std::string body = ChatBody(4096);
  tosgate::RequestBody out;
  for (auto _ : state) {
    tosgate::Status s = tosgate::engine::ParseBody(body, &out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.prompt_chars);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_NlohmannDom(benchmark::State& state) {
  const std::string body = ChatBody(4096);
  for (auto _ : state) {
    nlohmann::json j = nlohmann::json::parse(body);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

BENCHMARK(BM_ParseBody);
BENCHMARK(BM_NlohmannDom);

}  // namespace

BENCHMARK_MAIN();
