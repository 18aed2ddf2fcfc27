// One GET of a partner's TAXII 2.1 endpoint, for the poller
// (server/taxii_poller.h): bounded in size as it is read, with timeouts,
// accepted only as application/taxii+json. httplib stays behind this file
// (scripts/check_layers.py: only api/admin and api/guard see it).
//
// Thread-safety: safe from any thread; each call has its own connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "tosgate/status.h"

namespace tosgate::api::admin {

struct TaxiiGet {
  std::string url;    // absolute: http(s)://host[:port]/path?query
  std::string token;  // bearer; empty: none sent
  std::chrono::milliseconds timeout{10'000};  // connect, and each read and write
  size_t max_bytes = size_t{16} << 20;        // the body; past it the transfer is cut
};

struct TaxiiAnswer {
  std::string body;
  std::string added_last;  // X-TAXII-Date-Added-Last, or empty
};

// Ok with the body of a 200 answer in the TAXII media type; otherwise an
// error saying why (request failed: ..., HTTP 401: ..., the media type,
// over max_bytes).
Status FetchTaxii(const TaxiiGet& get, TaxiiAnswer* out);

}  // namespace tosgate::api::admin
