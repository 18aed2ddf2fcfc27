// Reloading the policies of a running `tosgate serve`: on SIGHUP, and with
// --watch when the files change. A policy set with errors, or a directory
// that is gone, empty or unreadable, never replaces the active snapshot: the
// failure is logged and counted, and requests go on under the active
// revision. With --watch a change is loaded only once the files have stayed
// the same for one whole tick, so a directory caught half copied (rm -r and
// cp -r, an rsync in progress) is never published.
//
// Thread-safety: one thread calls Reload/WatchTick (serve's signal loop);
// the engine it publishes to serves requests meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "policies/loader.h"

namespace tosgate::engine {
class Engine;
}

namespace tosgate::server {

class PolicyReloader {
 public:
  using Loader = std::function<policies::LoadResult()>;
  using Fingerprint = std::function<std::string()>;

  // `load` reads the whole policy set; `fingerprint` cheaply says whether the
  // files changed (server/policy_source.h). Messages go to `log`.
  PolicyReloader(Loader load, Fingerprint fingerprint, engine::Engine& engine, std::ostream& log);

  // Loads and publishes; on any error keeps the active snapshot. True when
  // a new snapshot was published. `why` is logged ("SIGHUP").
  bool Reload(std::string_view why);

  // --watch, once a second: reloads when the fingerprint changed since the
  // last load and is the same as at the previous tick. True when published.
  bool WatchTick();

  // Called after every reload attempt: whether it was published, why it
  // ran, and the first error when it was not (for /metrics and /readyz).
  using Observer = std::function<void(bool ok, std::string_view why, const std::string& error)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // Whether the files differ from what was last loaded (a change that has
  // not settled yet, or not been loaded): WatchTick still has work to do.
  bool pending() const { return last_print_ != loaded_print_; }

  uint64_t reloads() const { return reloads_; }    // published
  uint64_t rejected() const { return rejected_; }  // kept the active snapshot

 private:
  Loader load_;
  Fingerprint fingerprint_;
  engine::Engine& engine_;
  std::ostream& log_;
  Observer observer_;
  std::string loaded_print_;  // at the last load attempt
  std::string last_print_;    // at the last tick
  uint64_t reloads_ = 0, rejected_ = 0;
};

}  // namespace tosgate::server
