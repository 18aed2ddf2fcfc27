#include "server/policy_reload.h"

#include <utility>

#include "engine/engine.h"

namespace tosgate::server {

PolicyReloader::PolicyReloader(Loader load, Fingerprint fingerprint, engine::Engine& engine,
                               std::ostream& log)
    : load_(std::move(load)), fingerprint_(std::move(fingerprint)), engine_(engine), log_(log) {
  if (fingerprint_) loaded_print_ = last_print_ = fingerprint_();
}

bool PolicyReloader::Reload(std::string_view why) {
  policies::LoadResult next = load_();
  if (!next.errors.empty() || !next.snapshot) {
    ++rejected_;
    for (const policies::Diagnostic& d : next.errors) log_ << d.ToString() << "\n";
    auto active = engine_.snapshot();
    log_ << "tosgate: reload (" << why << ") rejected, " << next.errors.size()
         << (next.errors.size() == 1 ? " error" : " errors") << "; revision "
         << (active ? active->revision : std::string("(none)")) << " stays active ("
         << rejected_ << " rejected so far)" << std::endl;
    if (observer_)
      observer_(false, why,
                next.errors.empty() ? "the policy set is empty" : next.errors[0].ToString());
    return false;
  }
  engine_.Publish(next.snapshot);
  ++reloads_;
  log_ << "tosgate: reloaded (" << why << "), revision " << next.snapshot->revision << std::endl;
  if (observer_) observer_(true, why, "");
  return true;
}

bool PolicyReloader::WatchTick() {
  if (!fingerprint_) return false;
  std::string now = fingerprint_();
  const bool settled = now == last_print_;
  last_print_ = now;
  if (!settled || now == loaded_print_) return false;
  loaded_print_ = std::move(now);
  return Reload("files changed");
}

}  // namespace tosgate::server
