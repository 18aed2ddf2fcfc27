// TaxiiPoller: polls one partner's TAXII 2.1 collection (objects/, paged by
// added_after and next) on its own thread, keeps the newest version of each
// object it has been sent, and after each poll rebuilds the partner's
// IndicatorSet and publishes it to the feed of that name
// (engine/indicators/indicator_feed.h), which `indicators` rules read.
//
// What is imported cannot crash or stall the data plane: every response is
// bounded (max_bytes, read as it arrives and dropped past the bound), every
// call has timeouts, a poll reads at most max_pages pages, objects are kept
// up to max_objects, the set is built on this thread and swapped in whole.
// A poll that fails (refused, timed out, not TAXII, oversize) keeps the set
// published before, and says why in the log. Indicators a newer version
// revokes, expired ones (by the injected clock), malformed patterns and
// unknown types are dropped by the importer (policies/stix.h), each named
// in the log, up to a few a poll.
//
// Thread-safety: PollOnce is not reentrant (Start's thread, or a test,
// calls it); stats() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/indicators/indicator_feed.h"
#include "server/indicators_config.h"
#include "tosgate/clock.h"
#include "tosgate/status.h"

namespace tosgate::server {

struct TaxiiPollerStats {
  uint64_t polls = 0, failures = 0;
  size_t objects = 0;     // kept (newest versions)
  size_t indicators = 0;  // in force in the published set
  size_t ignored = 0;     // at the last rebuild
  std::string last_error;
};

// A key or token file's content, trailing whitespace and newlines dropped.
Result<std::string> ReadSecretFile(const std::string& path);

class TaxiiPoller {
 public:
  static constexpr int kMaxPages = 100;

  // `token` is the bearer token itself (read from token_file by the caller).
  TaxiiPoller(TaxiiSourceConfig config, std::string token, const Clock* clock,
              std::function<void(const std::string&)> log);
  ~TaxiiPoller();

  // One poll: fetches what was added since the last one, merges, rebuilds
  // and publishes. An error leaves the published set as it was.
  Status PollOnce();

  // Polls now, then every interval, on a thread of its own, until Stop.
  void Start();
  void Stop();

  TaxiiPollerStats stats() const;
  const engine::IndicatorFeed& feed() const { return *feed_; }

 private:
  Status Fetch(const std::string& query, std::string* body, std::string* added_last);
  Status MergePage(const std::string& body, bool* more, std::string* next, size_t* taken);
  void Rebuild();

  TaxiiSourceConfig c_;
  std::string token_;
  const Clock* clock_;
  std::function<void(const std::string&)> log_;
  std::shared_ptr<engine::IndicatorFeed> feed_;
  // Only the polling thread touches these.
  std::map<std::string, nlohmann::json> objects_;  // id -> newest version
  size_t object_bytes_ = 0;
  std::string added_after_;  // the last page's X-TAXII-Date-Added-Last

  mutable std::mutex mu_;
  TaxiiPollerStats stats_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tosgate::server
