// MockUpstream: a stand-in model API for tests, demos and benchmarks. It
// answers OpenAI-style (/v1/chat/completions, /v1/completions,
// /v1/responses, /v1/embeddings) and Anthropic-style (/v1/messages) requests
// with usage, as one JSON body or as server-sent events when the body asks
// for `stream: true`, after a configurable latency.
//
// It is also a stand-in guard classifier: POST /v1/moderations answers as
// OpenAI's moderation endpoint, and a chat completion whose model names
// "guard" answers as Llama Guard ("safe", or "unsafe" and a line of
// categories). A text is unsafe when it holds a marker: "sarin"
// (illicit/violent, S9), "ransomware" (illicit, S2), "kill myself"
// (self-harm, S11); one holding "mockhang" is never answered.
//
// Request headers steer it for failure tests: x-mock-latency-ms: N (before
// the first byte), x-mock-status: N (answer that status), x-mock-hang: 1
// (never answer), x-mock-reset: 1 (close the connection without answering),
// x-mock-malformed: 1 (answer bytes that are not HTTP).
//
// Thread-safety: Start/Stop from one thread; the server runs its own threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "tosgate/status.h"

namespace tosgate::api {

struct MockUpstreamOptions {
  std::string listen = "127.0.0.1:8000";  // port 0 picks a free one
  int threads = 1;
  std::chrono::milliseconds latency{0};      // before the first byte
  std::chrono::milliseconds chunk_delay{0};  // between streamed events
  int default_output_tokens = 16;            // when the body sets no max_tokens
};

class MockUpstream {
 public:
  static Result<std::unique_ptr<MockUpstream>> Start(MockUpstreamOptions options);
  ~MockUpstream();
  MockUpstream(const MockUpstream&) = delete;
  MockUpstream& operator=(const MockUpstream&) = delete;

  int port() const;
  uint64_t requests() const;  // requests answered (or refused on purpose)
  void Stop();

 private:
  struct Impl;
  explicit MockUpstream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::api
