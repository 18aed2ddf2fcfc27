// competitor_training's address-range bucket, worked out from masks made
// once per rule, against the byte-by-byte masking it replaced: the same
// bucket for IPv4, IPv6, IPv4-mapped and unparseable addresses at every
// range width.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "engine/condition.h"
#include "engine/distill/text_features.h"
#include "engine/rules/competitor_training.h"

using namespace tosgate;

namespace {

// As competitor_training hashed an address range before session 8.
uint64_t ReferenceRangeHash(const engine::ScopeItem& range, const std::string& ip) {
  std::array<uint8_t, 16> addr;
  if (!engine::ParseIp(ip, &addr)) return engine::HashId(ip);
  const bool v4 = addr[10] == 0xff && addr[11] == 0xff &&
                  std::all_of(addr.begin(), addr.begin() + 10, [](uint8_t x) { return x == 0; });
  const int bits = v4 ? 96 + range.v4_bits : range.v6_bits;
  for (int i = 0; i < 16; ++i)
    addr[i] &= static_cast<uint8_t>(0xff00 >> std::clamp(bits - 8 * i, 0, 8));
  return engine::HashId(std::string_view(reinterpret_cast<const char*>(addr.data()), addr.size())) ^
         static_cast<uint64_t>(bits);
}

}  // namespace

TEST_CASE("the address-range bucket is the one the byte-by-byte masking gave") {
  const std::vector<std::string> ips = {
      "198.51.100.7", "198.51.100.255", "10.0.0.1", "0.0.0.0", "255.255.255.255",
      "2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3:ffff::1", "::1", "::", "fe80::1%eth0",
      "::ffff:198.51.100.7", "::ffff:0:1", "0:0:0:0:0:ffff:c633:6407", "::fffe:198.51.100.7",
      "1:0:0:0:0:ffff:c633:6407", "not an address", "", "256.1.1.1", "1.2.3", "12345::"};
  for (int v4_bits : {0, 1, 8, 16, 23, 24, 25, 31, 32}) {
    for (int v6_bits : {0, 7, 32, 48, 56, 64, 100, 127, 128}) {
      engine::ScopeItem range{engine::ScopeField::kIp, v4_bits, v6_bits, "ip"};
      const auto masks = engine::CompetitorTrainingRule::AddressMasks::For(range);
      for (const std::string& ip : ips) {
        INFO(ip << " /" << v4_bits << " /" << v6_bits);
        CHECK(engine::AddressRangeHash(masks, ip) == ReferenceRangeHash(range, ip));
      }
    }
  }
}
