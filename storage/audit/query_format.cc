// Cursors, export formats and filter times for storage/audit/query.h.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/hex.h"
#include "engine/json_util.h"
#include "storage/audit/query.h"

namespace tosgate::storage {
namespace {

constexpr char kCursorPrefix[] = "c1";
// A fleet store's cursor: "c2", time and seq as in "c1", then the instance
// in hex.
constexpr char kFleetCursorPrefix[] = "c2";
constexpr size_t kMaxCursorInstance = 256;  // bytes; instance ids are short

using engine::ToHex;

using engine::AppendJsonString;

// Raw JSON when `s` is valid JSON, so consumers get arrays, not strings.
void AppendJsonValue(std::string* out, std::string_view s) {
  if (!s.empty() && nlohmann::json::accept(s)) {
    *out += s;
  } else {
    AppendJsonString(out, s);
  }
}

void AppendCsv(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    *out += s;
    return;
  }
  *out += '"';
  for (char c : s) {
    if (c == '"') *out += '"';
    *out += c;
  }
  *out += '"';
}

std::string Risk(double risk) {
  if (std::isnan(risk) || std::isinf(risk)) return "";
  char buf[32];
  // The shortest text that reads back as the same double.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, risk);
  return ec == std::errc() ? std::string(buf, end) : std::string();
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Reads exactly `n` digits at *pos.
bool Digits(std::string_view s, size_t* pos, size_t n, int64_t* value) {
  if (*pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::string EncodeCursor(const AuditCursor& c) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%016llx%016llx",
                c.instance.empty() ? kCursorPrefix : kFleetCursorPrefix,
                static_cast<unsigned long long>(c.time_ms), static_cast<unsigned long long>(c.seq));
  return buf + ToHex(c.instance);
}

Result<AuditCursor> DecodeCursor(std::string_view token) {
  const Status bad = Status::InvalidArgument("not a cursor from tosgate audit query: '" +
                                             std::string(token.substr(0, 64)) + "'");
  const bool fleet = token.substr(0, 2) == kFleetCursorPrefix;
  if (!fleet && (token.size() != 34 || token.substr(0, 2) != kCursorPrefix)) return bad;
  // A fleet cursor names an instance: at least one byte, two hex digits each.
  if (fleet &&
      (token.size() < 36 || token.size() % 2 != 0 || token.size() > 34 + 2 * kMaxCursorInstance))
    return bad;
  // Cursors are written in lower case; one in upper case is not ours.
  auto nibble = [](char c) -> int { return c >= 'A' && c <= 'F' ? -1 : engine::HexDigitValue(c); };
  uint64_t parts[2] = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    const int n = nibble(token[2 + i]);
    if (n < 0) return bad;
    parts[i / 16] = (parts[i / 16] << 4) | static_cast<uint64_t>(n);
  }
  AuditCursor c{static_cast<int64_t>(parts[0]), parts[1]};
  for (size_t i = 34; i < token.size(); i += 2) {
    const int hi = nibble(token[i]), lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return bad;
    c.instance += static_cast<char>(hi << 4 | lo);
  }
  return c;
}

std::string CsvHeader(bool instance_column) {
  return std::string(instance_column ? "instance," : "") +
         "seq,id,time_ms,request_id,account,key_id,org,client_ip,method,path,operation,model,"
         "effect,enforced,status,reason,rule_ids,matches,risk,policy_revision,prompt_sha256,"
         "latency_us,prev_hash,hash\r\n";
}

std::string CsvRow(const StoredDecision& d, bool instance_column) {
  const AuditRow& r = d.record;
  std::string out;
  out.reserve(256 + r.matches.size());
  if (instance_column) {
    AppendCsv(&out, d.instance);
    out += ',';
  }
  out += std::to_string(d.seq);
  out += ',';
  AppendCsv(&out, r.id);
  out += ',' + std::to_string(r.time_ms);
  for (const std::string* f : {&r.request_id, &r.account, &r.key_id, &r.org, &r.client_ip,
                               &r.method, &r.path, &r.operation, &r.model, &r.effect}) {
    out += ',';
    AppendCsv(&out, *f);
  }
  out += r.enforced ? ",1," : ",0,";
  out += std::to_string(r.status);
  for (const std::string* f : {&r.reason, &r.rule_ids, &r.matches}) {
    out += ',';
    AppendCsv(&out, *f);
  }
  out += ',' + Risk(r.risk);
  for (const std::string* f : {&r.policy_revision, &r.prompt_sha256}) {
    out += ',';
    AppendCsv(&out, *f);
  }
  out += ',' + std::to_string(r.latency_us);
  out += ',' + ToHex(d.prev_hash) + ',' + ToHex(d.hash) + "\r\n";
  return out;
}

std::string JsonLine(const StoredDecision& d) {
  const AuditRow& r = d.record;
  std::string out;
  out.reserve(384 + r.matches.size());
  auto key = [&out](const char* k) {
    out += out.size() == 1 ? "\"" : ",\"";
    out += k;
    out += "\":";
  };
  auto str = [&](const char* k, const std::string& v) {
    key(k);
    AppendJsonString(&out, v);
  };
  auto num = [&](const char* k, int64_t v) {
    key(k);
    out += std::to_string(v);
  };
  out += '{';
  if (!d.instance.empty()) str("instance", d.instance);
  num("seq", static_cast<int64_t>(d.seq));
  str("id", r.id);
  num("time_ms", r.time_ms);
  str("request_id", r.request_id);
  str("account", r.account);
  str("key_id", r.key_id);
  str("org", r.org);
  str("client_ip", r.client_ip);
  str("method", r.method);
  str("path", r.path);
  str("operation", r.operation);
  str("model", r.model);
  str("effect", r.effect);
  key("enforced");
  out += r.enforced ? "true" : "false";
  num("status", r.status);
  str("reason", r.reason);
  key("rule_ids");
  AppendJsonValue(&out, r.rule_ids);
  key("matches");
  AppendJsonValue(&out, r.matches);
  key("risk");
  const std::string risk = Risk(r.risk);
  out += risk.empty() ? "null" : risk;
  str("policy_revision", r.policy_revision);
  str("prompt_sha256", r.prompt_sha256);
  num("latency_us", r.latency_us);
  str("prev_hash", ToHex(d.prev_hash));
  str("hash", ToHex(d.hash));
  // Only when set: lines of records without trace context stay as they were.
  if (!r.traceparent.empty()) str("traceparent", r.traceparent);
  if (!r.tracestate.empty()) str("tracestate", r.tracestate);
  if (r.cost_reserved_nano >= 0) num("cost_reserved_nano", r.cost_reserved_nano);
  if (r.cost_settled_nano >= 0) num("cost_settled_nano", r.cost_settled_nano);
  out += "}\n";
  return out;
}

Result<int64_t> ParseAuditTime(std::string_view s) {
  const Status bad = Status::InvalidArgument(
      "'" + std::string(s.substr(0, 64)) +
      "' is not a time: use RFC 3339 (2026-11-28T20:00:00Z), a date (2026-11-28) or "
      "milliseconds since the epoch");
  if (s.empty()) return bad;
  if (s.find_first_not_of("0123456789") == std::string_view::npos) {
    if (s.size() > 17) return bad;  // beyond year 5000: a typo, not a time
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  }
  size_t p = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0, offset_min = 0;
  if (!Digits(s, &p, 4, &y) || !Expect(s, &p, '-') || !Digits(s, &p, 2, &mo) ||
      !Expect(s, &p, '-') || !Digits(s, &p, 2, &d))
    return bad;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return bad;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return bad;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return bad;
    ++p;
    if (!Digits(s, &p, 2, &h) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &mi) ||
        !Expect(s, &p, ':') || !Digits(s, &p, 2, &sec))
      return bad;
    if (h > 23 || mi > 59 || sec > 60) return bad;
    if (p < s.size() && s[p] == '.') {
      ++p;
      int64_t scale = 100, n = 0;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        ms += (s[p] - '0') * scale;  // digits past milliseconds are dropped
        scale /= 10;
        ++p;
        ++n;
      }
      if (n == 0) return bad;
    }
    if (p >= s.size()) return bad;  // RFC 3339 requires Z or an offset
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      const int64_t sign = s[p] == '+' ? 1 : -1;
      ++p;
      int64_t oh, om;
      if (!Digits(s, &p, 2, &oh) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &om) || oh > 23 ||
          om > 59)
        return bad;
      offset_min = sign * (oh * 60 + om);
    } else {
      return bad;
    }
    if (p != s.size()) return bad;
  }
  const int64_t days = DaysFromCivil(y, mo, d);
  return ((days * 24 + h) * 60 + mi - offset_min) * 60000 + sec * 1000 + ms;
}

std::string FormatAuditTime(int64_t time_ms) {
  int64_t days = time_ms >= 0 ? time_ms / 86400000 : -((-time_ms + 86399999) / 86400000);
  int64_t rem = time_ms - days * 86400000;
  // Civil from days (the inverse of DaysFromCivil).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rem / 3600000), static_cast<long long>(rem / 60000 % 60),
                static_cast<long long>(rem / 1000 % 60), static_cast<long long>(rem % 1000));
  return buf;
}

}  // namespace tosgate::storage
