// Usage from every API shape the gateway relays, as the inline proxy reads
// it (UsageScanner, JSON and SSE) and as a plugin reports it (/v1/usage with
// the upstream's own usage object): the normalized counts cost budgets
// price, cached, cache-written and reasoning tokens included.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/request/responses.h"
#include "api/request/usage_report.h"
#include "api/request/usage_scanner.h"

using namespace tosgate;
using api::UsageScanner;

namespace {

engine::Usage Scan(const std::string& type, const std::string& body, size_t chunk = 7) {
  UsageScanner s(type);
  // Fed in small pieces: the stream may split anywhere.
  for (size_t at = 0; at < body.size(); at += chunk) s.Feed(std::string_view(body).substr(at, chunk));
  return s.Finish();
}

void CheckUsage(const engine::Usage& u, int64_t in, int64_t out, int64_t cached, int64_t written,
                int64_t reasoning) {
  CHECK(u.input_tokens == in);
  CHECK(u.output_tokens == out);
  CHECK(u.cached_input_tokens == cached);
  CHECK(u.cache_write_tokens == written);
  CHECK(u.reasoning_tokens == reasoning);
}

}  // namespace

TEST_CASE("usage: OpenAI Chat Completions, JSON and streamed, cached and reasoning tokens") {
  const std::string usage =
      R"({"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,)"
      R"("prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},)"
      R"("completion_tokens_details":{"reasoning_tokens":256,"audio_tokens":0}})";
  CheckUsage(Scan("application/json", R"({"id":"c1","choices":[],"usage":)" + usage + "}"),
             1200, 300, 1024, -1, 256);
  CheckUsage(Scan("text/event-stream",
                  "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
                  "data: {\"choices\":[],\"usage\":" + usage + "}\n\ndata: [DONE]\n\n"),
             1200, 300, 1024, -1, 256);
}

TEST_CASE("usage: OpenAI Responses, JSON and the response.completed event") {
  const std::string usage =
      R"({"input_tokens":900,"input_tokens_details":{"cached_tokens":512},)"
      R"("output_tokens":700,"output_tokens_details":{"reasoning_tokens":600},"total_tokens":1600})";
  CheckUsage(Scan("application/json", R"({"id":"r1","object":"response","usage":)" + usage + "}"),
             900, 700, 512, -1, 600);
  CheckUsage(Scan("text/event-stream",
                  "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\"}\n\n"
                  "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":"
                  "{\"id\":\"r1\",\"usage\":" + usage + "}}\n\n"),
             900, 700, 512, -1, 600);
}

TEST_CASE("usage: Anthropic Messages count cache reads and writes apart from input") {
  // input_tokens excludes the cache: the input is 50 + 2000 + 300.
  CheckUsage(Scan("application/json",
                  R"({"type":"message","usage":{"input_tokens":50,"cache_creation_input_tokens":300,)"
                  R"("cache_read_input_tokens":2000,"output_tokens":80}})"),
             2350, 80, 2000, 300, -1);
  CheckUsage(Scan("text/event-stream",
                  "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                  "{\"input_tokens\":50,\"cache_creation_input_tokens\":300,"
                  "\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}\n\n"
                  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n"
                  "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":80}}\n\n"
                  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
             2350, 80, 2000, 300, -1);
}

TEST_CASE("usage: Gemini generateContent and streamGenerateContent count thoughts as output") {
  const std::string meta =
      R"({"promptTokenCount":400,"cachedContentTokenCount":100,"candidatesTokenCount":50,)"
      R"("thoughtsTokenCount":200,"totalTokenCount":650})";
  CheckUsage(Scan("application/json; charset=UTF-8",
                  R"({"candidates":[{"content":{"parts":[{"text":"x"}]}}],"usageMetadata":)" + meta +
                      "}"),
             400, 250, 100, -1, 200);
  // alt=sse: each chunk carries usageMetadata so far; the last one counts.
  CheckUsage(Scan("text/event-stream",
                  "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":400,"
                  "\"candidatesTokenCount\":3}}\r\n\r\n"
                  "data: {\"candidates\":[],\"usageMetadata\":" + meta + "}\r\n\r\n"),
             400, 250, 100, -1, 200);
  // Without alt=sse the stream is one JSON array of chunks.
  CheckUsage(Scan("application/json",
                  "[{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":400,"
                  "\"candidatesTokenCount\":3}},\n{\"candidates\":[],\"usageMetadata\":" + meta + "}]"),
             400, 250, 100, -1, 200);
}

TEST_CASE("usage: a stream cut before its usage event reports nothing") {
  CheckUsage(Scan("text/event-stream", "data: {\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}\n\n"),
             -1, -1, -1, -1, -1);
}

TEST_CASE("/v1/usage: named counts, and each API's own usage object") {
  std::string id;
  engine::Usage u;
  REQUIRE(api::ParseUsageReport(R"({"decision_id":"d1","input_tokens":10,"output_tokens":5,)"
                                R"("cached_input_tokens":4,"reasoning_tokens":2})",
                                &id, &u).ok());
  CheckUsage(u, 10, 5, 4, -1, 2);
  REQUIRE(api::ParseUsageReport(R"({"decision_id":"d1","usage":{"prompt_tokens":1200,)"
                                R"("completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1024},)"
                                R"("completion_tokens_details":{"reasoning_tokens":256}}})",
                                &id, &u).ok());
  CheckUsage(u, 1200, 300, 1024, -1, 256);
  REQUIRE(api::ParseUsageReport(R"({"decision_id":"d1","usage":{"input_tokens":50,)"
                                R"("cache_creation_input_tokens":300,"cache_read_input_tokens":2000,)"
                                R"("output_tokens":80}})",
                                &id, &u).ok());
  CheckUsage(u, 2350, 80, 2000, 300, -1);
  REQUIRE(api::ParseUsageReport(R"({"decision_id":"d1","usageMetadata":{"promptTokenCount":400,)"
                                R"("candidatesTokenCount":50,"thoughtsTokenCount":200}})",
                                &id, &u).ok());
  CheckUsage(u, 400, 250, -1, -1, 200);
  // A named count wins over the object's.
  REQUIRE(api::ParseUsageReport(R"({"decision_id":"d1","output_tokens":7,"usage":{"output_tokens":80}})",
                                &id, &u).ok());
  CHECK(u.output_tokens == 7);
  CHECK(!api::ParseUsageReport(R"({"decision_id":"d1","usage":[1]})", &id, &u).ok());
  CHECK(!api::ParseUsageReport(R"({"decision_id":"d1","reasoning_tokens":-1})", &id, &u).ok());
}

TEST_CASE("a cost budget's refusal names the budget and when it resets") {
  Decision d;
  d.effect = Effect::kThrottle;
  d.status = 429;
  d.reason = "cost-budget-exceeded";
  d.rule_ids = {"budget.monthly"};
  d.retry_after_s = 60;
  RuleMatch m;
  m.rule_id = "budget.monthly";
  m.action = Action::kThrottle;
  m.reason = "cost-budget-exceeded";
  m.detail = "$4.998 spent or reserved, $0.012 more needed, budget $5.00 per month";
  m.resets_at = "2027-02-01T00:00:00-05:00";
  d.matches.push_back(m);
  const nlohmann::json j = nlohmann::json::parse(api::ProblemJson(d));
  CHECK(j.at("type") == "https://tosgate.dev/problems/cost-budget-exceeded");
  CHECK(j.at("budget") == "budget.monthly");
  CHECK(j.at("resets_at") == "2027-02-01T00:00:00-05:00");
  CHECK(j.at("detail") == m.detail);
  CHECK(j.at("retry_after") == 60);
  // Other throttles keep their problem document.
  d.matches[0].resets_at.clear();
  CHECK(nlohmann::json::parse(api::ProblemJson(d)).at("type") ==
        "https://tosgate.dev/problems/quota-exceeded");
}
