// serve's `indicators:` section (docs/indicators.md, "Serving and polling"):
// what this gateway publishes (the export behind /v1/admin/indicators/export
// and the TAXII 2.1 collection) and which partners' TAXII collections it
// polls into feeds that `indicators` rules read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tosgate::server {

struct IndicatorsExportConfig {
  bool enabled = false;      // set by the presence of indicators.export
  std::string key_file;      // the partners' HMAC key; empty: no fingerprints leave
  std::string producer = "tosgate";
  std::string tlp = "amber";
  std::string rule;          // the competitor_training rule; empty: any
  double min_risk = 0;       // > 0: accounts decided at this risk or above count as confirmed
  int min_range_accounts = 2;
  int confidence = 70;
  std::chrono::seconds valid_for{30 * 86'400};
  std::chrono::seconds refresh{60};  // the TAXII collection is written again at most this often
};

// One partner's TAXII 2.1 collection, polled into the feed `name`.
struct TaxiiSourceConfig {
  std::string name;
  std::string url;           // the API root, e.g. https://taxii.partner.example/taxii2/tosgate/
  std::string collection;    // the collection's id
  std::string token_file;    // the bearer token the partner issued; empty: none sent
  double weight = 0.5;       // trust: x each indicator's confidence / 100
  std::chrono::seconds interval{300};
  std::chrono::milliseconds timeout{10'000};  // connect, and each read
  size_t max_bytes = size_t{16} << 20;        // one response, and all objects kept
  size_t max_objects = 100'000;
};

struct IndicatorsServeConfig {
  IndicatorsExportConfig publish;
  std::vector<TaxiiSourceConfig> sources;
};

}  // namespace tosgate::server
