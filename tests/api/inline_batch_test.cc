// Batches through the inline proxy, against a scripted upstream: an OpenAI
// batch is counted from the input file the gateway saw uploaded, reserved
// at submission, refused there when over budget (or when its file was never
// seen), and settled from the batch's usage when its status is read; an
// Anthropic message batch is settled from its results (JSON Lines).
#include <doctest/doctest.h>

#include "api/gateway/gateway_server.h"
#include "api/request/batch_watch.h"
#include "policies/loader.h"
#include "tests/api/raw_client.h"
#include "tests/api/recording_upstream.h"
#include "tosgate/clock.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;

// m: $1 per million input tokens, $2 output. A request of 4000 prompt
// characters and max_tokens 1000 reserves about $0.001 + $0.002.
constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: batches}
operations:
  files: {methods: [POST], paths: [/v1/files]}
  batches: {methods: [POST], paths: [/v1/batches, /v1/messages/batches]}
prices:
  models:
    m: {input: 1, output: 2}
rules:
  - id: spend
    kind: cost_budget
    scope: [key]
    limit: {usd: 0.015, per: month}
)";

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  test::RecordingUpstream upstream;
  std::unique_ptr<GatewayServer> server;

  Fixture() {
    policies::LoadResult r = policies::LoadPolicyFiles({{"batches.yaml", kPolicy}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine.Publish(r.snapshot);
    upstream.AnswerWith([](const test::Received& got) -> std::string {
      if (got.target == "/v1/files") return R"({"id":"file-1","object":"file","purpose":"batch"})";
      if (got.target == "/v1/batches") return R"({"id":"batch_1","object":"batch","status":"validating"})";
      if (got.target == "/v1/batches/batch_1")
        return R"({"id":"batch_1","object":"batch","status":"completed","usage":{"input_tokens":3000,)"
               R"("input_tokens_details":{"cached_tokens":0},"output_tokens":300,)"
               R"("output_tokens_details":{"reasoning_tokens":0},"total_tokens":3300}})";
      if (got.target == "/v1/messages/batches") return R"({"id":"msgbatch_1","type":"message_batch"})";
      if (got.target == "/v1/messages/batches/msgbatch_1/results")
        return "{\"custom_id\":\"a\",\"result\":{\"type\":\"succeeded\",\"message\":{\"usage\":"
               "{\"input_tokens\":1000,\"cache_read_input_tokens\":500,\"output_tokens\":100}}}}\n"
               "{\"custom_id\":\"b\",\"result\":{\"type\":\"errored\",\"error\":{}}}\n"
               "{\"custom_id\":\"c\",\"result\":{\"type\":\"succeeded\",\"message\":{\"usage\":"
               "{\"input_tokens\":1000,\"output_tokens\":100}}}}\n";
      return "{}";
    });
    GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 1;
    o.upstream_url = upstream.url();
    auto s = GatewayServer::Start(std::move(o), engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
  }

  RawResponse Send(const std::string& request) {
    RawClient c(server->port());
    RawResponse r;
    REQUIRE(c.RoundTrip(request, &r));
    // The relay settles after the last byte went out: wait for it.
    REQUIRE(test::WaitUntil([&] { return server->stats().open_streams == 0; }));
    return r;
  }
};

const std::vector<std::pair<std::string, std::string>> kJson = {
    {"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}};

std::string Line(const std::string& id) {
  return R"({"custom_id":")" + id + R"(","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_tokens":1000,"messages":[{"role":"user","content":")" +
         std::string(3990, 'x') + R"("}]}})" + "\n";
}

std::string Upload() {
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                           "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jsonl\"\r\n"
                           "Content-Type: application/jsonl\r\n\r\n" +
                           Line("a") + Line("b") + Line("c") + "\r\n--XyZ--\r\n";
  return HttpRequest("POST", "/v1/files",
                     {{"Authorization", "Bearer sk-1"},
                      {"Content-Type", "multipart/form-data; boundary=XyZ"}},
                     body);
}

std::string Submit(const std::string& file) {
  return HttpRequest("POST", "/v1/batches", kJson,
                     R"({"input_file_id":")" + file +
                         R"(","endpoint":"/v1/chat/completions","completion_window":"24h"})");
}

}  // namespace

TEST_CASE("inline proxy: an OpenAI batch is reserved at submission, refused over budget, settled from its status") {
  Fixture f;
  CHECK(f.Send(Upload()).status == 200);  // uploading costs nothing
  // A file the gateway never saw cannot be counted: refused, not relayed.
  RawResponse unknown = f.Send(Submit("file-other"));
  CHECK(unknown.status == 403);
  CHECK(unknown.body.find("batch-input-unknown") != std::string::npos);
  const size_t relayed = f.upstream.count();

  RawResponse first = f.Send(Submit("file-1"));  // about $0.009 of $0.015
  CHECK(first.status == 200);
  RawResponse second = f.Send(Submit("file-1"));  // $0.018: over budget at submission
  CHECK(second.status == 429);
  CHECK(second.body.find("cost-budget-exceeded") != std::string::npos);
  CHECK(f.upstream.count() == relayed + 1);

  // Its status reports usage: 3000 input, 300 output = $0.0036 settles it.
  CHECK(f.Send(HttpRequest("GET", "/v1/batches/batch_1", {{"Authorization", "Bearer sk-1"}}, ""))
            .status == 200);
  CHECK(f.Send(Submit("file-1")).status == 200);  // $0.0036 + $0.009 fits
}

TEST_CASE("inline proxy: an Anthropic message batch is settled from its results") {
  Fixture f;
  std::string requests;
  for (const char* id : {"a", "b", "c"}) {
    if (!requests.empty()) requests += ',';
    requests += std::string(R"({"custom_id":")") + id +
                R"(","params":{"model":"m","max_tokens":1000,"messages":[{"role":"user","content":")" +
                std::string(3990, 'x') + R"("}]}})";
  }
  const std::string batch =
      HttpRequest("POST", "/v1/messages/batches", kJson, R"({"requests":[)" + requests + "]}");
  CHECK(f.Send(batch).status == 200);
  CHECK(f.Send(batch).status == 429);
  // Two succeeded (2500 input, 200 output: $0.0029), one errored (free).
  CHECK(f.Send(HttpRequest("GET", "/v1/messages/batches/msgbatch_1/results",
                           {{"Authorization", "Bearer sk-1"}}, ""))
            .status == 200);
  CHECK(f.Send(batch).status == 200);
}

TEST_CASE("batch watch: what each step of the batch APIs is") {
  BatchLedger ledger;
  Request r;
  r.method = "GET";
  r.path = "/v1/messages/batches/msgbatch_1/results";
  auto w = BatchWatch::For(r, &ledger);
  REQUIRE(w);
  CHECK(w->step() == BatchWatch::Step::kResults);
  r.path = "/v1/batches/batch_1";
  REQUIRE(BatchWatch::For(r, &ledger));
  CHECK(BatchWatch::For(r, &ledger)->step() == BatchWatch::Step::kStatus);
  r.path = "/v1/chat/completions";
  CHECK(!BatchWatch::For(r, &ledger));
  r.method = "POST";
  r.path = "/v1/batches";
  CHECK(!BatchWatch::For(r, &ledger));  // nothing counted in it
  r.body.batch_requests = 2;
  CHECK(BatchWatch::For(r, &ledger)->step() == BatchWatch::Step::kSubmit);
  CHECK(!BatchWatch::For(r, nullptr));
}

TEST_CASE("batch ledger: bounded, the oldest forgotten first; a batch is taken once") {
  BatchLedgerOptions o;
  o.max_files = 2;
  o.max_batches = 2;
  BatchLedger ledger(o);
  BatchInput in;
  in.model = "m";
  in.requests = 3;
  ledger.RememberFile("f1", in);
  ledger.RememberFile("f2", in);
  ledger.RememberFile("f3", in);
  CHECK(ledger.files() == 2);
  CHECK(ledger.forgotten() == 1);
  RequestBody body;
  body.batch_input_file = "f1";
  CHECK(!ledger.Fill(&body));
  body.batch_input_file = "f3";
  REQUIRE(ledger.Fill(&body));
  CHECK(body.batch_requests == 3);
  CHECK(body.api == "batch");
  ledger.RememberFile("bad id", in);  // not an id an upstream gives
  CHECK(ledger.files() == 2);
  ledger.RememberBatch("b1", "d1");
  CHECK(ledger.TakeBatch("b1") == std::optional<std::string>("d1"));
  CHECK(!ledger.TakeBatch("b1"));
  // Taken entries leave names behind in the order; they never grow it past bound.
  for (int i = 0; i < 100; ++i) {
    ledger.RememberBatch("b" + std::to_string(i), "d");
    (void)ledger.TakeBatch("b" + std::to_string(i));
  }
  CHECK(ledger.batches() == 0);
}

}  // namespace tosgate::api
