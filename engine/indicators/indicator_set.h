// IndicatorSet: partners' campaign indicators (STIX 2.1, imported by
// policies/stix.h) compiled for matching on the request path - address
// ranges by prefix length, keyed payment and device fingerprints and shape
// profiles by value, keyed template fingerprints by Hamming distance.
//
// Immutable once built; shared by the snapshot's rules. Match is safe from
// any number of threads and does not allocate.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <utility>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tosgate::engine {

enum class IndicatorObservable : uint8_t { kAddressRange, kPayment, kDevice, kTemplate, kShape };
std::string_view IndicatorObservableName(IndicatorObservable o);  // "address range", ...

struct IndicatorCampaign {
  std::string stix_id;  // campaign--...
  std::string name;
  std::string source;   // the partner it came from (the import's source name)
};

struct IndicatorEntry {
  IndicatorObservable what = IndicatorObservable::kAddressRange;
  // Address ranges: the range as written ("203.0.113.0/24"); payment and
  // device: the keyed fingerprint, lower-case hex; template: the keyed
  // SimHash, 16 hex digits; shape: the profile (request_print.h).
  std::string value;
  int campaign = -1;        // index into campaigns(); -1: none named
  double weight = 0;        // the indicator's confidence x its source's trust, 0..1
  int64_t valid_from_ms = 0;   // wall clock; 0: always
  int64_t valid_until_ms = 0;  // 0: no end
  std::string stix_id;
  std::string source;
};

class IndicatorSet {
 public:
  // Building (single-threaded, before the set is shared).
  int AddCampaign(IndicatorCampaign c);
  // `addr` is the range's first address (v4 as v4-mapped IPv6), `bits` its
  // prefix out of 128; the address is masked here.
  void AddRange(std::array<uint8_t, 16> addr, int bits, IndicatorEntry e);
  void AddFingerprint(IndicatorEntry e);  // kPayment or kDevice

  // A keyed template fingerprint (engine/indicators/request_print.h). At
  // most kMaxTemplates a set: each is compared with every request that has
  // a fingerprint (a popcount each); more are refused (false).
  static constexpr size_t kMaxTemplates = 1024;
  bool AddTemplate(uint64_t keyed_simhash, IndicatorEntry e);
  void AddShape(IndicatorEntry e);

  // What a request shows, for Match below: each part is optional.
  struct Probe {
    const std::array<uint8_t, 16>* addr = nullptr;
    std::string_view payment, device;  // keyed hex
    bool has_template = false;
    uint64_t keyed_template = 0;
    int max_distance = 0;  // template bits that may differ
    std::string_view shape;
    // Shape profiles are common to many honest clients: a shape match
    // counts with its weight x shape_scale, here and in the choice of the
    // heaviest match.
    double shape_scale = 1;
  };
  // An entry's weight as Match(Probe) ranks it.
  static double Effective(const IndicatorEntry& e, const Probe& p) {
    return e.what == IndicatorObservable::kShape ? e.weight * p.shape_scale : e.weight;
  }
  const IndicatorEntry* Match(const Probe& probe, int64_t wall_ms) const;

  // The heaviest indicator in force at `wall_ms` that matches the client
  // address (null: none known), or the keyed payment or device fingerprint
  // (empty: none); null when none matches.
  const IndicatorEntry* Match(const std::array<uint8_t, 16>* addr, std::string_view payment,
                              std::string_view device, int64_t wall_ms) const;

  size_t size() const { return entries_.size(); }
  bool has_fingerprints() const { return !fingerprints_.empty(); }
  bool has_templates() const { return !templates_.empty(); }
  bool has_shapes() const { return !shapes_.empty(); }
  const std::vector<IndicatorEntry>& entries() const { return entries_; }
  const std::vector<IndicatorCampaign>& campaigns() const { return campaigns_; }

 private:
  void Consider(size_t i, int64_t wall_ms, const IndicatorEntry** best) const;

  std::vector<IndicatorEntry> entries_;
  std::vector<IndicatorCampaign> campaigns_;
  // Prefix length -> masked address (16 bytes) -> entry indices. A handful
  // of prefix lengths in practice, so a match is a few hash lookups.
  std::map<int, std::unordered_map<std::string, std::vector<size_t>>> ranges_;
  // "payment:" / "device:" + hex -> entry indices.
  std::unordered_map<std::string, std::vector<size_t>> fingerprints_;
  // Keyed SimHash and entry index, scanned in full (kMaxTemplates bounds it).
  std::vector<std::pair<uint64_t, size_t>> templates_;
  std::unordered_map<std::string, std::vector<size_t>> shapes_;
};

}  // namespace tosgate::engine
