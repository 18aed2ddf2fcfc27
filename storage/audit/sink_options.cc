#include "storage/audit/sink_options.h"

#include <arpa/inet.h>

#include <algorithm>

namespace tosgate::storage {

std::string TruncateClientIp(const std::string& ip) {
  unsigned char b[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    b[3] = 0;
    return inet_ntop(AF_INET, b, out, sizeof out) ? out : "";
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    // An IPv4-mapped address (::ffff:a.b.c.d) is an IPv4 client: /24.
    const bool mapped = std::all_of(b, b + 10, [](unsigned char c) { return c == 0; }) &&
                        b[10] == 0xff && b[11] == 0xff;
    std::fill(b + (mapped ? 15 : 6), b + 16, 0);
    return inet_ntop(AF_INET6, b, out, sizeof out) ? out : "";
  }
  return "";
}

}  // namespace tosgate::storage
