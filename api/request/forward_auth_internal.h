// Pieces of api::Translate shared by its files (forward_auth*.cc); no other
// caller should need them. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/condition.h"

namespace tosgate::api::internal {

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

inline bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

inline bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether `ip` (an address, v4-mapped v6 included) is inside `trusted`;
// false for what is not an address.
bool IsTrustedPeer(std::string_view ip, const std::vector<engine::Cidr>& trusted);

// The forwarding headers that name the client, from a trusted peer.
struct ClientHeaders {
  // The request's headers, where every X-Forwarded-For and Forwarded is
  // read again, right to left, when present.
  const std::vector<std::pair<std::string, std::string>>* all = nullptr;
  bool forwarded_for = false;            // an X-Forwarded-For is present
  bool forwarded = false;                // a Forwarded (RFC 7239) is present
  const std::string* real_ip = nullptr;  // the first X-Real-IP
};

// The client's address as the trusted peer `peer` names it: the rightmost
// X-Forwarded-For hop that is not itself in `trusted`, else the same walk
// over Forwarded's for= values, else X-Real-IP, else the peer. A hop that is
// not an address ends the walk at the proxy that wrote it; when every hop is
// trusted, the leftmost. A port is dropped.
std::string_view ClientAddress(const ClientHeaders& h, std::string_view peer,
                               const std::vector<engine::Cidr>& trusted);

}  // namespace tosgate::api::internal
