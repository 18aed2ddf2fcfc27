// STIX 2.1 bundles of campaign indicators: what `tosgate indicators export`
// writes and what `indicators` rules (and `tosgate indicators import`) read.
//
// The subset tosgate speaks (docs/indicators.md): `identity`, `campaign`,
// `indicator` with `pattern_type: stix` and one comparison a pattern -
//   [ipv4-addr:value ISSUBSET '203.0.113.0/24']   (also `=`; ipv6-addr)
//   [x-tosgate-account:payment_hmac = '<64 hex>']
//   [x-tosgate-account:device_hmac = '<64 hex>']
//   [x-tosgate-request:template_simhash_keyed = '<16 hex>']  (within N bits)
//   [x-tosgate-request:shape_profile = 'family=gpt;effort=high;...']
// - `relationship` (indicator `indicates` campaign) and TLP
// `marking-definition`s. Everything else in a bundle is ignored with a
// message, never an error for the whole bundle; the bundle itself is
// refused when it is not JSON, not a bundle, or oversize.
//
// Nothing here does I/O; callers read and write the files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/indicators/indicator_set.h"
#include "tosgate/status.h"

namespace tosgate::policies {

// "2026-12-07T15:54:54.000Z" from wall-clock milliseconds, and back (any
// number of fraction digits, 'Z' required).
std::string StixTimestamp(int64_t ms);
bool ParseStixTimestamp(std::string_view text, int64_t* ms);
// "<type>--<uuid>": a name-based UUID (version 5 layout, SHA-256 of
// `seed`) so that exporting the same campaign again gives the same ids.
std::string StixId(std::string_view type, std::string_view seed);

struct StixLimits {
  size_t max_bytes = size_t{16} << 20;  // of the bundle's text
  size_t max_objects = 100'000;
  size_t max_messages = 50;  // ignored objects listed one by one; the rest counted
};

struct StixImportReport {
  size_t objects = 0;
  size_t indicators = 0;  // loaded
  size_t campaigns = 0;
  size_t ignored = 0;     // objects skipped (each with a message, up to max_messages)
  size_t expired = 0;     // of the ignored: valid_until already past
  std::vector<std::string> messages;
};

// Reads one bundle from partner `source` whose indicators count with
// weight `trust` (0..1) x confidence / 100 (50 when not given). Indicators
// revoked, malformed, of an unknown observable or pattern type, or (when
// now_ms > 0) expired are ignored with a message naming the object. An
// error Status refuses the bundle as a whole.
Status ImportStixBundle(std::string_view text, std::string_view source, double trust,
                        int64_t now_ms, const StixLimits& limits, engine::IndicatorSet* set,
                        StixImportReport* report);

// One confirmed campaign, as it leaves: only ranges and keyed hashes.
struct StixCampaignExport {
  std::string key;          // stable name for the ids (e.g. the rule id + a cluster label)
  std::string name;
  std::string description;  // written by tosgate: counts, never prompt text or account ids
  int confidence = 70;      // 0..100
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  std::vector<std::string> address_ranges;  // "203.0.113.0/24", "2001:db8::/48"
  std::vector<std::string> payment_hmacs;   // engine::KeyedFingerprint, hex
  std::vector<std::string> device_hmacs;
  // Keyed template SimHashes (engine::TemplateHex of TemplateKey::Apply)
  // and shape profiles (engine::ShapeProfile).
  std::vector<std::string> template_prints;
  std::vector<std::string> shape_profiles;
};

struct StixExportOptions {
  std::string producer = "tosgate";  // the identity's name
  std::string tlp = "amber";         // white | green | amber | red
  int64_t now_ms = 0;                // created / modified / valid_from
  int64_t valid_for_ms = int64_t{30} * 86'400'000;  // valid_until - valid_from
};

// The bundle as JSON text (two-space indented). Returns InvalidArgument for
// an unknown TLP level.
Result<std::string> WriteStixBundle(const std::vector<StixCampaignExport>& campaigns,
                                    const StixExportOptions& options);

}  // namespace tosgate::policies
