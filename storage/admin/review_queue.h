// ReviewQueue: accounts flagged for a person to look at, filled when a
// rule's action is "review" (competitor-training detection) and worked
// through the admin API. Lives in the accounts registry's file (table
// review_queue) or any other SQLite file; one open entry per (account,
// rule) at a time, so a flagged account does not fill the queue.
//
// Thread-safety: all methods may be called from any thread (one connection
// behind a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/clock.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct ReviewItem {
  int64_t id = 0;
  std::string account;
  std::string rule_id;
  std::string detail;
  int64_t created_ms = 0;
  int64_t resolved_ms = 0;  // 0 while open
  std::string resolved_by;
  std::string note;
};

class ReviewQueue {
 public:
  static Result<std::unique_ptr<ReviewQueue>> Open(const std::string& path, const Clock* clock);
  ~ReviewQueue();
  ReviewQueue(const ReviewQueue&) = delete;
  ReviewQueue& operator=(const ReviewQueue&) = delete;

  // Adds an open entry unless one is already open for (account, rule_id).
  // Returns true when it added one.
  Result<bool> Enqueue(std::string_view account, std::string_view rule_id, std::string_view detail);
  // Oldest first; `open_only` leaves resolved ones out; ids after `after`.
  Result<std::vector<ReviewItem>> List(bool open_only, size_t limit, int64_t after = 0);
  Result<ReviewItem> Get(int64_t id);
  // NotFound for an unknown id; AlreadyExists when it was resolved before.
  Result<ReviewItem> Resolve(int64_t id, std::string_view by, std::string_view note);

 private:
  struct Impl;
  explicit ReviewQueue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::storage
