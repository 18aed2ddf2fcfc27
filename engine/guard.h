// GuardClient: how a `kind: guard` rule asks an external classifier whether
// a prompt is unsafe. The engine does no I/O, so it sees only this interface;
// the HTTP implementation lives at the edge (api/guard/) and is injected
// through EngineOptions::guard, like the state and behaviour stores.
//
// Implementations are safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tosgate::engine {

// The wire format of the classifier (`format:` of the rule).
enum class GuardFormat : uint8_t {
  // POST {"model", "input"} to an OpenAI-compatible /v1/moderations; the
  // answer's results[0].flagged, categories and category_scores.
  kOpenAiModeration,
  // POST a chat completion whose one user message is the text to a chat
  // endpoint serving a guard model with Llama Guard's chat template; the
  // answer's content is "safe" or "unsafe\nS1,S3".
  kLlamaGuard,
};

// One question. Owns its strings so that it can outlive the request
// (ClassifyAsync).
struct GuardQuery {
  std::string endpoint;  // full URL, e.g. http://127.0.0.1:8000/v1/moderations
  GuardFormat format = GuardFormat::kOpenAiModeration;
  std::string model;         // may be empty
  std::string text;          // what is judged: the rule's fields, normalized
  int64_t timeout_ms = 300;  // the whole call: connect, send, answer
};

struct GuardVerdict {
  enum class Outcome : uint8_t {
    kSafe,
    kUnsafe,
    kTimeout,  // no answer within timeout_ms
    kError,    // unreachable, a non-2xx status, an answer not understood
  };
  Outcome outcome = Outcome::kError;
  // kUnsafe: the categories the classifier named ("S1", "violence"); may
  // be empty when it flagged without naming one.
  std::vector<std::string> categories;
  // openai-moderation: the score of each named category, same order.
  std::vector<double> scores;
  std::string error;  // kTimeout / kError: why, never the text

  bool definitive() const { return outcome == Outcome::kSafe || outcome == Outcome::kUnsafe; }
};

class GuardClient {
 public:
  virtual ~GuardClient() = default;

  // Asks and waits for the answer, at most about query.timeout_ms (then
  // kTimeout). Blocks the calling thread: the rule bounds how many calls
  // wait at once (max_concurrency).
  virtual GuardVerdict Classify(const GuardQuery& query) = 0;

  // Asks in the background and calls `done` with the verdict on a thread of
  // the client's own, later. Returns false, without calling `done`, when the
  // client cannot take the job now (its queue is full, it is stopping).
  // `done` must not throw.
  virtual bool ClassifyAsync(GuardQuery query, std::function<void(GuardVerdict)> done) = 0;
};

}  // namespace tosgate::engine
