// The GuardClient of `kind: guard` rules over HTTP (cpp-httplib, blocking,
// one keep-alive connection per call in flight, pooled by endpoint).
//
// Classify blocks its caller for at most about the query's timeout: the
// connect, each write and each read are bounded by it, and a call that fails
// after that long counts as a timeout. ClassifyAsync queues the call for a
// few threads of the client's own; past the queue's bound it refuses.
//
// Thread-safe. The destructor stops the async threads; calls still queued
// then finish with an error verdict, so their callbacks always run.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "engine/guard.h"

namespace tosgate::api {

struct HttpGuardOptions {
  int async_threads = 2;
  size_t async_queue = 1024;  // calls waiting for an async thread
  // Sent as "Authorization: Bearer ..." to every endpoint when not empty
  // (serve reads it from TOSGATE_GUARD_API_KEY, never from a policy).
  std::string api_key;
  size_t max_idle_per_endpoint = 32;
};

std::unique_ptr<engine::GuardClient> NewHttpGuardClient(HttpGuardOptions options = {});

// The request body a query is sent as, and how an answer reads; apart for
// tests and the benchmark.
std::string GuardRequestBody(const engine::GuardQuery& q);
engine::GuardVerdict ParseGuardAnswer(engine::GuardFormat format, std::string_view body);

}  // namespace tosgate::api
