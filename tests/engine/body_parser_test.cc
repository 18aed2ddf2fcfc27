#include <doctest/doctest.h>

#include <string>

#include "engine/body_parser.h"

using namespace tosgate;
using engine::ParseBody;

namespace {

RequestBody Parse(const std::string& json) {
  RequestBody b;
  Status s = ParseBody(json, &b);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return b;
}

std::string Error(const std::string& json) {
  RequestBody b;
  Status s = ParseBody(json, &b);
  CHECK_FALSE(s.ok());
  return s.message();
}

}  // namespace

TEST_CASE("chat completions: roles, string and array content, every feature") {
  RequestBody b = Parse(R"({
    "model": "gpt-x", "max_completion_tokens": 300, "n": 2, "stream": true,
    "logprobs": true, "top_logprobs": 20, "logit_bias": {"50256": -100, "13": 5},
    "tools": [{"type": "function"}, {"type": "function"}, {"type": "function"}],
    "reasoning_effort": "high", "user": "u-17", "metadata": {"purpose": "chatbot"},
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "image_url", "image_url": {"url": "x"}}]},
      {"role": "assistant", "content": "Hi."},
      {"role": "tool", "content": "42"}
    ]})");
  CHECK(b.present);
  CHECK(b.api == "chat");
  CHECK(b.model == "gpt-x");
  CHECK(b.max_tokens == 300);
  CHECK(b.n == 2);
  CHECK(b.stream);
  CHECK(b.logprobs);
  CHECK(b.top_logprobs == 20);
  CHECK(b.logit_bias_count == 2);
  CHECK(b.tools_count == 3);
  CHECK(b.reasoning_effort == "high");
  CHECK(b.user == "u-17");
  CHECK(b.metadata_purpose == "chatbot");
  CHECK(b.message_count == 4);
  CHECK(b.system_text == "{\"type\":\"function\"}\n{\"type\":\"function\"}\n{\"type\":\"function\"}\nBe brief.");
  CHECK(b.user_text == "Hello\n42");  // a tool result is the client's text too
  CHECK(b.unscanned_parts == 1);  // the image
  CHECK(b.prompt_text ==
        "tools: {\"type\":\"function\"}\ntools: {\"type\":\"function\"}\ntools: {\"type\":\"function\"}\n"
        "developer: Be brief.\nuser: Hello\nassistant: Hi.\ntool: 42\n");
  CHECK(b.prompt_chars == static_cast<int64_t>(b.prompt_text.size()));
}

TEST_CASE("responses: input string or items, instructions, max_output_tokens, reasoning") {
  RequestBody s = Parse(R"({"model": "m", "instructions": "Answer in French.", "input": "Bonjour",
                            "max_output_tokens": 64, "reasoning": {"effort": "low"}})");
  CHECK(s.api == "responses");
  CHECK(s.system_text == "Answer in French.");
  CHECK(s.user_text == "Bonjour");
  CHECK(s.max_tokens == 64);
  CHECK(s.reasoning_effort == "low");
  RequestBody items = Parse(R"({"model": "m", "input": [
      {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
      {"role": "assistant", "content": [{"type": "output_text", "text": "reply"}]},
      {"role": "user", "content": "second"}]})");
  CHECK(items.api == "responses");
  CHECK(items.message_count == 3);
  CHECK(items.user_text == "first\nsecond");
}

TEST_CASE("legacy completions: prompt string or array, logprobs as a count") {
  RequestBody b = Parse(R"({"model": "m", "prompt": ["one", "two"], "max_tokens": 5, "logprobs": 5})");
  CHECK(b.api == "completions");
  CHECK(b.message_count == 2);
  CHECK(b.user_text == "one\ntwo");
  CHECK(b.logprobs);
  CHECK(b.top_logprobs == 5);
}

TEST_CASE("embeddings: input string or array") {
  RequestBody b = Parse(R"({"model": "e", "input": ["a", "b", "c"], "encoding_format": "float"})");
  CHECK(b.api == "embeddings");
  CHECK(b.message_count == 3);
  CHECK(Parse(R"({"model": "e", "input": "text"})").api == "embeddings");
  CHECK(Parse(R"({"model": "e", "input": [[1, 2, 3]]})").api == "embeddings");
}

TEST_CASE("anthropic messages: system string or blocks, content blocks, thinking budget, metadata") {
  RequestBody b = Parse(R"({"model": "claude", "max_tokens": 1024,
      "system": [{"type": "text", "text": "You are helpful."}],
      "thinking": {"type": "enabled", "budget_tokens": 2048},
      "metadata": {"user_id": "acct-9"},
      "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                                {"type": "tool_result", "content": "ok"}]}]})");
  CHECK(b.api == "messages");
  CHECK(b.system_text == "You are helpful.");
  CHECK(b.user_text == "Hi\nok");
  CHECK(b.thinking_budget == 2048);
  CHECK(b.user == "acct-9");
  CHECK(b.max_tokens == 1024);
}

TEST_CASE("numbers: 12.0 counts as 12, a fraction as the next whole number, numeric strings as numbers") {
  CHECK(Parse(R"({"max_tokens": 12.0})").max_tokens == 12);
  CHECK(Parse(R"({"max_tokens": 12.5})").max_tokens == 13);
  CHECK(Parse(R"({"max_tokens": "12"})").max_tokens == 12);
  CHECK(Parse(R"({"max_tokens": null})").max_tokens == -1);
  CHECK(Parse(R"({"n": 18446744073709551615})").n == INT64_MAX);
}

TEST_CASE("bad bodies are named, never a crash") {
  CHECK(Error("{\"model\": ").find("not valid JSON") != std::string::npos);
  CHECK(Error("[1, 2]") == "the JSON body must be an object");
  CHECK(Error("\"text\"") == "the JSON body must be an object");
  CHECK(Error(std::string("{\"a\": \"x\0y\"}", 13)) == "the body contains a NUL byte");
  CHECK(Error("{\"a\": \"\xff\xfe\"}") == "the body is not valid UTF-8");
  CHECK(Error("{\"a\": \"line\nbreak\"}").find("control character") != std::string::npos);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  CHECK(Error(deep) == "the JSON body is nested too deeply");
  // 60 levels are fine.
  std::string ok;
  for (int i = 0; i < 60; ++i) ok += "{\"a\":";
  ok += "1";
  for (int i = 0; i < 60; ++i) ok += "}";
  CHECK(Parse(ok).present);
  CHECK(Error("").find("not valid JSON") != std::string::npos);
}

TEST_CASE("a large prompt is read whole") {
  std::string text(512 * 1024, 'x');
  RequestBody b = Parse("{\"messages\": [{\"role\": \"user\", \"content\": \"" + text + "\"}]}");
  CHECK(b.user_text.size() == text.size());
}

TEST_CASE("coerced fields: strings a lenient upstream reads as numbers and booleans are read as them") {
  RequestBody b = Parse(R"({"messages": [], "logprobs": "true", "stream": "true", "n": "3",
                            "max_tokens": "100000", "top_logprobs": "5"})");
  CHECK(b.logprobs);
  CHECK(b.stream);
  CHECK(b.n == 3);
  CHECK(b.max_tokens == 100000);
  CHECK(b.top_logprobs == 5);
  CHECK(Parse(R"({"max_tokens": " 1_000 "})").max_tokens == 1000);
  CHECK(Parse(R"({"max_tokens": "1e5"})").max_tokens == 100000);
  CHECK(Parse(R"({"max_tokens": "+7"})").max_tokens == 7);
  CHECK(Parse(R"({"max_tokens": 1e5})").max_tokens == 100000);
  CHECK(Parse(R"({"n": true})").n == 1);
  CHECK(Parse(R"({"max_completion_tokens": "99999999999999999999999"})").max_tokens == INT64_MAX);
  CHECK(Parse(R"({"thinking": {"type": "enabled", "budget_tokens": "2048"}})").thinking_budget == 2048);
  // Booleans: false only for false, null, 0 and false-like strings.
  for (const char* f : {"false", "null", "0", "\"false\"", "\"False\"", "\"0\"", "\"no\"", "\"off\""}) {
    CAPTURE(f);
    CHECK_FALSE(Parse(std::string(R"({"stream": )") + f + "}").stream);
    CHECK_FALSE(Parse(std::string(R"({"logprobs": )") + f + "}").logprobs);
  }
  // Junk reads as true: an upstream that coerces by truthiness asks for them.
  for (const char* t : {"true", "1", "\"true\"", "\"1\"", "\"TRUE\"", "{}", "[]", "\"yes please\"", "2"}) {
    CAPTURE(t);
    CHECK(Parse(std::string(R"({"stream": )") + t + "}").stream);
    CHECK(Parse(std::string(R"({"logprobs": )") + t + "}").logprobs);
  }
  // Legacy Completions' count, also as a string.
  RequestBody legacy = Parse(R"({"prompt": "x", "logprobs": "5"})");
  CHECK(legacy.logprobs);
  CHECK(legacy.top_logprobs == 5);
}

TEST_CASE("an integer field holding what is no number is refused, not ignored") {
  for (const char* junk : {R"("lots")", "{}", "[1]", R"("12abc")", R"("0x10")", R"("inf")", R"("")"}) {
    CAPTURE(junk);
    const std::string message = Error(std::string(R"({"messages": [], "max_tokens": )") + junk + "}");
    CHECK(message == "`max_tokens` is not a number");
  }
  CHECK(Error(R"({"n": "many"})") == "`n` is not a number");
  CHECK(Error(R"({"top_logprobs": []})") == "`top_logprobs` is not a number");
}

TEST_CASE("duplicate keys are refused anywhere in the body: the upstream would take the last") {
  const std::string evil = R"({"messages": [{"role": "user", "content": "hi"}],
                               "messages": [{"role": "user", "content": "sarin"}]})";
  CHECK(Error(evil) == "the JSON body has a duplicate key \"messages\"");
  CHECK(Error(R"({"model": "a", "stream": false, "stream": true})").find("\"stream\"") != std::string::npos);
  // Nested, in an array, and written with an escape.
  CHECK(Error(R"({"messages": [{"role": "user", "content": "a", "content": "b"}]})")
            .find("\"content\"") != std::string::npos);
  CHECK(Error(R"({"a": [[{"x": {"k": 1, "k": 2}}]]})").find("\"k\"") != std::string::npos);
  CHECK(Error(R"({"role": "user", "r\u006fle": "system"})").find("duplicate key") != std::string::npos);
  // A large object (sorted, not compared pairwise) with its duplicate last.
  std::string wide = "{";
  for (int i = 0; i < 500; ++i) wide += "\"k" + std::to_string(i) + "\": 1,";
  CHECK(Parse(wide + "\"end\": 1}").present);
  CHECK(Error(wide + "\"k17\": 2}") == "the JSON body has a duplicate key \"k17\"");
  // Keys are told from values, numbers (two tape words), nested objects and
  // arrays: none of these is a duplicate.
  CHECK(Parse(R"({"a": ["x", "y", 1.5, -2, 18446744073709551615, true, null], "x": "a", "b": {"a": {"a": [{"a": 1}]}},
                  "c": [[], {}, [{}]], "d": 1})").present);
  CHECK(Error(R"({"a": ["x", 1.5, {"n": [1, 2]}], "b": 1, "a": 2})") == "the JSON body has a duplicate key \"a\"");
  CHECK(Error(R"({"a": [{"n": 1, "m": [1, {"z": 0}], "n": 2}]})") == "the JSON body has a duplicate key \"n\"");
  // Equal keys in different objects are fine.
  CHECK(Parse(R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})").present);
}

TEST_CASE("the parser stays linear: a deep and wide body within limits reads quickly and whole") {
  // 56 levels of nested tool_result blocks around one text.
  std::string deep = R"({"system": "s", "messages": [{"role": "user", "content": )";
  int opened = 0;
  for (; opened < 28; ++opened) deep += R"([{"type": "tool_result", "content": )";
  deep += R"("core")";
  for (int i = 0; i < opened; ++i) deep += "}]";
  deep += "}]}";
  RequestBody d = Parse(deep);
  CHECK(d.user_text == "core");
  // A wide body near the 1 MiB limit: 20,000 tool-call messages with short
  // arguments, a 20,000-key object, and 20,000 token arrays. The texts it
  // collects are bounded by twice the body size.
  std::string wide = R"({"messages": [)";
  for (int i = 0; i < 20000; ++i)
    wide += std::string(i ? "," : "") + R"({"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{\"a\":1}"}}]})";
  wide += R"(], "metadata": {)";
  for (int i = 0; i < 20000; ++i) wide += std::string(i ? "," : "") + "\"m" + std::to_string(i) + "\":1";
  wide += R"(}, "input": [)";
  for (int i = 0; i < 20000; ++i) wide += std::string(i ? "," : "") + "[1]";
  wide += "]}";
  REQUIRE(wide.size() < (1u << 21));
  RequestBody w = Parse(wide);
  CHECK(w.message_count == 40000);
  CHECK(w.unscanned_parts == 20000);
  CHECK(w.prompt_text.size() <= 2 * wide.size() + 4096);
}

TEST_CASE("temperature and the hash of the tool definitions, for competitor_training") {
  const std::string tools = R"("tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}])";
  RequestBody a = Parse(R"({"model": "m", "temperature": 1, )" + tools +
                        R"(, "messages": [{"role": "user", "content": "hi"}]})");
  RequestBody b = Parse(R"({"model": "m", "temperature": 0.2, )" + tools +
                        R"(, "messages": [{"role": "user", "content": "another question"}]})");
  RequestBody c = Parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})");
  CHECK(a.temperature == doctest::Approx(1));
  CHECK(b.temperature == doctest::Approx(0.2));
  CHECK(c.temperature == -1);
  CHECK(a.tools_hash != 0);
  CHECK(a.tools_hash == b.tools_hash);
  CHECK(c.tools_hash == 0);
  RequestBody g = Parse(R"({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
                            "generationConfig": {"temperature": 0.9, "candidateCount": 3}})");
  CHECK(g.temperature == doctest::Approx(0.9));
  CHECK(g.n == 3);
}
