// AuditBatchQueue's group window (Options::linger): records nobody waits on
// queue behind a lingering writer without waking it and are committed
// together; a waiter, Flush, Close or a filling queue end the window at
// once. The window here is an hour, so every wait below that ends is one
// the window did not impose; each is bounded by a future's wait_for.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "storage/audit/batch_queue.h"

namespace tosgate::storage {
namespace {

using namespace std::chrono_literals;
constexpr auto kBound = 60s;  // far beyond any commit here; far below the window

// A queue with an hour's window whose commits only record their sizes.
struct Fixture {
  Fixture() : queue(Options(), Texts()) {
    queue.Start(
        [this](const std::vector<AuditBatchQueue::Item>& batch) {
          std::lock_guard lock(mu);
          sizes.push_back(batch.size());
          committed += batch.size();
          if (committed >= notify_at && !notified) {
            notified = true;
            reached.set_value();
          }
          return Status::Ok();
        },
        nullptr);
  }
  static AuditBatchQueue::Options Options() {
    AuditBatchQueue::Options o;
    o.linger = std::chrono::hours(1);
    return o;
  }
  static AuditBatchQueue::Texts Texts() {
    AuditBatchQueue::Texts t;
    t.who = "test: ";
    t.closed = "closed";
    return t;
  }
  std::vector<size_t> Sizes() {
    std::lock_guard lock(mu);
    return sizes;
  }
  static AuditRow Row(int i) {
    AuditRow r;
    r.id = "d-" + std::to_string(i);
    r.time_ms = i;
    return r;
  }

  std::mutex mu;
  std::vector<size_t> sizes;
  size_t committed = 0;
  size_t notify_at = SIZE_MAX;
  bool notified = false;
  std::promise<void> reached;
  AuditBatchQueue queue;  // last: its writer stops before the rest goes
};

TEST_CASE("async records queued in the writer's window go in one commit, which Flush ends") {
  Fixture f;
  for (int i = 0; i < 50; ++i) REQUIRE(f.queue.Submit(Fixture::Row(i), false).ok());
  auto flushed = std::async(std::launch::async, [&] { return f.queue.Flush(); });
  REQUIRE(flushed.wait_for(kBound) == std::future_status::ready);
  CHECK(flushed.get().ok());
  // The first record woke the writer, which then waited in its window
  // (or, at the latest, took everything when Flush ended it).
  CHECK(f.Sizes() == std::vector<size_t>{50});
  CHECK(f.queue.Close(nullptr).ok());
}

TEST_CASE("a record someone waits for ends the window at once") {
  Fixture f;
  REQUIRE(f.queue.Submit(Fixture::Row(1), false).ok());
  auto waited = std::async(std::launch::async, [&] { return f.queue.Submit(Fixture::Row(2), true); });
  REQUIRE(waited.wait_for(kBound) == std::future_status::ready);
  CHECK(waited.get().ok());
  size_t total = 0;
  for (size_t n : f.Sizes()) total += n;
  CHECK(total == 2);
  CHECK(f.queue.Close(nullptr).ok());
}

TEST_CASE("a queue filling a commit ends the window without a waiter or Flush") {
  Fixture f;
  std::future<void> reached;
  {
    std::lock_guard lock(f.mu);
    f.notify_at = AuditBatchQueue::kWakeAt;
    reached = f.reached.get_future();
  }
  for (size_t i = 0; i < AuditBatchQueue::kWakeAt; ++i)
    REQUIRE(f.queue.Submit(Fixture::Row(static_cast<int>(i)), false).ok());
  CHECK(reached.wait_for(kBound) == std::future_status::ready);
  CHECK(f.queue.Close(nullptr).ok());
}

TEST_CASE("Close ends the window and commits what waited in it") {
  Fixture f;
  for (int i = 0; i < 10; ++i) REQUIRE(f.queue.Submit(Fixture::Row(i), false).ok());
  auto closed = std::async(std::launch::async, [&] { return f.queue.Close(nullptr); });
  REQUIRE(closed.wait_for(kBound) == std::future_status::ready);
  CHECK(closed.get().ok());
  size_t total = 0;
  for (size_t n : f.Sizes()) total += n;
  CHECK(total == 10);
}

// The queue's counters (a sink's Stats has these fields and more).
struct Counters {
  uint64_t submitted = 0, written = 0, rejected_full = 0, write_errors = 0, batches = 0,
           dropped = 0, commit_timeouts = 0;
  size_t queue_depth = 0;
};

// The writer swaps the whole queue out when it fits a commit and takes the
// first max_batch, in order, when it does not.
TEST_CASE("a backlog longer than max_batch is committed max_batch at a time, in order") {
  AuditBatchQueue::Options o;
  o.max_batch = 4;
  std::mutex mu;
  std::vector<size_t> sizes;
  std::vector<int64_t> order;
  std::promise<void> entered, release;
  std::shared_future<void> gate = release.get_future().share();
  bool first = true;
  AuditBatchQueue queue(o, Fixture::Texts());
  queue.Start(
      [&](const std::vector<AuditBatchQueue::Item>& batch) {
        std::unique_lock lock(mu);
        sizes.push_back(batch.size());
        for (const auto& item : batch) order.push_back(item.record.time_ms);
        if (first) {  // hold the first commit until the backlog is queued
          first = false;
          lock.unlock();
          entered.set_value();
          (void)gate.wait_for(kBound);
        }
        return Status::Ok();
      },
      nullptr);
  REQUIRE(queue.Submit(Fixture::Row(0), false).ok());
  REQUIRE(entered.get_future().wait_for(kBound) == std::future_status::ready);
  for (int i = 1; i <= 10; ++i) REQUIRE(queue.Submit(Fixture::Row(i), false).ok());
  release.set_value();
  auto flushed = std::async(std::launch::async, [&] { return queue.Flush(); });
  REQUIRE(flushed.wait_for(kBound) == std::future_status::ready);
  CHECK(flushed.get().ok());
  CHECK(queue.stats<Counters>().written == 11);
  CHECK(queue.Close(nullptr).ok());
  CHECK(sizes == std::vector<size_t>{1, 4, 4, 2});
  std::vector<int64_t> want;
  for (int i = 0; i <= 10; ++i) want.push_back(i);
  CHECK(order == want);
}

}  // namespace
}  // namespace tosgate::storage
