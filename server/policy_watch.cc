#include "server/policy_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tosgate::server {
namespace {

constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_MODIFY;

}  // namespace

PolicyWatcher::~PolicyWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

void PolicyWatcher::WatchTree(const std::string& dir) {
  inotify_add_watch(fd_, dir.c_str(), kEvents);
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) inotify_add_watch(fd_, it->path().c_str(), kEvents);
}

Status PolicyWatcher::Start(const std::string& dir) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return Status::IoError(std::string("inotify: ") + std::strerror(errno));
  dir_ = dir;
  if (inotify_add_watch(fd_, dir.c_str(), kEvents) < 0)
    return Status::IoError("cannot watch " + dir + ": " + std::strerror(errno));
  WatchTree(dir);
  return Status::Ok();
}

bool PolicyWatcher::Changed() {
  if (fd_ < 0) return false;
  alignas(inotify_event) char buf[8192];
  bool changed = false;
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: nothing more queued
    changed = true;
  }
  // New folders (and the folder itself, if it was replaced) need watches;
  // adding one that exists again is harmless.
  if (changed) {
    WatchTree(dir_);
    for (const std::string& d : also_) inotify_add_watch(fd_, d.c_str(), kEvents);
  }
  return changed;
}

void PolicyWatcher::Also(const std::string& dir) {
  if (fd_ < 0) return;
  for (const std::string& d : also_)
    if (d == dir) return;
  also_.push_back(dir);
  inotify_add_watch(fd_, dir.c_str(), kEvents);
}

}  // namespace tosgate::server
