// Admin API authentication: bearer tokens checked against SHA-256 hashes
// from the configuration, each with one role; repeated failures from one
// client address are slowed down (refused for a growing time). The failures
// are remembered for at most `max_addresses` addresses, least recently
// failed first out, and never one being locked out: a flood of failures
// from fresh addresses cannot start an attacker's count over.
//
// Thread-safety: Authenticate may be called from many threads at once.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/thread_annotations.h"
#include "tosgate/clock.h"
#include "tosgate/status.h"

namespace tosgate::api::admin {

enum class Role : uint8_t { kViewer, kAuditor, kPolicyAuthor, kAdmin };
inline constexpr Role kAllRoles[] = {Role::kViewer, Role::kAuditor, Role::kPolicyAuthor,
                                     Role::kAdmin};
std::string_view RoleName(Role r);  // "viewer", "auditor", "policy-author", "admin"
// InvalidArgument for anything else than the four names.
Result<Role> ParseRole(std::string_view name);
constexpr uint8_t RoleBit(Role r) { return static_cast<uint8_t>(1u << static_cast<int>(r)); }

struct TokenSpec {
  std::string name;    // who; recorded in admin events, never the token
  std::string sha256;  // hex SHA-256 of the token (64 lower-case digits)
  Role role = Role::kViewer;
};

struct Caller {
  std::string name;  // the token's name
  Role role = Role::kViewer;
};

struct BackoffOptions {
  int free_failures = 5;              // failures from one address before any wait
  int64_t first_wait_ns = 1'000'000'000;  // doubles with every further failure
  int64_t max_wait_ns = int64_t{300} * 1'000'000'000;
  // Addresses remembered at most. When all are being locked out (see
  // Authenticator), a failure from a new address is not remembered, counted.
  size_t max_addresses = 10'000;
};

class Authenticator {
 public:
  enum class Outcome { kOk, kMissing, kInvalid, kSlowDown };
  struct Verdict {
    Outcome outcome = Outcome::kMissing;
    Caller caller;
    int64_t retry_after_s = 0;  // kSlowDown: seconds until the address may try again
  };

  // InvalidArgument for a hash that is not 64 hex digits or a repeated name.
  static Result<std::vector<TokenSpec>> Check(std::vector<TokenSpec> tokens);

  Authenticator(std::vector<TokenSpec> tokens, const Clock* clock, BackoffOptions backoff = {});

  // `authorization` is the Authorization header's value (nullptr when
  // absent). Every token hash is compared, in constant time, whatever
  // matches, so timing says nothing about which one.
  Verdict Authenticate(const std::string* authorization, const std::string& client_addr);

  bool has_tokens() const { return !tokens_.empty(); }
  uint64_t failures() const;
  size_t addresses() const;  // remembered now
  // Failures from a new address not remembered: every remembered one was
  // being locked out.
  uint64_t unremembered() const;

 private:
  struct AddressState {
    std::string addr;
    int failures = 0;
    int64_t blocked_until_ns = 0;
    int64_t last_failure_ns = 0;
  };
  using Lru = std::list<AddressState>;  // most recent failure first

  void Failed(const std::string& addr, int64_t now) REQUIRES(mu_);
  bool LockingOut(const AddressState& st, int64_t now) const;
  bool MakeRoom(int64_t now) REQUIRES(mu_);

  std::vector<TokenSpec> tokens_;
  const Clock* clock_;
  BackoffOptions backoff_;
  mutable engine::Mutex mu_;
  Lru lru_ GUARDED_BY(mu_);
  // Keys point into lru_.
  std::unordered_map<std::string_view, Lru::iterator> by_addr_ GUARDED_BY(mu_);
  uint64_t failures_ GUARDED_BY(mu_) = 0;
  uint64_t unremembered_ GUARDED_BY(mu_) = 0;
};

}  // namespace tosgate::api::admin
