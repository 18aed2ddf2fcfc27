// The arithmetic of the three meters (engine/state_store.h) over one
// entry's state, without storage: the memory store keeps entries in hash
// maps, the shared-memory store (storage/shm/) in a fixed table that several
// processes map. One copy of the arithmetic keeps the two exactly alike.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string_view>

#include "engine/state_store.h"

namespace tosgate::engine::meters {

using i128 = __int128;

struct Fingerprint {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Fingerprint&) const = default;
};

struct FingerprintHash {
  size_t operator()(const Fingerprint& f) const noexcept { return f.lo; }
};

inline Fingerprint FingerprintOf(std::string_view key) {
  uint64_t fnv = 0xcbf29ce484222325ULL;  // FNV-1a, independent of std::hash
  for (unsigned char c : key) fnv = (fnv ^ c) * 0x100000001b3ULL;
  return {fnv, std::hash<std::string_view>{}(key)};
}

// One meter's state. The fields mean what the meter says:
//   kWindow: a = current window's count, b = previous window's, index = window number
//   kGcra:   a = theoretical arrival time (ns)
//   kPeriod: a = count, index = period number
struct Entry {
  int64_t a = 0;
  int64_t b = 0;
  int64_t index = 0;
  int64_t idle_after_ns = 0;  // from then on it reads as a fresh entry: evictable
};

inline bool Idle(const Entry& e, int64_t now) { return e.idle_after_ns <= now; }

inline int64_t CeilDiv(i128 a, i128 b) { return static_cast<int64_t>((a + b - 1) / b); }

inline void Roll(Entry& e, int64_t index) {
  if (e.index == index) return;
  e.b = e.index == index - 1 ? e.a : 0;
  e.a = 0;
  e.index = index;
}

inline MeterResult TakeWindow(Entry& e, const MeterSpec& s, int64_t cost, int64_t now) {
  const int64_t window = s.period_ns, limit = s.limit;
  Roll(e, now / window);
  e.idle_after_ns = now + 2 * window;
  // Exact integer arithmetic: the estimate times the window length is
  // previous * time-left-in-window + current * window.
  const int64_t left = window - now % window;
  const i128 scaled = i128{e.b} * left + i128{e.a} * window;
  MeterResult r;
  r.reset_ns = left;
  if (scaled + i128{cost} * window <= i128{limit} * window) {
    e.a += cost;
    r.allowed = true;
    r.used = CeilDiv(scaled + i128{cost} * window, window);
    r.remaining = std::max<int64_t>(0, limit - r.used);
    return r;
  }
  r.used = CeilDiv(scaled, window);
  r.remaining = std::max<int64_t>(0, limit - r.used);
  i128 wait;
  if (cost > limit) {
    wait = left + window;  // never fits; say when the meter is empty
  } else if (e.a + cost > limit) {
    // Only once this window has become the previous one and decayed enough.
    wait = left + CeilDiv(i128{window} * (e.a + cost - limit), e.a);
  } else {
    // The previous window's weight must shrink until `cost` more fits.
    wait = left - (i128{limit - cost - e.a} * window) / e.b;
  }
  r.retry_after_ns = std::max<int64_t>(1, static_cast<int64_t>(wait));
  return r;
}

inline MeterResult TakeGcra(Entry& e, const MeterSpec& s, int64_t cost, int64_t now,
                     int64_t max_delay) {
  // Emission interval T = period/limit; tolerance tau = burst * T. A request
  // of `cost` conforms when the new arrival time is within tau + T of now.
  const i128 period = s.period_ns, limit = s.limit;
  const int64_t tat = std::max(e.a, now);
  const int64_t increment = CeilDiv(period * cost, limit);
  const int64_t capacity = static_cast<int64_t>(period * (s.burst + 1) / limit);  // tau + T
  const int64_t new_tat = tat + increment;
  const int64_t excess = new_tat - now - capacity;  // > 0: too early by this much
  MeterResult r;
  const int64_t unit = std::max<int64_t>(1, static_cast<int64_t>(period / limit));
  if (excess <= max_delay) {
    e.a = new_tat;
    r.allowed = true;
    r.delay_ns = std::max<int64_t>(0, excess);
    r.remaining = std::max<int64_t>(0, (capacity - (new_tat - now)) / unit);
    r.reset_ns = new_tat - now;
  } else {
    r.retry_after_ns = excess - max_delay;  // then it fits within the delay allowed
    r.remaining = 0;
    r.reset_ns = tat - now;
  }
  r.used = s.limit + s.burst - r.remaining;
  e.idle_after_ns = e.a;  // a full bucket is the same as no entry
  return r;
}

inline MeterResult TakePeriod(Entry& e, const MeterSpec& s, int64_t cost, int64_t now) {
  if (e.index != s.period_index) {
    e.index = s.period_index;
    e.a = 0;
  }
  e.idle_after_ns = now + s.period_left_ns;
  MeterResult r;
  r.reset_ns = s.period_left_ns;
  if (e.a + cost <= s.limit) {
    e.a += cost;
    r.allowed = true;
  } else {
    r.retry_after_ns = std::max<int64_t>(1, s.period_left_ns);
  }
  r.used = e.a;
  r.remaining = std::max<int64_t>(0, s.limit - e.a);
  return r;
}

inline Status CheckSpec(const MeterSpec& s, int64_t cost) {
  if (s.limit <= 0 || s.period_ns <= 0) return Status::InvalidArgument("limit and period must be > 0");
  if (cost < 0) return Status::InvalidArgument("cost must be >= 0");
  return Status::Ok();
}

// Adds `delta` to what was taken at `taken_at` (StateStore::Adjust).
inline void AdjustEntry(Entry& e, const MeterSpec& spec, int64_t taken_at, int64_t delta,
                        int64_t now) {
  auto add = [delta](int64_t& v) { v = std::max<int64_t>(0, v + delta); };
  switch (spec.meter) {
    case Meter::kWindow: {
      Roll(e, now / spec.period_ns);
      const int64_t index = taken_at / spec.period_ns;
      if (index == e.index) add(e.a);
      else if (index == e.index - 1) add(e.b);
      break;
    }
    case Meter::kGcra: {
      const int64_t step = CeilDiv(i128{spec.period_ns} * (delta < 0 ? -delta : delta), spec.limit);
      e.a = delta < 0 ? std::max(now, e.a - step) : std::max(e.a, now) + step;
      e.idle_after_ns = e.a;
      break;
    }
    case Meter::kPeriod:
      if (e.index == spec.period_index) add(e.a);
      break;
  }
}

}  // namespace tosgate::engine::meters
