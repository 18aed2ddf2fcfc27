#include "engine/account_marks.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "engine/thread_annotations.h"

namespace tosgate::engine {
namespace {

constexpr size_t kShards = 16;

struct Mark {
  std::string flag;
  int64_t expires_wall_ms = 0;
};

struct Entry {
  std::vector<Mark> marks;
  uint64_t added = 0;  // shard-local order of the last Add, for eviction
};

}  // namespace

struct AccountMarks::Shard {
  mutable Mutex mu;
  std::unordered_map<std::string, Entry> map GUARDED_BY(mu);
  uint64_t next GUARDED_BY(mu) = 0;
};

AccountMarks::AccountMarks(size_t max_accounts)
    : max_per_shard_(std::max<size_t>(1, max_accounts / kShards)), shards_(new Shard[kShards]) {}

AccountMarks::~AccountMarks() = default;

static size_t ShardOf(std::string_view id) { return std::hash<std::string_view>{}(id) % kShards; }

void AccountMarks::Add(std::string_view account_id, std::string_view flag,
                       int64_t expires_wall_ms) {
  Shard& s = shards_[ShardOf(account_id)];
  MutexLock lock(s.mu);
  auto it = s.map.find(std::string(account_id));
  if (it == s.map.end()) {
    if (s.map.size() >= max_per_shard_) {
      // The account marked longest ago goes: one scan of a bounded shard
      // is cheap next to the guard call that raised this mark.
      auto victim = std::min_element(s.map.begin(), s.map.end(), [](const auto& a, const auto& b) {
        return a.second.added < b.second.added;
      });
      s.map.erase(victim);
      accounts_.fetch_sub(1, std::memory_order_relaxed);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    it = s.map.emplace(std::string(account_id), Entry{}).first;
    accounts_.fetch_add(1, std::memory_order_relaxed);
  }
  Entry& e = it->second;
  e.added = ++s.next;
  for (Mark& m : e.marks) {
    if (m.flag == flag) {
      m.expires_wall_ms = std::max(m.expires_wall_ms, expires_wall_ms);
      return;
    }
  }
  e.marks.push_back(Mark{std::string(flag), expires_wall_ms});
}

bool AccountMarks::AppendLive(std::string_view account_id, int64_t now_wall_ms,
                              std::vector<std::string>* flags) const {
  const Shard& s = shards_[ShardOf(account_id)];
  MutexLock lock(s.mu);
  auto it = s.map.find(std::string(account_id));
  if (it == s.map.end()) return false;
  bool any = false;
  for (const Mark& m : it->second.marks) {
    if (m.expires_wall_ms <= now_wall_ms) continue;
    if (std::find(flags->begin(), flags->end(), m.flag) != flags->end()) continue;
    flags->push_back(m.flag);
    any = true;
  }
  return any;
}

void AccountMarks::Clear(std::string_view account_id) {
  Shard& s = shards_[ShardOf(account_id)];
  MutexLock lock(s.mu);
  if (s.map.erase(std::string(account_id))) accounts_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace tosgate::engine
