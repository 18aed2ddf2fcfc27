// Clang's thread-safety annotations, and a mutex they can be checked on.
//
// `GUARDED_BY(mu_)` on a member makes clang -Wthread-safety reject a read or
// write of it without mu_ held; `REQUIRES(mu_)` on a function, a call
// without it. Under GCC every macro expands to nothing. The check is
// scripts/check_thread_safety.sh (CTest: thread_safety_test), which compiles
// the annotated files with clang++ -fsyntax-only -Wthread-safety -Werror.
//
// libstdc++'s std::mutex carries no annotations, so the analysis cannot see
// it locked: guarded members use Mutex and MutexLock below (a std::mutex and
// a std::unique_lock underneath, so a std::condition_variable still waits on
// MutexLock::native()).
#pragma once

#include <mutex>

#if defined(__clang__)
#define TOSGATE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TOSGATE_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) TOSGATE_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY TOSGATE_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) TOSGATE_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) TOSGATE_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) TOSGATE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) TOSGATE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) TOSGATE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) TOSGATE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS TOSGATE_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace tosgate::engine {

// A std::mutex the analysis knows about.
class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// std::unique_lock<std::mutex> on a Mutex: held from construction to
// destruction, except between Unlock() and Lock().
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}

  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }

  // For std::condition_variable::wait. The analysis does not follow the
  // wait's release and re-acquire; a predicate that reads guarded members
  // is a lambda marked REQUIRES(the mutex).
  std::unique_lock<std::mutex>& native() { return lock_; }

  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace tosgate::engine
