// The published side of indicator sharing: the objects of the export
// (api/admin/taxii_indicators.h) kept as one TAXII 2.1 collection, each with
// the time it was added and its version, so that a partner polling with
// `added_after` gets only what changed since its last poll.
//
// The export is written afresh from the stores each time (its ids are
// stable, its timestamps are "now"); Merge compares each object with the
// version published, leaving out the timestamps, and publishes a new version
// (modified = now, created kept) only when something else changed. An
// indicator still confirmed whose valid_until is less than half its validity
// away is renewed; an object no longer in the export is published once more
// with `revoked: true`, so that pollers drop it. Kept in memory: after a
// restart everything is added again (pollers merge by id and version, so
// they only fetch it twice).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/thread_annotations.h"
#include "tosgate/status.h"

namespace tosgate::api::admin {

struct TaxiiObject {
  std::string id;
  int64_t added_ms = 0;       // date_added: strictly increasing over the collection
  std::string version;        // the object's `modified` (or `created`)
  nlohmann::ordered_json object;
};

struct TaxiiPage {
  std::vector<TaxiiObject> objects;
  bool more = false;
  std::string next;  // when more: pass back as ?next= (an added_after in ms)
};

class TaxiiCollection {
 public:
  // Merges the objects of a freshly written bundle at `now_ms`; an error
  // when `bundle` is not a bundle (the published objects stay).
  Status Merge(const std::string& bundle, int64_t now_ms);

  // Objects added after `after_ms` (0: all), oldest first, at most `limit`;
  // `types` non-empty: only those types.
  TaxiiPage Objects(int64_t after_ms, size_t limit, const std::vector<std::string>& types) const;

  size_t size() const;
  // When Merge last ran, for a caller that refreshes at most so often.
  int64_t merged_ms() const;

 private:
  // Stores `o` as `slot`'s new version, added now (strictly after the last).
  void Publish(TaxiiObject* slot, nlohmann::ordered_json o, int64_t now_ms) REQUIRES(mu_);
  mutable engine::Mutex mu_;
  std::map<std::string, TaxiiObject> by_id_ GUARDED_BY(mu_);
  int64_t last_added_ms_ GUARDED_BY(mu_) = 0;
  int64_t merged_ms_ GUARDED_BY(mu_) = -1;
};

}  // namespace tosgate::api::admin
