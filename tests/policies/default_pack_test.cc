// The shipped default pack, loaded from disk and run through the engine:
// each rule decides the requests it was written for, and nothing else.
#include <doctest/doctest.h>

#include "engine/engine.h"
#include "engine/state_store.h"
#include "test_support.h"

using namespace tosgate;

namespace {

struct PackEngine {
  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::MemoryAccountDirectory accounts;
  engine::Engine engine{{&clock, state.get(), nullptr, &accounts}};

  PackEngine() {
    policies::LoadResult r =
        policies::LoadPolicyDir(TOSGATE_SOURCE_DIR "/policies/packs/default", test::WithBuiltinPacks());
    INFO(test::AllErrors(r));
    REQUIRE(r.snapshot);
    engine.Publish(r.snapshot);
  }
};

Request Chat(const std::string& account, const std::string& tier, bool suspended = false) {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.client_ip = "203.0.113.7";
  Account a;
  a.id = account;
  a.tier = tier;
  a.suspended = suspended;
  r.account = a;
  r.body.present = true;
  r.body.model = "m";
  return r;
}

}  // namespace

TEST_CASE("default pack: a suspended account is denied with 403 account-suspended") {
  PackEngine p;
  Decision d = p.engine.Check(Chat("a1", "pro", /*suspended=*/true));
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 403);
  CHECK(d.reason == "account-suspended");
  CHECK(d.rule_ids == std::vector<std::string>{"account.suspended"});
  CHECK(p.engine.Check(Chat("a2", "pro")).effect == Effect::kAllow);
}

TEST_CASE("default pack: a declared training purpose is denied") {
  PackEngine p;
  for (const char* purpose : {"model-training", "distillation", "model-distillation"}) {
    CAPTURE(purpose);
    Request r = Chat("a1", "pro");
    r.purpose = purpose;
    Decision d = p.engine.Check(r);
    CHECK(d.effect == Effect::kDeny);
    CHECK(d.reason == "competitor-training-declared");
  }
  Request ok = Chat("a1", "pro");
  ok.purpose = "customer-support";
  CHECK(p.engine.Check(ok).effect == Effect::kAllow);
}

TEST_CASE("default pack: logit_bias with logprobs is denied on chat, not on embeddings") {
  PackEngine p;
  Request r = Chat("a1", "pro");
  r.body.logprobs = true;
  CHECK(p.engine.Check(r).effect == Effect::kAllow);  // logprobs alone is fine
  r.body.logit_bias_count = 1;
  Decision d = p.engine.Check(r);
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "extraction-logit-bias");
  r.path = "/v1/embeddings";  // outside the rule's match.operations
  CHECK(p.engine.Check(r).effect == Effect::kAllow);
}

TEST_CASE("default pack: the free tier's 21st request in a minute is throttled") {
  PackEngine p;
  Request r = Chat("a1", "free");
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    REQUIRE(p.engine.Check(r).effect == Effect::kAllow);
  }
  Decision d = p.engine.Check(r);
  CHECK(d.effect == Effect::kThrottle);
  CHECK(d.status == 429);
  CHECK(d.reason == "rate-limited");
  CHECK(d.rule_ids == std::vector<std::string>{"rate.rpm"});
  // Another account has its own count.
  CHECK(p.engine.Check(Chat("a2", "free")).effect == Effect::kAllow);
}

namespace {

// (method, path, operation): every text-taking endpoint of the OpenAI,
// Anthropic and Gemini APIs, and the operation the shipped packs give it.
struct Endpoint {
  const char* method;
  const char* path;
  const char* operation;
};
constexpr Endpoint kEndpoints[] = {
    {"POST", "/v1/chat/completions", "chat"},
    {"POST", "/chat/completions", "chat"},
    {"POST", "/v1/responses", "chat"},
    {"POST", "/responses", "chat"},
    {"POST", "/v1/messages", "chat"},
    {"POST", "/v1beta/models/gemini-2.0-flash:generateContent", "chat"},
    {"POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", "chat"},
    {"POST", "/v1/models/gemini-1.5-pro:generateContent", "chat"},
    {"POST", "/v1beta/tunedModels/my-tune:generateContent", "chat"},
    {"POST", "/v1beta/openai/chat/completions", "chat"},
    {"POST", "/openai/deployments/gpt4o/chat/completions", "chat"},
    {"POST", "/v1/completions", "completions"},
    {"POST", "/v1/complete", "completions"},
    {"POST", "/openai/deployments/davinci/completions", "completions"},
    {"POST", "/v1/embeddings", "embeddings"},
    {"POST", "/v1beta/models/text-embedding-004:embedContent", "embeddings"},
    {"POST", "/v1beta/models/text-embedding-004:batchEmbedContents", "embeddings"},
    {"POST", "/v1beta/openai/embeddings", "embeddings"},
    {"POST", "/v1/messages/count_tokens", "count_tokens"},
    {"POST", "/v1/responses/input_tokens", "count_tokens"},
    {"POST", "/v1beta/models/gemini-2.0-flash:countTokens", "count_tokens"},
    {"POST", "/v1/batches", "batches"},
    {"POST", "/v1/batches/batch_1/cancel", "batches"},
    {"POST", "/v1/messages/batches", "batches"},
    {"POST", "/v1/messages/batches/msgbatch_1/cancel", "batches"},
    {"POST", "/v1beta/models/gemini-2.0-flash:batchGenerateContent", "batches"},
    {"POST", "/v1/files", "files"},
    {"POST", "/v1/uploads", "files"},
    {"POST", "/v1/uploads/upload_1/parts", "files"},
    {"POST", "/upload/v1beta/files", "files"},
    {"POST", "/v1/fine_tuning/jobs", "fine_tuning"},
    {"POST", "/v1/fine_tuning/jobs/ftjob_1/cancel", "fine_tuning"},
    {"POST", "/v1beta/tunedModels", "fine_tuning"},
    {"POST", "/v1/assistants", "assistants"},
    {"POST", "/v1/threads", "assistants"},
    {"POST", "/v1/threads/runs", "assistants"},
    {"POST", "/v1/threads/thread_1/messages", "assistants"},
    {"POST", "/v1/threads/thread_1/runs", "assistants"},
    {"POST", "/v1/threads/thread_1/runs/run_1/submit_tool_outputs", "assistants"},
    {"POST", "/v1/conversations", "conversations"},
    {"POST", "/v1/conversations/conv_1/items", "conversations"},
    {"POST", "/v1beta/cachedContents", "cached_contents"},
    {"PATCH", "/v1beta/cachedContents/c1", "cached_contents"},
    {"POST", "/v1/vector_stores/vs_1/search", "vector_stores"},
    {"POST", "/v1/moderations", "moderations"},
    {"POST", "/v1/images/generations", "images"},
    {"POST", "/v1/images/edits", "images"},
    {"POST", "/v1/videos", "images"},
    {"POST", "/v1beta/models/imagen-3.0:predict", "images"},
    {"POST", "/v1/audio/speech", "audio"},
    {"POST", "/v1/audio/transcriptions", "audio"},
    {"POST", "/v1/realtime/sessions", "realtime"},
    {"POST", "/v1/realtime/client_secrets", "realtime"},
    {"GET", "/v1/realtime", "realtime"},
    {"POST", "/v1/evals", "evals"},
    {"POST", "/v1/chat/completions/chatcmpl_1", "manage"},
    {"POST", "/v1/responses/resp_1/cancel", "manage"},
};

// Every pack that defines operations, and the prohibited-use pack with its
// standalone file.
const char* const kPacks[] = {"default", "distillation", "rate-limits", "prohibited-use"};

std::shared_ptr<engine::PolicySnapshot> LoadPack(const std::string& name) {
  policies::LoadResult r =
      policies::LoadPolicyDir(std::string(TOSGATE_SOURCE_DIR "/policies/packs/") + name, test::WithBuiltinPacks());
  INFO(name << ": " << test::AllErrors(r));
  REQUIRE(r.snapshot);
  return r.snapshot;
}

}  // namespace

TEST_CASE("every shipped pack classifies every text-taking endpoint of the three APIs") {
  for (const char* pack : kPacks) {
    const auto snap = LoadPack(pack);
    for (const Endpoint& e : kEndpoints) {
      INFO(pack << ": " << e.method << " " << e.path);
      CHECK(snap->OperationFor(e.method, e.path) == e.operation);
    }
    // And refuses POSTs it does not know, in any letter case.
    for (const char* path : {"/v1/frobnicate", "/V1/chat/completions", "/v1/chat/completion",
                             "/v1beta/models/a/b:generateContent", "/v2/messages"}) {
      INFO(pack << ": " << path);
      CHECK(snap->OperationFor("POST", path) == "");
      CHECK(snap->RefusesUnmatched("POST", path));
    }
    CHECK_FALSE(snap->RefusesUnmatched("GET", "/v1/models"));
  }
}

TEST_CASE("the shipped packs' operations are the default pack's, name for name") {
  const auto base = LoadPack("default");
  for (const char* pack : kPacks) {
    const auto snap = LoadPack(pack);
    INFO(pack);
    REQUIRE(snap->operations.size() == base->operations.size());
    for (size_t i = 0; i < base->operations.size(); ++i) {
      CHECK(snap->operations[i].name == base->operations[i].name);
      CHECK(snap->operations[i].methods == base->operations[i].methods);
      CHECK(snap->operations[i].paths == base->operations[i].paths);
    }
  }
}

TEST_CASE("default pack: a suspended account is denied on every classified endpoint") {
  PackEngine p;
  for (const Endpoint& e : kEndpoints) {
    Request r = Chat("a1", "pro", /*suspended=*/true);
    r.method = e.method;
    r.path = e.path;
    INFO(e.method << " " << e.path);
    const Decision d = p.engine.Check(r);
    CHECK(d.effect == Effect::kDeny);
    CHECK(d.rule_ids == std::vector<std::string>{"account.suspended"});
  }
}
