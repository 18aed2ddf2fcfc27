// Small out-of-line pieces of the public value types.
#include <time.h>

#include <cstdio>

#include "tosgate/clock.h"
#include "tosgate/decision.h"
#include "tosgate/status.h"

namespace tosgate {

std::string Status::ToString() const {
  static const char* const kNames[] = {"OK",          "invalid argument", "not found",
                                       "already exists", "resource exhausted", "unavailable",
                                       "internal",     "I/O error",        "failed precondition"};
  if (ok()) return "OK";
  return std::string(kNames[static_cast<int>(code_)]) + ": " + message_;
}

int64_t SystemClock::monotonic_ns() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t SystemClock::wall_ms() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string_view EffectName(Effect e) {
  switch (e) {
    case Effect::kAllow: return "allow";
    case Effect::kThrottle: return "throttle";
    case Effect::kDeny: return "deny";
  }
  return "?";
}

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kFlag: return "flag";
    case Action::kThrottle: return "throttle";
    case Action::kDeny: return "deny";
    case Action::kWatermark: return "watermark";
    case Action::kReview: return "review";
  }
  return "?";
}

std::string Decision::Explain() const {
  std::string out;
  out += "decision ";
  out += EffectName(effect);
  out += enforced ? " (enforced)" : " (not enforced)";
  out += ", status " + std::to_string(status);
  if (!reason.empty()) out += ", reason " + reason;
  out += "\n";
  if (!decision_id.empty()) out += "  id: " + decision_id + "\n";
  if (!account_id.empty()) out += "  account: " + account_id + "\n";
  if (!operation.empty()) out += "  operation: " + operation + "\n";
  if (!policy_revision.empty()) out += "  policy revision: " + policy_revision + "\n";
  if (fail_open) out += "  internal error: allowed because failure_mode is open\n";
  if (delay_ms > 0) out += "  held " + std::to_string(delay_ms) + "ms before passing (delay mode)\n";
  if (matches.empty()) out += "  no rule matched\n";
  for (const RuleMatch& m : matches) {
    out += "  rule " + m.rule_id + ": ";
    out += ActionName(m.action);
    if (m.delay_ms > 0) out += " by delay of " + std::to_string(m.delay_ms) + "ms";
    if (m.shadow) out += " (shadow, not enforced)";
    if (!m.reason.empty()) out += ", reason " + m.reason;
    out += "\n";
    if (!m.detail.empty()) out += "    because " + m.detail + "\n";
    if (m.retry_after_ms > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "    retry after %.3fs\n", m.retry_after_ms / 1000.0);
      out += buf;
    }
  }
  for (const RateLimitItem& r : rate_limits) {
    out += "  limit " + r.name + ": " + std::to_string(r.remaining) + " of " +
           std::to_string(r.quota) + " left in " + std::to_string(r.window_s) + "s, resets in " +
           std::to_string(r.reset_s) + "s\n";
  }
  return out;
}

}  // namespace tosgate
