// Notices changes to a policy directory with inotify, instead of polling
// the files: every folder under it is watched (new ones as they appear), and
// a Kubernetes ConfigMap's "..data" symlink swap shows as a move in the top
// folder. Changed() never blocks; the caller asks it now and then.
//
// Not thread-safe: one thread owns a PolicyWatcher.
#pragma once

#include <string>
#include <vector>

#include "tosgate/status.h"

namespace tosgate::server {

class PolicyWatcher {
 public:
  PolicyWatcher() = default;
  ~PolicyWatcher();
  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;

  Status Start(const std::string& dir);
  // True when anything under the directory changed since the last call.
  bool Changed();
  // Watches another folder too, itself and not its sub-folders (one a policy
  // set imports files from); again is harmless.
  void Also(const std::string& dir);

 private:
  void WatchTree(const std::string& dir);
  int fd_ = -1;
  std::string dir_;
  std::vector<std::string> also_;
};

}  // namespace tosgate::server
