// BatchLedger: what the gateway remembers between the steps of a batch,
// which reach it as separate requests, so that a batch is counted and
// reserved when it is submitted and settled when its results are read.
//
//   OpenAI:    POST /v1/files (purpose=batch, JSON Lines of requests)
//              -> {"id": "file-..."}            RememberFile(file id, its requests)
//              POST /v1/batches {"input_file_id": "file-..."}
//              -> Fill(): the batch is priced from the file's requests
//              -> {"id": "batch_..."}           RememberBatch(batch id, decision id)
//              GET /v1/batches/batch_... -> "status": "completed", "usage": {...}
//              -> TakeBatch(): that usage settles the submission's reservation
//   Anthropic: POST /v1/messages/batches {"requests": [...]} (priced from the body)
//              -> {"id": "msgbatch_..."}        RememberBatch
//              GET /v1/messages/batches/msgbatch_.../results (JSON Lines)
//              -> TakeBatch(): the sum of the results' usage settles it
//
// Only the inline proxy sees the upstream's answers, and so the ids; a
// forward-auth plugin reports a batch's usage to /v1/usage with the
// submission's decision id (docs/cost-budgets.md).
//
// Bounded: past `max_files` or `max_batches` the oldest entry is forgotten
// (counted). A forgotten file makes its batch unknown (refused, as an
// unpriced model is); a forgotten batch keeps what its submission reserved.
// Nothing secret is kept: ids, counts and a model name. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tosgate/request.h"

namespace tosgate::api {

// An uploaded file's requests, as a cost budget needs them (RequestBody's
// batch fields): no texts.
struct BatchInput {
  std::string model;
  int64_t requests = 0;
  int64_t unbounded_requests = 0;  // without max_tokens
  int64_t prompt_chars = 0;
  int64_t max_tokens = -1;
  int64_t n = -1;
};

// The batch fields of a file upload's parsed body.
BatchInput BatchInputOf(const RequestBody& upload);

struct BatchLedgerOptions {
  size_t max_files = 100'000;
  size_t max_batches = 100'000;
};

// Upstream ids are short printable ASCII; anything else is not kept.
bool PlausibleUpstreamId(std::string_view id);

class BatchLedger {
 public:
  BatchLedger() : BatchLedger(BatchLedgerOptions{}) {}
  explicit BatchLedger(BatchLedgerOptions options);

  void RememberFile(std::string file_id, BatchInput input);
  // Fills body's batch fields (model, batch_requests, prompt_chars,
  // max_tokens, n, api "batch") from file `body->batch_input_file`; false,
  // leaving the body as it is, when the file is unknown.
  bool Fill(RequestBody* body) const;

  void RememberBatch(std::string batch_id, std::string decision_id);
  // The decision that submitted `batch_id`, forgotten here: its results
  // settle it once.
  std::optional<std::string> TakeBatch(std::string_view batch_id);

  size_t files() const;
  size_t batches() const;
  uint64_t forgotten() const { return forgotten_.load(std::memory_order_relaxed); }

 private:
  template <typename V>
  struct Table {
    std::unordered_map<std::string, V> entries;
    std::deque<std::string> order;  // oldest first; may name taken entries
  };
  template <typename V>
  void Put(Table<V>& t, size_t cap, std::string id, V value);

  BatchLedgerOptions options_;
  mutable std::mutex mu_;
  Table<BatchInput> files_;
  Table<std::string> batches_;
  std::atomic<uint64_t> forgotten_{0};
};

}  // namespace tosgate::api
