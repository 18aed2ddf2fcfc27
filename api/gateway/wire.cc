#include "api/gateway/wire.h"

#include <array>
#include <ostream>  // boost/utility/string_view.hpp needs it complete
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <string_view>

namespace tosgate::api::gateway_internal {
namespace {

namespace http = boost::beast::http;

constexpr size_t kMaxField = 60000;  // Beast refuses a name or value near 64 KiB

// "HTTP/1.1 200 OK\r\nServer: tosgate\r\n": the block every response starts
// with, formatted once per version and status and then only copied.
std::string StatusBlock(unsigned version, unsigned status) {
  std::string s = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  s += static_cast<char>('0' + status / 100);
  s += static_cast<char>('0' + status / 10 % 10);
  s += static_cast<char>('0' + status % 10);
  s += ' ';
  // As Beast's writer names it: obsolete_reason of the status as given.
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  s.append(reason.data(), reason.size());
  s += "\r\nServer: tosgate\r\n";
  return s;
}

struct StatusBlocks {
  static constexpr unsigned kFirst = 100, kLast = 599;
  std::array<std::string, kLast - kFirst + 1> v10, v11;
  StatusBlocks() {
    for (unsigned s = kFirst; s <= kLast; ++s) {
      v10[s - kFirst] = StatusBlock(10, s);
      v11[s - kFirst] = StatusBlock(11, s);
    }
  }
};

void AppendStatusBlock(unsigned version, unsigned status, std::string* out) {
  static const StatusBlocks blocks;
  if (status >= StatusBlocks::kFirst && status <= StatusBlocks::kLast) {
    const auto& table = version == 10 ? blocks.v10 : blocks.v11;
    *out += table[status - StatusBlocks::kFirst];
  } else {
    *out += StatusBlock(version, status);  // 600..999: never sent by tosgate itself
  }
}

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Headers Beast sets or rewrites itself around ours.
bool Managed(std::string_view name) {
  return SameName(name, "server") || SameName(name, "content-type") ||
         SameName(name, "content-length") || SameName(name, "connection") ||
         SameName(name, "transfer-encoding");
}

// Beast trims a value's leading and trailing spaces and tabs.
std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

void AppendField(std::string_view name, std::string_view value, std::string* out) {
  out->append(name);
  out->append(": ", 2);
  out->append(Trim(value));
  out->append("\r\n", 2);
}

}  // namespace

bool AppendResponse(const HttpResponse& r, unsigned version, bool keep_alive, bool head,
                    std::string* out) {
  if (r.status < 100 || r.status > 999) return false;
  if (r.content_type.size() > kMaxField) return false;
  const auto& h = r.headers;
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i].first.size() > kMaxField || h[i].second.size() > kMaxField || Managed(h[i].first))
      return false;
    // Beast keeps fields of one name together: a repeat would move.
    for (size_t j = 0; j < i; ++j)
      if (SameName(h[i].first, h[j].first)) return false;
  }
  version = version == 10 ? 10 : 11;
  AppendStatusBlock(version, static_cast<unsigned>(r.status), out);
  if (!r.content_type.empty()) AppendField("Content-Type", r.content_type, out);
  for (const auto& [k, v] : h) AppendField(k, v, out);
  // Beast's keep_alive(): HTTP/1.1 says only close, HTTP/1.0 only keep-alive.
  if (version == 11 && !keep_alive) out->append("Connection: close\r\n");
  if (version == 10 && keep_alive) out->append("Connection: keep-alive\r\n");
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.body.size());
  (void)ec;  // 24 digits hold any size_t
  out->append("Content-Length: ");
  out->append(digits, static_cast<size_t>(end - digits));
  out->append("\r\n\r\n", 4);
  if (!head) out->append(r.body);
  return true;
}

}  // namespace tosgate::api::gateway_internal
