// UsageScanner: reads the token usage out of an upstream model API's
// response as it streams past, for the inline proxy to reconcile budgets.
//
// Understands a JSON body with a top-level `usage` (OpenAI Chat Completions,
// Completions, Embeddings, Responses; Anthropic Messages) and server-sent
// events whose `data:` objects carry usage: OpenAI's final chunk with
// `stream_options.include_usage`, the Responses API's `response.completed`
// (`response.usage`), Anthropic's `message_start` (`message.usage`) and
// `message_delta` (`usage.output_tokens`). The latest value of each count
// wins. Bounded memory: a JSON body past `max_json_bytes` or an event line
// past it is not parsed. Not thread-safe; one per response.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace tosgate::api {

class UsageScanner {
 public:
  explicit UsageScanner(std::string_view content_type, size_t max_json_bytes = 4 << 20);

  void Feed(std::string_view bytes);
  // The usage found; counts not reported stay -1.
  engine::Usage Finish();

 private:
  void Line(std::string_view line);
  void Json(std::string_view text);

  enum class Mode { kIgnore, kJson, kEvents } mode_;
  size_t max_;
  std::string buffer_;  // the JSON body, or the event line being received
  bool overflow_ = false;
  engine::Usage usage_;
};

}  // namespace tosgate::api
