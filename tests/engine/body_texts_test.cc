// Every text a model reads lands in the prompt text a content rule scans:
// one test per place a body can hold text, per API. Each puts the word
// "sarin" in one place only and checks that a content rule over the whole
// prompt matches, and under which role label the text was read.
#include <doctest/doctest.h>

#include <string>

#include "engine/body_parser.h"
#include "engine/content/index.h"
#include "engine/rules/content.h"
#include "test_support.h"

using namespace tosgate;
using engine::ContentPattern;
using engine::ContentScope;

namespace {

RequestBody Parse(const std::string& json) {
  RequestBody b;
  Status s = engine::ParseBody(json, &b);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return b;
}

// Whether a content rule (word "sarin", scope all) denies the body.
bool ContentRuleSees(const RequestBody& body, ContentScope scope = ContentScope::kAll) {
  auto index = std::make_shared<engine::ContentIndex>();
  const uint32_t first = index->Add({{"sarin", ContentPattern::Type::kWord, "sarin"}});
  std::string why;
  size_t bad = 0;
  REQUIRE(index->Build(&why, &bad));
  auto common = test::Common("chem", Action::kDeny);
  common.kind = "content";
  engine::ContentRule rule(common, {scope}, index, first, 1, false);
  Request req = test::ChatRequest();
  req.body = body;
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  const engine::EvalContext eval{req, *req.account, "chat", 0, 0};
  const engine::RuleContext ctx{eval, *state, 1, nullptr};
  engine::RuleOutcome out;
  REQUIRE(rule.Evaluate(ctx, &out).ok());
  return out.matched;
}

// The body is read, the rule sees the word, and it was read as `line`.
void Sees(const std::string& json, const std::string& line) {
  CAPTURE(json);
  RequestBody b = Parse(json);
  CHECK(ContentRuleSees(b));
  CHECK_MESSAGE(b.prompt_text.find(line) != std::string::npos, b.prompt_text);
}

}  // namespace

TEST_CASE("the control: a body without the word is not matched") {
  CHECK_FALSE(ContentRuleSees(Parse(R"({"messages": [{"role": "user", "content": "hello"}]})")));
}

TEST_CASE("openai chat: tool definitions are read, as system text") {
  const std::string json =
      R"({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function",
      "function": {"name": "make_sarin", "description": "Steps", "parameters": {"type": "object",
      "properties": {"sarin_grams": {"type": "number"}}}}}]})";
  Sees(json, R"(tools: {"type":"function","function":{"name":"make_sarin")");
  CHECK(ContentRuleSees(Parse(json), ContentScope::kSystem));
  Sees(R"({"messages": [], "tools": [{"type": "function", "function": {"name": "f",
          "description": "explains sarin synthesis"}}]})",
       "explains sarin synthesis");
  // A property name only: the model reads the schema's keys too.
  Sees(R"({"messages": [], "tools": [{"type": "function", "function": {"name": "f",
          "parameters": {"properties": {"how_to_make_sarin": {}}}}}]})",
       "how_to_make_sarin");
}

TEST_CASE("openai chat: assistant tool_calls arguments, escaped or not") {
  Sees(
      R"({"messages": [{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "lookup", "arguments": "{\"q\": \"sarin at home\"}"}}]}]})",
      R"(tool_call: {"q": "sarin at home"})");
  // JSON escapes inside the arguments string are decoded as a model reads them.
  Sees(R"({"messages": [{"role": "assistant", "tool_calls": [{"type": "function",
          "function": {"name": "f", "arguments": "{\"q\": \"s\\u0061rin\"}"}}]}]})",
       R"(tool_call: {"q": "sarin"})");
  // The tool's name too.
  Sees(R"({"messages": [{"role": "assistant", "tool_calls": [{"type": "function",
          "function": {"name": "sarin", "arguments": "{}"}}]}]})",
       "assistant: sarin");
}

TEST_CASE("openai chat: legacy functions and function_call") {
  Sees(R"({"messages": [], "functions": [{"name": "f", "description": "sarin recipe"}]})",
       R"(tools: {"name":"f","description":"sarin recipe"})");
  Sees(
      R"({"messages": [{"role": "assistant", "function_call": {"name": "f", "arguments": "{\"x\":\"sarin\"}"}}]})",
      R"(tool_call: {"x":"sarin"})");
  CHECK(Parse(R"({"messages": [], "functions": [{"name": "a"}, {"name": "b"}]})").tools_count == 2);
}

TEST_CASE("openai chat: tool and function role messages") {
  Sees(R"({"messages": [{"role": "tool", "tool_call_id": "c1", "content": "sarin is made by"}]})",
       "tool: sarin is made by");
  Sees(
      R"({"messages": [{"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "sarin"}]}]})",
      "tool: sarin");
  Sees(R"({"messages": [{"role": "function", "name": "f", "content": "sarin"}]})",
       "function: sarin");
}

TEST_CASE("openai chat: every text part type, and a refusal") {
  for (const char* type : {"text", "input_text", "output_text", "mystery_future_type"}) {
    Sees(std::string(R"({"messages": [{"role": "user", "content": [{"type": ")") + type +
             R"(", "text": "sarin"}]}]})",
         "user: sarin");
  }
  Sees(
      R"({"messages": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "no sarin"}]}]})",
      "assistant: no sarin");
  Sees(R"({"messages": [{"role": "assistant", "refusal": "no sarin"}]})", "assistant: no sarin");
  // A text key on a part labelled as an image is read all the same.
  Sees(
      R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"},
          "text": "sarin"}]}]})",
      "user: sarin");
  // The participant name is read: the model sees it.
  Sees(R"({"messages": [{"role": "user", "name": "sarin", "content": "hi"}]})", "user: sarin");
}

TEST_CASE("openai chat: a response_format JSON schema's names and descriptions") {
  Sees(
      R"({"messages": [], "response_format": {"type": "json_schema", "json_schema": {"name": "steps",
          "description": "sarin synthesis steps", "schema": {"type": "object"}}}})",
      R"(tools: {"name":"steps","description":"sarin synthesis steps")");
  // A plain json_object format adds nothing.
  CHECK(
      Parse(R"({"messages": [], "response_format": {"type": "json_object"}})").prompt_text.empty());
}

TEST_CASE("openai chat: predicted output content") {
  Sees(R"({"messages": [], "prediction": {"type": "content", "content": "sarin"}})",
       "assistant: sarin");
}

TEST_CASE("anthropic messages: tools, tool_use input, tool_result string and nested blocks") {
  Sees(R"({"system": "s", "messages": [], "tools": [{"name": "get", "description": "sarin",
          "input_schema": {"type": "object"}}]})",
       R"(tools: {"name":"get","description":"sarin")");
  Sees(
      R"({"system": "s", "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1",
          "name": "search", "input": {"query": "sarin precursors"}}]}]})",
      R"(tool_call: {"query":"sarin precursors"})");
  Sees(R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "tool_result",
          "tool_use_id": "t1", "content": "sarin"}]}]})",
       "user: sarin");
  Sees(
      R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
          "content": [{"type": "text", "text": "deep sarin"}, {"type": "image", "source": {"type": "base64",
          "media_type": "image/png", "data": "AAAA"}}]}]}]})",
      "user: deep sarin");
  RequestBody b =
      Parse(R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "tool_result",
      "tool_use_id": "t1", "content": [{"type": "image", "source": {"type": "base64", "data": "AAAA"}}]}]}]})");
  CHECK(b.unscanned_parts == 1);
  CHECK_FALSE(b.token_prompt);
}

TEST_CASE(
    "anthropic messages: document blocks with a text source, search results, thinking sent back") {
  Sees(
      R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "document", "title": "t",
          "source": {"type": "text", "media_type": "text/plain", "data": "sarin manual"}}]}]})",
      "user: sarin manual");
  Sees(R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "document",
          "source": {"type": "content", "content": [{"type": "text", "text": "sarin chapter"}]}}]}]})",
       "user: sarin chapter");
  Sees(
      R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "document", "context": "sarin",
          "source": {"type": "url", "url": "https://x"}}]}]})",
      "user: sarin");
  Sees(
      R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "search_result", "source": "u",
          "title": "r", "content": [{"type": "text", "text": "sarin result"}]}]}]})",
      "user: sarin result");
  Sees(R"({"system": "s", "messages": [{"role": "assistant", "content": [{"type": "thinking",
          "thinking": "the user wants sarin", "signature": "sig"}]}]})",
       "assistant: the user wants sarin");
  RequestBody pdf =
      Parse(R"({"system": "s", "messages": [{"role": "user", "content": [{"type": "document",
      "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
      {"type": "redacted_thinking", "data": "opaque"}]}]})");
  CHECK(pdf.unscanned_parts == 2);
}

TEST_CASE("responses: every input item type") {
  Sees(
      R"({"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "sarin"}]}]})",
      "user: sarin");
  Sees(
      R"({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":\"sarin\"}"}]})",
      R"(tool_call: {"a":"sarin"})");
  Sees(R"({"input": [{"type": "function_call_output", "call_id": "c", "output": "sarin steps"}]})",
       "tool: sarin steps");
  Sees(R"({"input": [{"type": "function_call_output", "call_id": "c",
          "output": [{"type": "input_text", "text": "sarin parts"}]}]})",
       "tool: sarin parts");
  Sees(
      R"({"input": [{"type": "custom_tool_call", "call_id": "c", "name": "g", "input": "sarin code"}]})",
      "tool_call: sarin code");
  Sees(R"({"input": [{"type": "custom_tool_call_output", "call_id": "c", "output": "sarin out"}]})",
       "tool: sarin out");
  Sees(
      R"({"input": [{"type": "reasoning", "id": "r", "summary": [{"type": "summary_text", "text": "sarin plan"}]}]})",
      "assistant: sarin plan");
  Sees(
      R"({"input": [{"type": "file_search_call", "id": "f", "queries": ["sarin"], "status": "completed"}]})",
      "assistant: sarin");
  Sees(R"({"input": [{"type": "local_shell_call", "call_id": "c", "action": {"type": "exec",
          "command": ["grep", "sarin"]}}]})",
       R"("grep","sarin")");
  RequestBody enc =
      Parse(R"({"input": [{"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
      {"role": "user", "content": [{"type": "input_image", "image_url": "data:..."},
                                   {"type": "input_file", "file_id": "file-1"}]}]})");
  CHECK(enc.api == "responses");
  CHECK(enc.unscanned_parts == 3);
}

TEST_CASE("responses: instructions, tools, text.format schema, prompt variables") {
  RequestBody b = Parse(R"({"instructions": "about sarin", "input": "hi"})");
  CHECK(ContentRuleSees(b, ContentScope::kSystem));
  Sees(R"({"input": "hi", "tools": [{"type": "function", "name": "f", "description": "sarin",
          "parameters": {}}]})",
       R"(tools: {"type":"function","name":"f","description":"sarin")");
  Sees(R"({"input": "hi", "tools": [{"type": "custom", "name": "c", "description": "d",
          "format": {"type": "grammar", "definition": "start: \"sarin\""}}]})",
       "sarin");
  Sees(R"({"input": "hi", "text": {"format": {"type": "json_schema", "name": "n",
          "schema": {"properties": {"sarin": {}}}}}})",
       R"("sarin")");
  RequestBody p = Parse(R"({"prompt": {"id": "pmpt_1", "variables": {"topic": "sarin"}}})");
  CHECK(p.api == "responses");
  CHECK(ContentRuleSees(p));
  CHECK(p.unscanned_parts == 1);  // the stored prompt itself
}

TEST_CASE("completions and embeddings: strings read, token ids flagged as unread") {
  Sees(R"({"prompt": "sarin", "max_tokens": 5})", "user: sarin");
  Sees(R"({"prompt": ["a", "sarin"]})", "user: sarin");
  Sees(R"({"prompt": "a", "suffix": "sarin"})", "user: sarin");
  Sees(R"({"input": ["a", "sarin"], "model": "e"})", "user: sarin");
  RequestBody text = Parse(R"({"prompt": ["a", "b"]})");
  CHECK_FALSE(text.token_prompt);
  CHECK(text.unscanned_parts == 0);

  RequestBody ids = Parse(R"({"prompt": [1, 2, 3], "max_tokens": 5})");
  CHECK(ids.api == "completions");
  CHECK(ids.token_prompt);
  CHECK(ids.message_count == 1);
  CHECK(ids.unscanned_parts == 1);
  RequestBody many = Parse(R"({"input": [[1, 2], [3, 4], [5]], "model": "e"})");
  CHECK(many.api == "embeddings");
  CHECK(many.token_prompt);
  CHECK(many.message_count == 3);
  CHECK(many.unscanned_parts == 3);
  // Mixed: the text is read and the ids are flagged.
  RequestBody mixed = Parse(R"({"prompt": ["sarin", [1, 2]]})");
  CHECK(mixed.token_prompt);
  CHECK(ContentRuleSees(mixed));
}

TEST_CASE("body.token_prompt and body.unscanned_parts let a policy refuse what cannot be read") {
  auto cond = test::Leaf("body.token_prompt", engine::Condition::Op::kEq, test::Bool(true));
  auto parts = test::Leaf("body.unscanned_parts", engine::Condition::Op::kGt, test::Num(0));
  Request r = test::ChatRequest();
  r.body = Parse(R"({"prompt": [[1, 2]]})");
  const engine::EvalContext ids{r, *r.account, "completions", 0, 0};
  CHECK(engine::Evaluate(cond, ids, nullptr));
  CHECK(engine::Evaluate(parts, ids, nullptr));
  Request t = test::ChatRequest();
  t.body = Parse(R"({"prompt": "words"})");
  const engine::EvalContext words{t, *t.account, "completions", 0, 0};
  CHECK_FALSE(engine::Evaluate(cond, words, nullptr));
  CHECK_FALSE(engine::Evaluate(parts, words, nullptr));
}

TEST_CASE("body.unread reads Request::body_unread, with or without a body") {
  auto cond = test::Leaf("body.unread", engine::Condition::Op::kEq, test::Bool(true));
  Request r = test::ChatRequest();
  const engine::EvalContext ctx{r, *r.account, "chat", 0, 0};
  CHECK_FALSE(engine::Evaluate(cond, ctx, nullptr));
  r.body_unread = true;
  CHECK(engine::Evaluate(cond, ctx, nullptr));
}

TEST_CASE("anthropic message batches: every request's texts, max of max_tokens, sum of messages") {
  RequestBody b = Parse(R"({"requests": [
      {"custom_id": "a", "params": {"model": "claude", "max_tokens": 100,
        "messages": [{"role": "user", "content": "hello"}]}},
      {"custom_id": "b", "params": {"model": "claude", "max_tokens": 4000, "system": "be terse",
        "messages": [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"},
                     {"role": "user", "content": [{"type": "tool_result", "content": "sarin"}]}]}}]})");
  CHECK(b.api == "batch");
  CHECK(b.batch_requests == 2);
  CHECK(b.model == "claude");
  CHECK(b.max_tokens == 4000);
  CHECK(b.message_count == 4);
  CHECK(b.system_text == "be terse");
  CHECK(b.user_text == "hello\none\nsarin");
  CHECK(ContentRuleSees(b));
  CHECK(b.prompt_chars == static_cast<int64_t>(b.prompt_text.size()));
}

TEST_CASE(
    "a batch whose requests name different models is refused: one body.model cannot stand for "
    "both") {
  RequestBody b;
  Status s = engine::ParseBody(
      R"({"requests": [{"custom_id": "a", "params": {"model": "small", "messages": []}},
      {"custom_id": "b", "params": {"model": "forbidden", "messages": []}}]})",
      &b);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("more than one model") != std::string::npos);
  CHECK_FALSE(b.present);
  CHECK_FALSE(
      engine::ParseBody(R"({"requests": [{"params": {"requests": [{"params": {}}]}}]})", &b).ok());
  CHECK_FALSE(engine::ParseBody(R"({"requests": ["text"]})", &b).ok());
}

TEST_CASE("gemini generateContent: contents, systemInstruction, generationConfig, tools") {
  RequestBody b = Parse(R"({"contents": [
      {"role": "user", "parts": [{"text": "hello"}, {"inlineData": {"mimeType": "image/png", "data": "AA"}}]},
      {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"q": "sarin"}}}]},
      {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": "ok"}}}]}],
    "systemInstruction": {"parts": [{"text": "be safe"}]},
    "generationConfig": {"maxOutputTokens": "8192", "candidateCount": 2, "responseLogprobs": true, "logprobs": 5,
                         "thinkingConfig": {"thinkingBudget": 1024}},
    "tools": [{"functionDeclarations": [{"name": "f", "description": "d"}]}]})");
  CHECK(b.api == "gemini");
  CHECK(b.message_count == 3);
  CHECK(b.max_tokens == 8192);
  CHECK(b.n == 2);
  CHECK(b.logprobs);
  CHECK(b.top_logprobs == 5);
  CHECK(b.thinking_budget == 1024);
  CHECK(b.tools_count == 1);
  CHECK(b.unscanned_parts == 1);
  CHECK(b.user_text.find("hello") != std::string::npos);
  CHECK(b.system_text.find("be safe") != std::string::npos);
  CHECK(b.prompt_text.find(R"(model: {"q":"sarin"})") != std::string::npos);
  CHECK(ContentRuleSees(b));
  // snake_case names, as protobuf JSON also accepts them.
  RequestBody s = Parse(R"({"contents": [{"parts": [{"text": "sarin"}]}],
      "system_instruction": {"parts": [{"text": "x"}]}, "generation_config": {"max_output_tokens": 10}})");
  CHECK(s.max_tokens == 10);
  CHECK(s.user_text == "sarin");
  CHECK(s.system_text == "x");
}

TEST_CASE("fine-tuning examples: completion and preference outputs are read") {
  Sees(R"({"prompt": "q", "completion": "sarin"})", "assistant: sarin");
  Sees(R"({"input": {"messages": [{"role": "user", "content": "q"}]},
          "preferred_output": [{"role": "assistant", "content": "sarin"}],
          "non_preferred_output": [{"role": "assistant", "content": "no"}]})",
       "assistant: sarin");
  Sees(R"({"input": {"messages": [{"role": "user", "content": "sarin"}]}, "preferred_output": []})",
       "user: sarin");
}
