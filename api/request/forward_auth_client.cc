// Trusted proxies and the client address they name (api::Translate).
#include <array>
#include <cstring>
#include <string_view>

#include "api/request/forward_auth.h"
#include "api/request/forward_auth_internal.h"

namespace tosgate::api {
namespace internal {
namespace {

// Parses one forwarding hop ("1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:80",
// "\"[::1]\"") into its address text and bytes.
bool ParseHop(std::string_view hop, std::string_view* addr, std::array<uint8_t, 16>* ip) {
  hop = Trim(hop);
  if (hop.size() >= 2 && hop.front() == '"' && hop.back() == '"') hop = hop.substr(1, hop.size() - 2);
  if (!hop.empty() && hop.front() == '[') {
    const size_t close = hop.find(']');
    if (close == std::string_view::npos) return false;
    hop = hop.substr(1, close - 1);
  } else if (const size_t colon = hop.find(':');
             colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
    hop = hop.substr(0, colon);  // IPv4 with a port
  }
  *addr = hop;
  return engine::ParseIp(hop, ip);
}

bool InCidr(const std::array<uint8_t, 16>& ip, const engine::Cidr& c) {
  const size_t whole = static_cast<size_t>(c.prefix_bits) / 8;
  if (std::memcmp(ip.data(), c.addr.data(), whole) != 0) return false;
  const int rest = c.prefix_bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip[whole] & mask) == (c.addr[whole] & mask);
}

bool InAny(const std::array<uint8_t, 16>& ip, const std::vector<engine::Cidr>& trusted) {
  for (const engine::Cidr& c : trusted)
    if (InCidr(ip, c)) return true;
  return false;
}

// Calls visit(hop) for each comma-separated entry of every header named
// `name`, nearest first: the last header's last entry, then leftwards,
// until visit returns false. Nothing is copied.
template <typename F>
void ForEachHopFromRight(const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view name, F visit) {
  for (size_t h = headers.size(); h-- > 0;) {
    if (!EqualsNoCase(headers[h].first, name)) continue;
    std::string_view rest = headers[h].second;
    while (true) {
      const size_t comma = rest.rfind(',');
      if (!visit(comma == std::string_view::npos ? rest : rest.substr(comma + 1))) return;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
}

// RFC 7239: an element's for= value; empty (an unreadable hop) when none.
std::string_view ForwardedFor(std::string_view element) {
  std::string_view hop;
  while (!element.empty()) {
    const size_t semi = element.find(';');
    const std::string_view pair = Trim(element.substr(0, semi));
    if (StartsWithNoCase(pair, "for=")) hop = pair.substr(4);
    if (semi == std::string_view::npos) break;
    element.remove_prefix(semi + 1);
  }
  return hop;
}

// Walking from the right (the hop nearest to us), the first hop that is
// not a trusted proxy: whatever is left of it the client may have written.
std::string_view RightmostUntrusted(const ClientHeaders& h, bool rfc7239, std::string_view peer,
                                    const std::vector<engine::Cidr>& trusted) {
  std::string_view client = peer;
  std::array<uint8_t, 16> ip;
  ForEachHopFromRight(*h.all, rfc7239 ? "forwarded" : "x-forwarded-for", [&](std::string_view hop) {
    std::string_view addr;
    if (!ParseHop(rfc7239 ? ForwardedFor(hop) : hop, &addr, &ip)) return false;
    client = addr;
    return InAny(ip, trusted);  // a trusted proxy: look further left
  });
  return client;
}

}  // namespace

bool IsTrustedPeer(std::string_view ip, const std::vector<engine::Cidr>& trusted) {
  std::array<uint8_t, 16> bytes;
  return !trusted.empty() && engine::ParseIp(ip, &bytes) && InAny(bytes, trusted);
}

std::string_view ClientAddress(const ClientHeaders& h, std::string_view peer,
                               const std::vector<engine::Cidr>& trusted) {
  if (h.all && h.forwarded_for) return RightmostUntrusted(h, /*rfc7239=*/false, peer, trusted);
  if (h.all && h.forwarded) return RightmostUntrusted(h, /*rfc7239=*/true, peer, trusted);
  std::array<uint8_t, 16> bytes;
  std::string_view addr;
  if (h.real_ip && ParseHop(*h.real_ip, &addr, &bytes)) return addr;
  return peer;
}

}  // namespace internal

std::vector<engine::Cidr> LoopbackProxies() {
  std::vector<engine::Cidr> out(2);
  engine::ParseCidr("127.0.0.0/8", &out[0]);
  engine::ParseCidr("::1/128", &out[1]);
  return out;
}

}  // namespace tosgate::api
