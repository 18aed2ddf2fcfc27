// Clock: where tosgate gets time. Injected everywhere so tests never sleep.
//
// monotonic_ns() drives rate windows and intervals; wall_ms() stamps audit
// records and answers time.* conditions. Implementations must be safe to call
// from many threads at once.
#pragma once

#include <atomic>
#include <cstdint>

namespace tosgate {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t monotonic_ns() const = 0;  // never goes backwards
  virtual int64_t wall_ms() const = 0;       // milliseconds since the Unix epoch
};

// The real clocks of the machine (CLOCK_MONOTONIC, CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  int64_t monotonic_ns() const override;
  int64_t wall_ms() const override;
};

// A clock that moves only when told to. The wall clock starts at
// `wall_start_ms` and advances together with the monotonic one.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_start_ms = 0) : wall_start_ms_(wall_start_ms) {}
  int64_t monotonic_ns() const override { return now_ns_.load(std::memory_order_relaxed); }
  int64_t wall_ms() const override { return wall_start_ms_ + monotonic_ns() / 1'000'000; }
  void advance_ns(int64_t ns) { now_ns_.fetch_add(ns, std::memory_order_relaxed); }
  void advance_ms(int64_t ms) { advance_ns(ms * 1'000'000); }
  void set_ns(int64_t ns) { now_ns_.store(ns, std::memory_order_relaxed); }

 private:
  const int64_t wall_start_ms_;
  std::atomic<int64_t> now_ns_{0};
};

}  // namespace tosgate
