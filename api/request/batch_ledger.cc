#include "api/request/batch_ledger.h"

namespace tosgate::api {

BatchInput BatchInputOf(const RequestBody& upload) {
  BatchInput in;
  in.model = upload.model;
  in.requests = upload.batch_requests;
  in.unbounded_requests = upload.batch_unbounded_requests;
  in.prompt_chars = upload.prompt_chars;
  in.max_tokens = upload.max_tokens;
  in.n = upload.n;
  return in;
}

bool PlausibleUpstreamId(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id)
    if (c <= ' ' || c > '~') return false;
  return true;
}

BatchLedger::BatchLedger(BatchLedgerOptions options) : options_(options) {}

template <typename V>
void BatchLedger::Put(Table<V>& t, size_t cap, std::string id, V value) {
  // `order` may still name entries taken since: skipped here, and dropped
  // all at once when they come to outnumber the live ones (amortized O(1)).
  while (t.entries.size() >= cap && !t.order.empty()) {
    if (t.entries.erase(t.order.front())) forgotten_.fetch_add(1, std::memory_order_relaxed);
    t.order.pop_front();
  }
  if (t.order.size() > 2 * cap) {
    std::deque<std::string> live;
    for (std::string& name : t.order)
      if (t.entries.count(name)) live.push_back(std::move(name));
    t.order = std::move(live);
  }
  if (t.entries.insert_or_assign(id, std::move(value)).second) t.order.push_back(std::move(id));
}

void BatchLedger::RememberFile(std::string file_id, BatchInput input) {
  if (!PlausibleUpstreamId(file_id) || input.requests <= 0) return;
  std::lock_guard lock(mu_);
  Put(files_, options_.max_files, std::move(file_id), std::move(input));
}

bool BatchLedger::Fill(RequestBody* body) const {
  BatchInput in;
  {
    std::lock_guard lock(mu_);
    auto it = files_.entries.find(body->batch_input_file);
    if (it == files_.entries.end()) return false;
    in = it->second;
  }
  body->present = true;
  body->api = "batch";
  body->model = std::move(in.model);
  body->batch_requests = in.requests;
  body->batch_unbounded_requests = in.unbounded_requests;
  body->prompt_chars = in.prompt_chars;
  body->max_tokens = in.max_tokens;
  body->n = in.n;
  return true;
}

void BatchLedger::RememberBatch(std::string batch_id, std::string decision_id) {
  if (!PlausibleUpstreamId(batch_id) || decision_id.empty()) return;
  std::lock_guard lock(mu_);
  Put(batches_, options_.max_batches, std::move(batch_id), std::move(decision_id));
}

std::optional<std::string> BatchLedger::TakeBatch(std::string_view batch_id) {
  std::lock_guard lock(mu_);
  auto it = batches_.entries.find(std::string(batch_id));
  if (it == batches_.entries.end()) return std::nullopt;
  std::string decision = std::move(it->second);
  batches_.entries.erase(it);
  return decision;
}

size_t BatchLedger::files() const {
  std::lock_guard lock(mu_);
  return files_.entries.size();
}

size_t BatchLedger::batches() const {
  std::lock_guard lock(mu_);
  return batches_.entries.size();
}

}  // namespace tosgate::api
