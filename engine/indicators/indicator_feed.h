// IndicatorFeed: a partner's indicators as last fetched by a TAXII poller
// (server/taxii_poller.h), which an `indicators` rule reads through
// `sources: [{name: ..., feed: NAME}]`. The poller builds a whole new
// IndicatorSet off the request path and swaps it in; a request loads the
// current set (one atomic shared_ptr load) and matches against it, so a
// poll never blocks, and is never seen half done by, the data plane.
//
// Feeds are found by name in one process-wide table: the policy compiler
// and the poller are built apart (a policy reload recompiles rules while
// pollers keep running), and a name is all they share. A feed that no
// poller fills stays empty and matches nothing.
//
// Thread-safety: everything may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "engine/indicators/indicator_set.h"

namespace tosgate::engine {

class IndicatorFeed {
 public:
  explicit IndicatorFeed(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  // Null until the first publish.
  std::shared_ptr<const IndicatorSet> set() const { return set_.load(std::memory_order_acquire); }
  void Publish(std::shared_ptr<const IndicatorSet> set) {
    set_.store(std::move(set), std::memory_order_release);
  }

 private:
  const std::string name_;
  std::atomic<std::shared_ptr<const IndicatorSet>> set_;
};

// The feed named `name`, created empty on first use; the same object for
// the life of the process.
std::shared_ptr<IndicatorFeed> IndicatorFeedNamed(std::string_view name);

}  // namespace tosgate::engine
