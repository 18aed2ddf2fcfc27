// The default StateStore: sharded hash maps in memory, bounded in entries.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/state_store.h"

namespace tosgate::engine {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// 40 bytes of state per tracked key (plus the key and the map node).
struct Window {
  int64_t index = 0;      // which fixed window `current` counts
  int64_t window_ns = 0;  // to tell when the entry is idle
  int64_t current = 0;
  int64_t previous = 0;
  int64_t last_ns = 0;
};

struct Shard {
  std::mutex mu;
  std::unordered_map<std::string, Window, StringHash, std::equal_to<>> windows;
};

class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(MemoryStateOptions o)
      : shards_(o.shards ? o.shards : 1),
        per_shard_cap_(std::max<size_t>(1, o.max_entries / (o.shards ? o.shards : 1))) {}

  Result<WindowResult> WindowHit(std::string_view key, int64_t now_ns, int64_t window_ns,
                                 int64_t limit) override {
    if (window_ns <= 0 || limit <= 0) return Status::InvalidArgument("window and limit must be > 0");
    Shard& shard = shards_[std::hash<std::string_view>{}(key) % shards_.size()];
    std::lock_guard lock(shard.mu);
    auto it = shard.windows.find(key);
    if (it == shard.windows.end()) {
      if (shard.windows.size() >= per_shard_cap_) Evict(shard, now_ns);
      it = shard.windows.emplace(std::string(key), Window{}).first;
    }
    return Hit(it->second, now_ns, window_ns, limit);
  }

  size_t entries() const override {
    size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.windows.size();
    }
    return n;
  }
  uint64_t evictions() const override { return evictions_.load(std::memory_order_relaxed); }

 private:
  static WindowResult Hit(Window& w, int64_t now, int64_t window, int64_t limit) {
    const int64_t index = now / window;
    if (w.index == index - 1) {
      w.previous = w.current;
      w.current = 0;
    } else if (w.index != index) {
      w.previous = w.current = 0;
    }
    w.index = index;
    w.window_ns = window;
    w.last_ns = now;

    // Exact integer arithmetic: the estimate times the window length is
    // previous * time-left-in-window + current * window.
    using i128 = __int128;
    const int64_t elapsed = now - index * window;
    const int64_t left = window - elapsed;
    const i128 scaled = i128{w.previous} * left + i128{w.current} * window;
    auto ceil_div = [](i128 a, i128 b) { return static_cast<int64_t>((a + b - 1) / b); };

    WindowResult r;
    r.reset_ns = left;
    if (scaled + window <= i128{limit} * window) {
      ++w.current;
      r.allowed = true;
      r.used = ceil_div(scaled + window, window);
      return r;
    }
    r.used = ceil_div(scaled, window);
    i128 wait;
    if (w.current + 1 > limit) {
      // Only once this window has become the previous one and decayed enough.
      wait = left + ceil_div(i128{window} * (w.current - limit + 1), w.current);
    } else {
      // The previous window's weight must shrink until one more fits.
      wait = left - (i128{limit - 1 - w.current} * window) / w.previous;
    }
    r.retry_after_ns = std::max<int64_t>(1, static_cast<int64_t>(wait));
    return r;
  }

  // Drops idle entries (untouched for two of their windows); when none are
  // idle, drops an arbitrary one. Every drop is counted.
  void Evict(Shard& shard, int64_t now) {
    size_t before = shard.windows.size();
    for (auto it = shard.windows.begin(); it != shard.windows.end();) {
      if (now - it->second.last_ns > 2 * it->second.window_ns)
        it = shard.windows.erase(it);
      else
        ++it;
    }
    if (shard.windows.size() >= per_shard_cap_) shard.windows.erase(shard.windows.begin());
    evictions_.fetch_add(before - shard.windows.size(), std::memory_order_relaxed);
  }

  mutable std::vector<Shard> shards_;
  const size_t per_shard_cap_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace

std::unique_ptr<StateStore> NewMemoryStateStore(MemoryStateOptions opts) {
  return std::make_unique<MemoryStateStore>(opts);
}

}  // namespace tosgate::engine
