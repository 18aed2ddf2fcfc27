// What an AI API request body asks for, read once with simdjson.
//
// Understands OpenAI-compatible Chat Completions (`messages`, string or
// array content parts), Responses (`input` string or items, `instructions`),
// legacy Completions (`prompt` string or array), Embeddings (`input`), and
// Anthropic Messages (`system` string or blocks, `messages`, content
// blocks), and fills tosgate::RequestBody: model, prompt text with roles,
// system and user text, message count, max_tokens (or max_completion_tokens
// / max_output_tokens), n, stream, logprobs / top_logprobs, logit_bias
// entries, tools, reasoning effort or thinking budget, user, and
// metadata.purpose. Nothing of the body is kept but these.
//
// Thread-safe: each thread parses with its own reusable parser.
#pragma once

#include <cstddef>
#include <string_view>

#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::engine {

struct BodyLimits {
  size_t max_depth = 64;  // nesting of objects and arrays
};

// Fills *out (reset first) from `json`. InvalidArgument naming the problem
// for what is not a JSON object: malformed JSON (with the byte offset where
// it is known), nesting deeper than max_depth, invalid UTF-8, a NUL byte.
Status ParseBody(std::string_view json, RequestBody* out, const BodyLimits& limits = {});

// Adds one request of a batch to the aggregate `total`: texts appended,
// message_count summed; max_tokens, n, top_logprobs, logit_bias_count,
// tools_count and thinking_budget the largest of any request (a limit on a
// field holds for every request); stream, logprobs, token_prompt if any
// request sets them; unscanned_parts summed; reasoning_effort the highest;
// model, user, metadata_purpose the first given. InvalidArgument when
// `one` names a model different from the one `total` already has: one
// body.model cannot stand for two. Does not touch total->api, present,
// batch_requests or prompt_chars (the caller sets them).
Status MergeBody(const RequestBody& one, RequestBody* total);

}  // namespace tosgate::engine
