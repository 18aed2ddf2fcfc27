// UsageScanner: reads the token usage out of an upstream model API's
// response as it streams past, for the inline proxy to reconcile budgets.
//
// Understands a JSON body with a top-level `usage` (OpenAI Chat Completions,
// Completions, Embeddings, Responses; Anthropic Messages) or `usageMetadata`
// (Gemini generateContent; streamGenerateContent's JSON array, whose last
// element with usage counts) and server-sent events whose `data:` objects
// carry usage: OpenAI's final chunk with `stream_options.include_usage`, the
// Responses API's `response.completed` (`response.usage`), Anthropic's
// `message_start` (`message.usage`) and `message_delta` (`usage`), Gemini's
// `alt=sse` chunks (`usageMetadata`). The latest value of each count wins.
// Bounded memory: a JSON body past `max_json_bytes` or an event line past it
// is not parsed. Not thread-safe; one per response.
//
// Each API's counts are normalized (engine::Usage): input includes cached
// and cache-written tokens (Anthropic reports those apart from
// input_tokens), output includes reasoning (Gemini reports thoughts apart
// from candidates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "engine/engine.h"

namespace tosgate::api {

// The counts of one API's usage object as written, before normalizing; -1
// when absent. Fed any number of usage objects; the latest value wins.
struct ProviderUsage {
  int64_t prompt = -1;        // prompt_tokens | input_tokens | promptTokenCount
  int64_t completion = -1;    // completion_tokens | output_tokens | candidatesTokenCount
  int64_t cached = -1;        // *_tokens_details.cached_tokens | cache_read_input_tokens |
                              // cachedContentTokenCount
  int64_t cache_write = -1;   // cache_creation_input_tokens
  int64_t reasoning = -1;     // *_tokens_details.reasoning_tokens | thoughtsTokenCount
  bool cache_apart = false;   // Anthropic: cache counts are not in `prompt`
  bool thoughts_apart = false;  // Gemini: reasoning is not in `completion`

  // Reads one usage object in any of the shapes above (`gemini`: a
  // usageMetadata object). Ignores anything else.
  void Read(const nlohmann::json& usage, bool gemini);
  engine::Usage Normalized() const;
};

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
  ProviderUsage usage_;
};

}  // namespace tosgate::api
