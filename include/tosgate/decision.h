// Decision: what the engine answers for one request, and why.
//
// Effects are ordered: deny beats throttle beats allow. A rule in shadow mode
// is evaluated and listed in `matches`, never enforced. Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tosgate {

enum class Effect : uint8_t { kAllow = 0, kThrottle = 1, kDeny = 2 };
std::string_view EffectName(Effect e);  // "allow", "throttle", "deny"

// What a rule asks for when it matches. kWatermark and kReview keep the
// effect allow: a watermark decision carries the X-Tos-Watermark header for
// the upstream (so it can watermark its output); a review match asks the
// accounts registry to queue the account for review.
enum class Action : uint8_t { kFlag = 0, kThrottle = 1, kDeny = 2, kWatermark = 3, kReview = 4 };
// "flag", "throttle", "deny", "watermark", "review"
std::string_view ActionName(Action a);

enum class RuleMode : uint8_t { kEnforce = 0, kShadow = 1 };

// One rule that matched, with what it saw. `detail` is for people:
// e.g. "body.logprobs = true (eq true); body.logit_bias_count = 3 (gt 0)".
struct RuleMatch {
  std::string rule_id;
  Action action = Action::kDeny;
  bool shadow = false;
  std::string reason;
  std::string detail;
  int64_t retry_after_ms = 0;  // throttles: when to try again
  int64_t delay_ms = 0;        // delay mode: admitted after this wait
  std::string resets_at{};     // calendar budgets: when the budget resets (RFC 3339)
};

// One applicable rate policy, for the RateLimit-Policy / RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers-10).
struct RateLimitItem {
  std::string name;        // the rule id
  int64_t quota = 0;       // q
  int64_t window_s = 0;    // w
  int64_t remaining = 0;   // r
  int64_t reset_s = 0;     // t
  std::string unit;        // qu, when not requests: "concurrent-requests"
};

struct Decision {
  Effect effect = Effect::kAllow;
  bool enforced = true;      // false when only shadow rules would have acted
  int status = 200;          // HTTP status to give the client
  std::string reason;        // stable reason code, e.g. "rate-limited"
  std::vector<std::string> rule_ids;  // the rules that decided the effect
  std::vector<RuleMatch> matches;     // every rule that matched, shadow too
  std::vector<RateLimitItem> rate_limits;
  std::vector<std::pair<std::string, std::string>> headers;  // to add
  int64_t retry_after_s = 0;
  int64_t delay_ms = 0;      // admitted, but to be held this long first (delay mode)
  double risk = 0.0;          // the highest risk a scoring rule gave (0..1)
  std::string decision_id;
  std::string policy_revision;
  std::string account_id;
  std::string operation;
  bool fail_open = false;    // an internal error was turned into an allow

  // A multi-line account of the decision for people (used by --explain).
  std::string Explain() const;
};

}  // namespace tosgate
