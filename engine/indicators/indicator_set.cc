#include "engine/indicators/indicator_set.h"

#include <algorithm>

#include "engine/distill/text_features.h"

namespace tosgate::engine {
namespace {

std::string Masked(std::array<uint8_t, 16> addr, int bits) {
  for (int i = 0; i < 16; ++i)
    addr[i] &= static_cast<uint8_t>(0xff00 >> std::clamp(bits - 8 * i, 0, 8));
  return std::string(reinterpret_cast<const char*>(addr.data()), addr.size());
}

std::string FingerprintKey(IndicatorObservable what, std::string_view hex) {
  std::string k = what == IndicatorObservable::kPayment ? "payment:" : "device:";
  k += hex;
  return k;
}

}  // namespace

std::string_view IndicatorObservableName(IndicatorObservable o) {
  switch (o) {
    case IndicatorObservable::kAddressRange: return "address range";
    case IndicatorObservable::kPayment: return "payment fingerprint";
    case IndicatorObservable::kDevice: return "device fingerprint";
    case IndicatorObservable::kTemplate: return "harvest-template fingerprint";
    case IndicatorObservable::kShape: return "request-shape profile";
  }
  return "?";
}

int IndicatorSet::AddCampaign(IndicatorCampaign c) {
  campaigns_.push_back(std::move(c));
  return static_cast<int>(campaigns_.size() - 1);
}

void IndicatorSet::AddRange(std::array<uint8_t, 16> addr, int bits, IndicatorEntry e) {
  bits = std::clamp(bits, 0, 128);
  e.what = IndicatorObservable::kAddressRange;
  entries_.push_back(std::move(e));
  ranges_[bits][Masked(addr, bits)].push_back(entries_.size() - 1);
}

void IndicatorSet::AddFingerprint(IndicatorEntry e) {
  std::string key = FingerprintKey(e.what, e.value);
  entries_.push_back(std::move(e));
  fingerprints_[std::move(key)].push_back(entries_.size() - 1);
}

bool IndicatorSet::AddTemplate(uint64_t keyed_simhash, IndicatorEntry e) {
  if (templates_.size() >= kMaxTemplates) return false;
  e.what = IndicatorObservable::kTemplate;
  entries_.push_back(std::move(e));
  templates_.emplace_back(keyed_simhash, entries_.size() - 1);
  return true;
}

void IndicatorSet::AddShape(IndicatorEntry e) {
  e.what = IndicatorObservable::kShape;
  std::string key = e.value;
  entries_.push_back(std::move(e));
  shapes_[std::move(key)].push_back(entries_.size() - 1);
}

const IndicatorEntry* IndicatorSet::Match(const Probe& p, int64_t wall_ms) const {
  const IndicatorEntry* best = Match(p.addr, p.payment, p.device, wall_ms);
  if (p.has_template)
    for (const auto& [print, i] : templates_)
      if (HammingDistance(print, p.keyed_template) <= p.max_distance) Consider(i, wall_ms, &best);
  if (!p.shape.empty() && !shapes_.empty()) {
    thread_local std::string probe;
    probe.assign(p.shape);
    if (auto it = shapes_.find(probe); it != shapes_.end())
      for (size_t i : it->second) {
        const IndicatorEntry* shape = nullptr;
        Consider(i, wall_ms, &shape);
        if (shape && (!best || Effective(*shape, p) > Effective(*best, p))) best = shape;
      }
  }
  return best;
}

void IndicatorSet::Consider(size_t i, int64_t wall_ms, const IndicatorEntry** best) const {
  const IndicatorEntry& e = entries_[i];
  if (e.valid_from_ms && wall_ms < e.valid_from_ms) return;
  if (e.valid_until_ms && wall_ms >= e.valid_until_ms) return;
  if (!*best || e.weight > (*best)->weight) *best = &e;
}

const IndicatorEntry* IndicatorSet::Match(const std::array<uint8_t, 16>* addr,
                                          std::string_view payment, std::string_view device,
                                          int64_t wall_ms) const {
  const IndicatorEntry* best = nullptr;
  if (addr) {
    // One masked copy per prefix length, on the stack: no allocation.
    for (const auto& [bits, table] : ranges_) {
      std::array<uint8_t, 16> m = *addr;
      for (int i = 0; i < 16; ++i)
        m[i] &= static_cast<uint8_t>(0xff00 >> std::clamp(bits - 8 * i, 0, 8));
      std::string_view key(reinterpret_cast<const char*>(m.data()), m.size());
      // unordered_map<std::string> has no heterogeneous lookup before C++20's
      // is_transparent hashers; the table is small, so find through a
      // thread-local key buffer reused across calls.
      thread_local std::string probe;
      probe.assign(key);
      if (auto it = table.find(probe); it != table.end())
        for (size_t i : it->second) Consider(i, wall_ms, &best);
    }
  }
  if (!fingerprints_.empty()) {
    thread_local std::string probe;
    for (int k = 0; k < 2; ++k) {
      std::string_view hex = k == 0 ? payment : device;
      if (hex.empty()) continue;
      probe = k == 0 ? "payment:" : "device:";
      probe += hex;
      if (auto it = fingerprints_.find(probe); it != fingerprints_.end())
        for (size_t i : it->second) Consider(i, wall_ms, &best);
    }
  }
  return best;
}

}  // namespace tosgate::engine
