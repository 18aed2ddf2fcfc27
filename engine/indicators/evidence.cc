#include "engine/indicators/evidence.h"

#include <algorithm>
#include <functional>

namespace tosgate::engine {

IndicatorEvidence::IndicatorEvidence(size_t max_accounts)
    : per_shard_(std::max<size_t>(1, max_accounts / kShards)), shards_(new Shard[kShards]) {}

IndicatorEvidence::Shard& IndicatorEvidence::ShardFor(std::string_view account) const {
  return shards_[std::hash<std::string_view>{}(account) % kShards];
}

void IndicatorEvidence::Add(std::string_view account, bool has_simhash, uint64_t simhash,
                            std::string_view shape) {
  Shard& s = ShardFor(account);
  std::lock_guard lock(s.mu);
  auto it = s.records.find(std::string(account));
  if (it == s.records.end()) {
    if (s.records.size() >= per_shard_) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = s.records.emplace(std::string(account), Record{}).first;
  }
  Record& r = it->second;
  if (has_simhash) {
    r.prints[r.next] = simhash;
    r.next = static_cast<uint8_t>((r.next + 1) % kPrints);
    r.len = static_cast<uint8_t>(std::min<int>(r.len + 1, kPrints));
  }
  if (shape.empty()) return;
  for (Shape& x : r.shapes)
    if (x.profile == shape) {
      ++x.count;
      return;
    }
  if (r.shapes.size() < static_cast<size_t>(kShapes)) {
    r.shapes.push_back({std::string(shape), 1});
    return;
  }
  // Full: the least used gives way (a campaign's shape is its most used).
  auto least = std::min_element(r.shapes.begin(), r.shapes.end(),
                                [](const Shape& a, const Shape& b) { return a.count < b.count; });
  *least = {std::string(shape), 1};
}

bool IndicatorEvidence::Get(std::string_view account, Record* out) const {
  Shard& s = ShardFor(account);
  std::lock_guard lock(s.mu);
  auto it = s.records.find(std::string(account));
  if (it == s.records.end()) return false;
  *out = it->second;
  std::stable_sort(out->shapes.begin(), out->shapes.end(),
                   [](const Shape& a, const Shape& b) { return a.count > b.count; });
  return true;
}

size_t IndicatorEvidence::accounts() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].records.size();
  }
  return n;
}

std::shared_ptr<IndicatorEvidence> SharedIndicatorEvidence() {
  // Never destroyed: rules may hold it until exit.
  static auto* shared = new std::shared_ptr<IndicatorEvidence>(std::make_shared<IndicatorEvidence>());
  return *shared;
}

}  // namespace tosgate::engine
