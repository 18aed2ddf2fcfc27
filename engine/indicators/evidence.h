// IndicatorEvidence: what an `indicators` rule with `record: true` keeps of
// each account's recent requests for export - the prompt SimHashes (raw:
// keyed only when exported, under the key the export is given) and the
// shape profiles (engine/indicators/request_print.h) - so that a confirmed
// campaign's harvest templates and request shapes can be shared
// (api/admin/taxii_indicators.h). Nothing else: no text, no address.
//
// Bounded: at most max_accounts accounts; past that, new accounts are not
// recorded (counted in refused()), never a recorded one dropped for them.
// Lives in memory for the life of the process (like the behaviour store):
// the admin API's export and the TAXII collection read it; the offline
// `tosgate indicators export` has none. Every call is safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tosgate::engine {

class IndicatorEvidence {
 public:
  static constexpr int kPrints = 16;  // recent SimHashes an account keeps
  static constexpr int kShapes = 4;   // distinct shape profiles, with counts

  struct Shape {
    std::string profile;
    uint32_t count = 0;
  };
  struct Record {
    std::array<uint64_t, kPrints> prints{};
    uint8_t next = 0, len = 0;
    std::vector<Shape> shapes;  // at most kShapes, most used first after Get
  };

  explicit IndicatorEvidence(size_t max_accounts = 200'000);
  void Add(std::string_view account, bool has_simhash, uint64_t simhash, std::string_view shape);
  // A copy of the account's record; false when none.
  bool Get(std::string_view account, Record* out) const;
  size_t accounts() const;
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Record> records;
  };
  Shard& ShardFor(std::string_view account) const;

  size_t per_shard_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> refused_{0};
};

// The process's evidence, which `record: true` rules write and serve's
// export reads (a policy reload keeps it).
std::shared_ptr<IndicatorEvidence> SharedIndicatorEvidence();

}  // namespace tosgate::engine
