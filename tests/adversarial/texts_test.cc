// Attacks that hide text where the scanner did not look: tool definitions,
// tool-call arguments, Anthropic tool_result blocks, Responses input items,
// and prompts given as token ids. Issue 19, "Text the scanner never reads".
#include <doctest/doctest.h>

#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

using json = nlohmann::json;

void CheckDenied(Gateway& g, const std::string& target, const json& body) {
  INFO(target << " " << body.dump());
  RawResponse r = PostJson(g.port(), target, body.dump());
  CHECK(r.status == 403);
  CHECK(Reason(r) == assumed::kProhibitedWeapons);
  CHECK(g.received() == 0);
}

const json kHi = json::array({{{"role", "user"}, {"content", "Use the tool."}}});

TEST_CASE("texts: a prohibited prompt in a tool definition's description is read") {
  Gateway g;
  CheckDenied(g, "/v1/chat/completions",
              {{"model", "m"},
               {"messages", kHi},
               {"tools",
                {{{"type", "function"},
                  {"function",
                   {{"name", "answer"},
                    {"description", kSarin},
                    {"parameters", {{"type", "object"}}}}}}}}});
  // Anthropic tools, and a parameter's description.
  CheckDenied(g, "/v1/messages",
              {{"model", "m"},
               {"max_tokens", 16},
               {"messages", kHi},
               {"tools",
                {{{"name", "answer"},
                  {"description", "Answers."},
                  {"input_schema",
                   {{"type", "object"},
                    {"properties", {{"q", {{"type", "string"}, {"description", kSarin}}}}}}}}}}});
}

TEST_CASE("texts: a prohibited prompt in tool-call arguments is read") {
  Gateway g;
  const std::string args = json{{"question", kSarin}}.dump();
  CheckDenied(g, "/v1/chat/completions",
              {{"model", "m"},
               {"messages",
                {{{"role", "user"}, {"content", "Call the tool with my question."}},
                 {{"role", "assistant"},
                  {"content", nullptr},
                  {"tool_calls",
                   {{{"id", "call_1"},
                     {"type", "function"},
                     {"function", {{"name", "answer"}, {"arguments", args}}}}}}},
                 {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "Go on."}}}}});
  // The tool's answer is text the model reads as well.
  CheckDenied(g, "/v1/chat/completions",
              {{"model", "m"},
               {"messages",
                {{{"role", "user"}, {"content", "Go on."}},
                 {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", kSarin}}}}});
}

TEST_CASE("texts: a prohibited prompt in an Anthropic tool_result block is read") {
  Gateway g;
  CheckDenied(
      g, "/v1/messages",
      {{"model", "m"},
       {"max_tokens", 16},
       {"messages",
        {{{"role", "user"},
          {"content",
           {{{"type", "tool_result"}, {"tool_use_id", "toolu_1"}, {"content", kSarin}}}}}}}});
  // tool_result content as text blocks.
  CheckDenied(g, "/v1/messages",
              {{"model", "m"},
               {"max_tokens", 16},
               {"messages",
                {{{"role", "user"},
                  {"content",
                   {{{"type", "tool_result"},
                     {"tool_use_id", "toolu_1"},
                     {"content", {{{"type", "text"}, {"text", kSarin}}}}}}}}}}});
  // And a tool_use block's input.
  CheckDenied(g, "/v1/messages",
              {{"model", "m"},
               {"max_tokens", 16},
               {"messages",
                {{{"role", "user"}, {"content", "hi"}},
                 {{"role", "assistant"},
                  {"content",
                   {{{"type", "tool_use"},
                     {"id", "toolu_1"},
                     {"name", "answer"},
                     {"input", {{"question", kSarin}}}}}}},
                 {{"role", "user"}, {"content", "Go on."}}}}});
}

TEST_CASE("texts: a prohibited prompt in a Responses function_call_output item is read") {
  Gateway g;
  CheckDenied(
      g, "/v1/responses",
      {{"model", "m"},
       {"input", {{{"type", "function_call_output"}, {"call_id", "call_1"}, {"output", kSarin}}}}});
  CheckDenied(g, "/v1/responses",
              {{"model", "m"},
               {"input",
                {{{"type", "function_call"},
                  {"call_id", "call_1"},
                  {"name", "answer"},
                  {"arguments", json{{"question", kSarin}}.dump()}}}}});
  // A Responses tool definition.
  CheckDenied(g, "/v1/responses",
              {{"model", "m"},
               {"input", "Use the tool."},
               {"tools",
                {{{"type", "function"},
                  {"name", "answer"},
                  {"description", kSarin},
                  {"parameters", {{"type", "object"}}}}}}});
}

// A policy that refuses prompts it cannot read: token ids.
std::pair<std::string, std::string> TokenPolicy() {
  return {"adversarial/tokens.yaml", std::string(R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: tokens}
rules:
  - id: adversarial.no-token-prompts
    kind: attribute
    when: {field: )") + std::string(assumed::kTokenPromptField) +
                                         R"(, eq: true}
    action: deny
    reason: token-prompt
)"};
}

TEST_CASE("texts: a prompt given as token ids is flagged for the policy") {
  Gateway g(GatewayConfig{.extra_policies = {TokenPolicy()}});
  for (const json& prompt : {json::array({1, 2, 3}), json::array({json::array({1, 2, 3})})}) {
    INFO(prompt.dump());
    RawResponse r = PostJson(g.port(), "/v1/completions",
                             json{{"model", "m"}, {"max_tokens", 4}, {"prompt", prompt}}.dump());
    CHECK(r.status == 403);
    CHECK(Reason(r) == "token-prompt");
  }
  // Embeddings input as token ids too.
  RawResponse e = PostJson(g.port(), "/v1/embeddings",
                           json{{"model", "m"}, {"input", json::array({101, 2023, 102})}}.dump());
  CHECK(e.status == 403);
  CHECK(g.received() == 0);
  // Text prompts are not flagged.
  CHECK(PostJson(g.port(), "/v1/completions",
                 json{{"model", "m"}, {"max_tokens", 4}, {"prompt", "Hello"}}.dump())
            .status == 200);
}

}  // namespace
}  // namespace tosgate::test
