#include "engine/admissions.h"

#include <algorithm>

namespace tosgate::engine {
namespace {
constexpr size_t kShards = 16;
}

Admissions::Admissions(size_t max_entries)
    : shards_(new Shard[kShards]), per_shard_cap_(std::max<size_t>(1, max_entries / kShards)) {}

Admissions::Shard& Admissions::ShardFor(std::string_view id) {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

void Admissions::Add(std::string decision_id, Admission admission) {
  Shard& s = ShardFor(decision_id);
  std::lock_guard lock(s.mu);
  if (s.entries.size() >= per_shard_cap_ && !s.entries.contains(decision_id)) {
    auto victim = std::min_element(s.entries.begin(), s.entries.end(), [](auto& a, auto& b) {
      return a.second.expires_ns < b.second.expires_ns;
    });
    s.entries.erase(victim);
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  s.entries[std::move(decision_id)] = std::move(admission);
}

Status Admissions::Take(std::string_view decision_id, int64_t now_ns, UsageSource source,
                        Admission* out) {
  Shard& s = ShardFor(decision_id);
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(std::string(decision_id));
  if (it == s.entries.end() || it->second.expires_ns <= now_ns)
    return Status::NotFound("no open reservation for decision " + std::string(decision_id));
  if (it->second.inline_proxy && source != UsageSource::kInlineProxy)
    return Status::FailedPrecondition("usage of this decision is observed by the gateway");
  *out = std::move(it->second);
  s.entries.erase(it);
  return Status::Ok();
}

unsigned Admissions::Awaits(std::string_view decision_id) const {
  const Shard& s = shards_[std::hash<std::string_view>{}(decision_id) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(std::string(decision_id));
  if (it == s.entries.end()) return 0;
  unsigned out = 0;
  for (const Charge& c : it->second.charges) {
    if (c.lease_id != 0) out |= kAwaitsCompletion;
    if (c.tokens != Charge::Tokens::kNone) out |= kAwaitsUsage;
  }
  return out;
}

std::vector<Charge> Admissions::ExpireSome(int64_t now_ns) {
  Shard& s = shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) % kShards];
  std::vector<Charge> out;
  std::lock_guard lock(s.mu);
  for (auto it = s.entries.begin(); it != s.entries.end();) {
    if (it->second.expires_ns > now_ns) {
      ++it;
      continue;
    }
    for (Charge& c : it->second.charges) out.push_back(std::move(c));
    it = s.entries.erase(it);
    expired_.fetch_add(1, std::memory_order_relaxed);
  }
  return out;
}

size_t Admissions::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].entries.size();
  }
  return n;
}

}  // namespace tosgate::engine
