// Trusted proxies and the client address they name (api::Translate).
#include <array>
#include <string_view>

#include "api/gateway/forward_auth.h"
#include "api/gateway/forward_auth_internal.h"

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
  int bits = c.prefix_bits;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (c.addr[i] & mask)) return false;
  }
  return true;
}

bool InAny(const std::array<uint8_t, 16>& ip, const std::vector<engine::Cidr>& trusted) {
  for (const engine::Cidr& c : trusted)
    if (InCidr(ip, c)) return true;
  return false;
}

// Walking from the right (the hop nearest to us), the first hop that is
// not a trusted proxy: whatever is left of it the client may have written.
std::string_view RightmostUntrusted(const std::vector<std::string_view>& hops,
                                    std::string_view peer,
                                    const std::vector<engine::Cidr>& trusted) {
  std::string_view client = peer;
  std::array<uint8_t, 16> ip;
  for (size_t i = hops.size(); i-- > 0;) {
    std::string_view addr;
    if (!ParseHop(hops[i], &addr, &ip)) return client;
    client = addr;
    if (!InAny(ip, trusted)) return client;
  }
  return client;
}

// Splits the comma-separated hops of every header in `values`, in order.
void SplitHops(const std::vector<const std::string*>& values, std::vector<std::string_view>* hops) {
  for (const std::string* v : values) {
    std::string_view rest = *v;
    while (true) {
      const size_t comma = rest.find(',');
      hops->push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
}

// RFC 7239 Forwarded: each element's for= value, one hop per element.
void ForwardedHops(const std::vector<const std::string*>& values,
                   std::vector<std::string_view>* hops) {
  std::vector<std::string_view> elements;
  SplitHops(values, &elements);
  for (std::string_view e : elements) {
    std::string_view hop;  // an element without for= is a hop we cannot read
    while (!e.empty()) {
      const size_t semi = e.find(';');
      const std::string_view pair = Trim(e.substr(0, semi));
      if (StartsWithNoCase(pair, "for=")) hop = pair.substr(4);
      if (semi == std::string_view::npos) break;
      e.remove_prefix(semi + 1);
    }
    hops->push_back(hop);
  }
}

}  // namespace

bool IsTrustedPeer(std::string_view ip, const std::vector<engine::Cidr>& trusted) {
  std::array<uint8_t, 16> bytes;
  return !trusted.empty() && engine::ParseIp(ip, &bytes) && InAny(bytes, trusted);
}

std::string_view ClientAddress(const ClientHeaders& h, std::string_view peer,
                               const std::vector<engine::Cidr>& trusted) {
  std::vector<std::string_view> hops;
  if (!h.forwarded_for.empty()) {
    SplitHops(h.forwarded_for, &hops);
    return RightmostUntrusted(hops, peer, trusted);
  }
  if (!h.forwarded.empty()) {
    ForwardedHops(h.forwarded, &hops);
    return RightmostUntrusted(hops, peer, trusted);
  }
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
