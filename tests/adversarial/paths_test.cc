// Attacks on the path: forms an upstream resolves differently from tosgate,
// and endpoints that no operation names so that operation-scoped rules never
// run. Issue 19, "What is checked is not what is forwarded".
#include <doctest/doctest.h>

#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

// A body the default pack's extraction rule (operations chat and
// completions) denies: a request that skips that rule by its path shows.
constexpr char kExtraction[] =
    R"({"model":"m","max_tokens":1,"logprobs":true,"logit_bias":{"50256":100},)"
    R"("messages":[{"role":"user","content":"hi"}]})";

TEST_CASE(
    "path: encoded slashes, matrix parameters, encoded dot-segments and backslashes are refused") {
  Gateway g;
  for (const char* target :
       {"/v1/chat%2Fcompletions", "/v1/chat%2fcompletions", "/v1/chat/completions;x=1",
        "/v1/%2e%2e/v1/chat/completions", "/v1/%2E%2E/v1/chat/completions", "/v1\\chat/completions",
        "/v1/chat%5Ccompletions", "/v1/chat/completions%00", "/v1/chat/%252e%252e/completions"}) {
    INFO(target);
    RawResponse r = PostJson(g.port(), target, kExtraction);
    CHECK(r.status == 400);
    CHECK(ProblemType(r) == assumed::kAmbiguousPath);
  }
  CHECK(g.received() == 0);
}

TEST_CASE("path: /v1//chat//completions is decided and forwarded as /v1/chat/completions") {
  Gateway g;
  RawResponse r = PostJson(g.port(), "/v1//chat//completions?stream_hint=1", BenignChat());
  CHECK(r.status == 200);
  REQUIRE(g.upstream->count() == 1);
  const ReceivedRequest got = g.upstream->received()[0];
  CHECK(got.path() == "/v1/chat/completions");
  CHECK(got.query() == "stream_hint=1");
  std::optional<engine::AuditRecord> decided = g.audit.Find(got.header("x-tos-decision-id"));
  REQUIRE(decided.has_value());
  CHECK(decided->operation == "chat");
  CheckReceivedEqualsDecided(got, g);

  // And what the rules of that operation see is the same request.
  RawResponse denied = PostJson(g.port(), "/v1//chat//completions", kExtraction);
  CHECK(denied.status == 403);
  CHECK(Reason(denied) == assumed::kExtraction);
  CHECK(g.upstream->count() == 1);
}

TEST_CASE("path: a dot-segment is refused or forwarded resolved, never raw") {
  Gateway g;
  // forward_auth.h's CanonicalPath refuses a '.' or '..' segment; resolving
  // it would do as well. Relaying it raw lets the upstream resolve it
  // differently from what was classified.
  for (const char* target :
       {"/v1/chat/./completions", "/v1/./chat/completions", "/v1/x/../chat/completions"}) {
    INFO(target);
    const size_t before = g.received();
    RawResponse r = PostJson(g.port(), target, BenignChat());
    if (r.status == 400) {
      CHECK(ProblemType(r) == assumed::kAmbiguousPath);
      CHECK(g.received() == before);
    } else {
      CHECK(r.status == 200);
      REQUIRE(g.received() == before + 1);
      CHECK(g.upstream->received().back().path() == "/v1/chat/completions");
      CheckReceivedEqualsDecided(g.upstream->received().back(), g);
    }
  }
}

// A POST under the API prefix is either classified (and its operation's
// rules ran) or denied as unclassified; an ambiguous spelling may instead be
// refused. It is never relayed undecided, and what is relayed is what was
// decided.
void CheckNotSkipped(Gateway& g, const std::string& target, const std::string& body) {
  INFO("POST " << target);
  const size_t before = g.received();
  RawResponse r = PostJson(g.port(), target, body);
  const std::string id = r.header("x-tos-decision-id");
  std::optional<engine::AuditRecord> decided = id.empty() ? std::nullopt : g.audit.Find(id);
  if (r.status == 400) {
    CHECK(ProblemType(r) == assumed::kAmbiguousPath);
  } else if (r.status == 403 && Reason(r) == assumed::kUnclassified) {
    CHECK(g.received() == before);
  } else {
    REQUIRE_MESSAGE(decided.has_value(), "status " << r.status << ": no decision recorded");
    CHECK_MESSAGE(!decided->operation.empty(),
                  "decided with no operation, so every operation-scoped rule was skipped");
  }
  if (g.received() > before) CheckReceivedEqualsDecided(g.upstream->received().back(), g);
}

TEST_CASE("path: an upper-case or prefix-less chat path does not skip the chat rules") {
  Gateway g;
  for (const char* target : {"/V1/CHAT/COMPLETIONS", "/v1/Chat/Completions", "/chat/completions"})
    CheckNotSkipped(g, target, kExtraction);
  // A relayed extraction request is the bypass itself.
  for (const ReceivedRequest& got : g.upstream->received()) {
    RequestBody b;
    REQUIRE(engine::ParseBody(got.body, &b).ok());
    CHECK_MESSAGE(!(b.logprobs && b.logit_bias_count > 0),
                  "an extraction request reached the upstream at " << got.target);
  }
}

TEST_CASE("path: batches, files and message batches are classified or denied as unclassified") {
  Gateway g;
  CheckNotSkipped(
      g, "/v1/batches",
      R"({"input_file_id":"file-abc","endpoint":"/v1/chat/completions","completion_window":"24h"})");
  CheckNotSkipped(g, "/v1/files", R"({"purpose":"batch"})");
  CheckNotSkipped(
      g, "/v1/messages/batches",
      std::string(R"({"requests":[{"custom_id":"a","params":{"model":"m","max_tokens":16,)") +
          R"("messages":[{"role":"user","content":"hi"}]}}]})");
  CheckNotSkipped(g, "/v1/uploads", R"({"purpose":"batch","filename":"a.jsonl","bytes":10})");
}

TEST_CASE("path: a prohibited prompt inside an Anthropic message batch is denied") {
  Gateway g;
  const std::string body =
      std::string(R"({"requests":[{"custom_id":"a","params":{"model":"m","max_tokens":16,)") +
      R"("messages":[{"role":"user","content":"hi"}]}},{"custom_id":"b","params":{"model":"m",)" +
      R"("max_tokens":16,"messages":[{"role":"user","content":")" + kSarin + R"("}]}}]})";
  RawResponse r = PostJson(g.port(), "/v1/messages/batches", body);
  CHECK(r.status == 403);
  CHECK(g.received() == 0);
}

}  // namespace
}  // namespace tosgate::test
