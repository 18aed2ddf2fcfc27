// What the SQLite and PostgreSQL audit sinks share in their options.
#pragma once

#include <string>

namespace tosgate::storage {

enum class Durability {
  kSync,   // Submit returns after the commit (synchronous=FULL)
  kAsync,  // Submit returns after the enqueue (synchronous=NORMAL unless synchronous_full)
};

// `ip` with the host part zeroed: IPv4 to its /24 ("203.0.113.0"), IPv6 to
// its /48 ("2001:db8:1::"). Anything that is not an address becomes "".
std::string TruncateClientIp(const std::string& ip);

}  // namespace tosgate::storage
