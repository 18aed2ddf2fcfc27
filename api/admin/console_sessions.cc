#include "api/admin/console_sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

namespace tosgate::api::admin {

ConsoleSessions::ConsoleSessions(const Clock* clock, ConsoleSessionOptions options)
    : clock_(clock), options_(options) {}

std::string ConsoleSessions::RandomHex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool ConsoleSessions::SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConsoleSessions::Live(const ConsoleSession& s, int64_t now) const {
  return now - s.last_used_ns < options_.idle_ns && now - s.created_ns < options_.max_age_ns;
}

void ConsoleSessions::Erase(Lru::iterator it) {
  by_id_.erase(it->id);
  lru_.erase(it);
}

ConsoleSession ConsoleSessions::Open(std::string token, Caller caller) {
  ConsoleSession s;
  s.id = RandomHex(32);
  s.csrf = RandomHex(32);
  if (s.id.empty() || s.csrf.empty()) return {};
  s.token = std::move(token);
  s.caller = std::move(caller);
  s.created_ns = s.last_used_ns = clock_->monotonic_ns();
  engine::MutexLock lock(mu_);
  // Expired sessions at the tail go first; then, when still full, the least
  // recently used one (a browser that signs in again and again cannot grow
  // the table past max_sessions).
  while (!lru_.empty() && !Live(lru_.back(), s.created_ns)) Erase(std::prev(lru_.end()));
  while (!lru_.empty() && lru_.size() >= std::max<size_t>(1, options_.max_sessions))
    Erase(std::prev(lru_.end()));
  lru_.push_front(s);
  by_id_.emplace(lru_.front().id, lru_.begin());
  return s;
}

std::optional<ConsoleSession> ConsoleSessions::Find(std::string_view id) {
  if (id.size() != 64) return std::nullopt;
  const int64_t now = clock_->monotonic_ns();
  engine::MutexLock lock(mu_);
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return std::nullopt;
  Lru::iterator it = found->second;
  if (!Live(*it, now)) {
    Erase(it);
    return std::nullopt;
  }
  it->last_used_ns = now;
  lru_.splice(lru_.begin(), lru_, it);
  return *it;
}

bool ConsoleSessions::Close(std::string_view id) {
  engine::MutexLock lock(mu_);
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return false;
  Erase(found->second);
  return true;
}

size_t ConsoleSessions::size() const {
  engine::MutexLock lock(mu_);
  return lru_.size();
}

}  // namespace tosgate::api::admin
