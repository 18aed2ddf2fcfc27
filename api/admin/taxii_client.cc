#include "api/admin/taxii_client.h"

#include <httplib.h>

namespace tosgate::api::admin {

Status FetchTaxii(const TaxiiGet& get, TaxiiAnswer* out) {
  const size_t scheme = get.url.find("://");
  if (scheme == std::string::npos) return Status::InvalidArgument("not a URL: " + get.url);
  const size_t slash = get.url.find('/', scheme + 3);
  const std::string base = get.url.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : get.url.substr(slash);
  httplib::Client cli(base);
  if (!cli.is_valid()) return Status::InvalidArgument("not a URL this client can reach: " + base);
  cli.set_connection_timeout(get.timeout);
  cli.set_read_timeout(get.timeout);
  cli.set_write_timeout(get.timeout);
  httplib::Headers headers = {{"Accept", "application/taxii+json;version=2.1"}};
  if (!get.token.empty()) headers.emplace("Authorization", "Bearer " + get.token);
  out->body.clear();
  bool oversize = false;
  // Read as it arrives; past max_bytes the transfer is cut, not buffered.
  httplib::Result res = cli.Get(path, headers, [&](const char* data, size_t n) {
    if (out->body.size() + n > get.max_bytes) return !(oversize = true);
    out->body.append(data, n);
    return true;
  });
  if (oversize)
    return Status::InvalidArgument("a page is over max_bytes (" + std::to_string(get.max_bytes) + ")");
  if (!res) return Status::Unavailable("request failed: " + httplib::to_string(res.error()));
  if (res->status != 200)
    return Status::Unavailable("the server answered HTTP " + std::to_string(res->status) + ": " +
                               out->body.substr(0, 200));
  const std::string type = res->get_header_value("Content-Type");
  if (type.rfind("application/taxii+json", 0) != 0)
    return Status::InvalidArgument("the answer is " + (type.empty() ? std::string("untyped") : type) +
                                   ", not application/taxii+json");
  out->added_last = res->get_header_value("X-TAXII-Date-Added-Last");
  return Status::Ok();
}

}  // namespace tosgate::api::admin
