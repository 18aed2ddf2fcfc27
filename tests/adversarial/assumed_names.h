// Every name the adversarial suite assumes from the fixes of issue 19, in
// one place, so that a rename made while merging is one edit here.
//
// Option fields and methods that may not exist yet are reached through
// `requires` checks, so that the suite compiles on a tree without them and
// its tests then fail at run time saying which piece is missing, rather than
// the whole program failing to build.
#pragma once

#include <string>
#include <string_view>

namespace tosgate::test::assumed {

// Problem types (the last segment of a problem+json `type`, also its
// `reason`): docs/errors.md.
inline constexpr std::string_view kUnreadableBody = "unreadable-body";
inline constexpr std::string_view kAmbiguousPath = "ambiguous-path";
inline constexpr std::string_view kAmbiguousCredentials = "ambiguous-credentials";
// Decision reasons.
inline constexpr std::string_view kUnclassified = "unclassified-operation";
inline constexpr std::string_view kSuspended = "account-suspended";
inline constexpr std::string_view kProhibitedWeapons = "prohibited-weapons";
inline constexpr std::string_view kExtraction = "extraction-logit-bias";
// The answer to a usage report for a decision the inline proxy relays
// itself: the report cannot reconcile it.
inline constexpr int kUsageForInlineDecision = 409;

// The policy field that says a prompt came as token ids (h1-body).
inline constexpr std::string_view kTokenPromptField = "body.token_prompt";

// How a bounded audit field ends when it was cut (docs/audit.md, "Bounded
// fields"): "gpt-4o-ggg…[+102158 bytes]".
inline constexpr std::string_view kCutMarker = "[+";

// GatewayServerOptions::control_listen: the listener for the check and
// usage reports in inline mode. False when the option does not exist.
template <typename Options>
bool SetControlListen(Options& o, const std::string& address) {
  if constexpr (requires { o.control_listen = address; }) {
    o.control_listen = address;
    return true;
  } else {
    return false;
  }
}

// GatewayServer::control_port(): that listener's bound port; -1 when the
// method does not exist, 0 when there is no control listener.
template <typename Server>
int ControlPort(const Server& s) {
  if constexpr (requires { s.control_port(); }) {
    return s.control_port();
  } else {
    return -1;
  }
}

// `tosgate audit verify` with the latest checkpoint kept outside the store.
inline std::string VerifyWithAnchorArgs(const std::string& db, const std::string& public_key,
                                        const std::string& anchor) {
  return "audit verify --db " + db + " --public-key " + public_key + " --anchor " + anchor;
}

}  // namespace tosgate::test::assumed
