#include "api/admin/auth.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <iterator>
#include <set>

#include "engine/sha256.h"

namespace tosgate::api::admin {

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kViewer: return "viewer";
    case Role::kAuditor: return "auditor";
    case Role::kPolicyAuthor: return "policy-author";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles)
    if (RoleName(r) == name) return r;
  return Status::InvalidArgument("unknown role \"" + std::string(name) +
                                 "\"; expected admin, policy-author, auditor or viewer");
}

Result<std::vector<TokenSpec>> Authenticator::Check(std::vector<TokenSpec> tokens) {
  std::set<std::string> names;
  for (TokenSpec& t : tokens) {
    if (t.name.empty()) return Status::InvalidArgument("an admin token has no name");
    if (!names.insert(t.name).second)
      return Status::InvalidArgument("admin token name \"" + t.name + "\" is used twice");
    std::transform(t.sha256.begin(), t.sha256.end(), t.sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (t.sha256.size() != 64 || t.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
      return Status::InvalidArgument("admin token \"" + t.name +
                                     "\": sha256 must be 64 hex digits (sha256sum of the token)");
  }
  return tokens;
}

Authenticator::Authenticator(std::vector<TokenSpec> tokens, const Clock* clock,
                             BackoffOptions backoff)
    : tokens_(std::move(tokens)), clock_(clock), backoff_(backoff) {}

uint64_t Authenticator::failures() const {
  engine::MutexLock lock(mu_);
  return failures_;
}

size_t Authenticator::addresses() const {
  engine::MutexLock lock(mu_);
  return lru_.size();
}

uint64_t Authenticator::unremembered() const {
  engine::MutexLock lock(mu_);
  return unremembered_;
}

// Being locked out: on hold now, or one failure (or fewer) from it with the
// last failure within the longest wait. Such an address is never forgotten
// to make room; forgetting it would give it its free failures back.
bool Authenticator::LockingOut(const AddressState& st, int64_t now) const {
  return st.blocked_until_ns > now ||
         (st.failures >= backoff_.free_failures && now - st.last_failure_ns < backoff_.max_wait_ns);
}

// Forgets the least recently failed address that is not being locked out.
// Those that are get a second chance at the front (a clock sweep over the
// list's tail), up to kScan of them: O(1) per new address.
bool Authenticator::MakeRoom(int64_t now) {
  constexpr int kScan = 64;
  for (int i = 0; i < kScan && !lru_.empty(); ++i) {
    auto last = std::prev(lru_.end());
    if (!LockingOut(*last, now)) {
      by_addr_.erase(last->addr);
      lru_.erase(last);
      return true;
    }
    lru_.splice(lru_.begin(), lru_, last);
  }
  return lru_.empty();
}

void Authenticator::Failed(const std::string& addr, int64_t now) {
  ++failures_;
  auto found = by_addr_.find(addr);
  Lru::iterator it;
  if (found != by_addr_.end()) {
    it = found->second;
    lru_.splice(lru_.begin(), lru_, it);
  } else {
    if (lru_.size() >= std::max<size_t>(1, backoff_.max_addresses) && !MakeRoom(now)) {
      ++unremembered_;
      return;
    }
    lru_.push_front(AddressState{addr});
    it = lru_.begin();
    by_addr_.emplace(it->addr, it);
  }
  AddressState& st = *it;
  ++st.failures;
  st.last_failure_ns = now;
  const int over = st.failures - backoff_.free_failures;
  if (over <= 0) return;
  int64_t wait = backoff_.first_wait_ns;
  for (int i = 1; i < over && wait < backoff_.max_wait_ns; ++i) wait *= 2;
  st.blocked_until_ns = now + std::min(wait, backoff_.max_wait_ns);
}

Authenticator::Verdict Authenticator::Authenticate(const std::string* authorization,
                                                   const std::string& client_addr) {
  Verdict v;
  const int64_t now = clock_->monotonic_ns();
  {
    engine::MutexLock lock(mu_);
    auto it = by_addr_.find(client_addr);
    if (it != by_addr_.end() && it->second->blocked_until_ns > now) {
      v.outcome = Outcome::kSlowDown;
      v.retry_after_s = (it->second->blocked_until_ns - now + 999'999'999) / 1'000'000'000;
      return v;
    }
  }
  if (!authorization || authorization->empty()) {
    v.outcome = Outcome::kMissing;
    return v;
  }
  std::string_view h = *authorization;
  constexpr std::string_view kBearer = "bearer ";
  bool bearer = h.size() > kBearer.size();
  for (size_t i = 0; bearer && i < kBearer.size(); ++i)
    bearer = std::tolower(static_cast<unsigned char>(h[i])) == kBearer[i];
  const TokenSpec* found = nullptr;
  if (bearer) {
    const std::string digest = engine::Sha256Hex(h.substr(kBearer.size()));
    for (const TokenSpec& t : tokens_) {
      // No early exit: every hash is compared, in constant time.
      const bool same = CRYPTO_memcmp(digest.data(), t.sha256.data(), 64) == 0;
      if (same && !found) found = &t;
    }
  }
  engine::MutexLock lock(mu_);
  if (!found) {
    Failed(client_addr, now);
    v.outcome = Outcome::kInvalid;
    return v;
  }
  if (auto it = by_addr_.find(client_addr); it != by_addr_.end()) {
    const Lru::iterator node = it->second;
    by_addr_.erase(it);
    lru_.erase(node);
  }
  v.outcome = Outcome::kOk;
  v.caller = Caller{found->name, found->role};
  return v;
}

}  // namespace tosgate::api::admin
