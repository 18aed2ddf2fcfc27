// Sessions of the web console (docs/console.md): a signed-in browser holds
// a random session id in an HttpOnly cookie; the server keeps, per session,
// the admin token it was opened with (so that console calls go through the
// admin API's own authentication and role table), the caller, a CSRF token
// that every state-changing call must echo in a header, and its times.
//
// Sessions live in memory only: a restart signs everyone out. A session ends
// after `idle_ns` without a call, after `max_age_ns` whatever, on sign-out,
// or when `max_sessions` are open and a newer one pushes the least recently
// used out.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/admin/auth.h"
#include "engine/thread_annotations.h"
#include "tosgate/clock.h"

namespace tosgate::api::admin {

struct ConsoleSessionOptions {
  int64_t idle_ns = int64_t{30} * 60 * 1'000'000'000;       // 30 minutes
  int64_t max_age_ns = int64_t{12} * 3600 * 1'000'000'000;  // 12 hours
  size_t max_sessions = 1000;
};

struct ConsoleSession {
  std::string id;     // the cookie's value: 32 random bytes, hex
  std::string csrf;   // 32 random bytes, hex; sent back in X-CSRF-Token
  std::string token;  // the admin token it was opened with
  Caller caller;
  int64_t created_ns = 0;
  int64_t last_used_ns = 0;
};

class ConsoleSessions {
 public:
  ConsoleSessions(const Clock* clock, ConsoleSessionOptions options = {});

  // A new session for a token that authenticated as `caller`. Empty id when
  // no random bytes could be had.
  ConsoleSession Open(std::string token, Caller caller);
  // The live session with this id (its idle time restarted), or nothing.
  // An id is 256 random bits: what a lookup's timing could tell about a
  // guessed one is of no use.
  std::optional<ConsoleSession> Find(std::string_view id);
  // Ends the session; false when there was none.
  bool Close(std::string_view id);
  size_t size() const;

  // Hex of `bytes` random bytes (OpenSSL RAND_bytes); empty on failure.
  static std::string RandomHex(size_t bytes);
  // Constant-time equality of two secrets (length aside).
  static bool SameSecret(std::string_view a, std::string_view b);

 private:
  using Lru = std::list<ConsoleSession>;  // most recently used first
  bool Live(const ConsoleSession& s, int64_t now) const;
  void Erase(Lru::iterator it) REQUIRES(mu_);

  const Clock* clock_;
  ConsoleSessionOptions options_;
  mutable engine::Mutex mu_;
  Lru lru_ GUARDED_BY(mu_);
  std::unordered_map<std::string_view, Lru::iterator> by_id_ GUARDED_BY(mu_);  // keys in lru_
};

}  // namespace tosgate::api::admin
