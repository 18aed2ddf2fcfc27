#include "engine/time_zone.h"

#include <algorithm>
#include <cstdio>

#include "engine/civil_time.h"

namespace tosgate::engine {
namespace {

constexpr int64_t kDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

uint64_t BigEndian(std::string_view s, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

// [+-]hh[:mm[:ss]]; `sign` says whether a sign may lead.
bool ParseClock(std::string_view& s, int64_t* out) {
  int64_t sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) sign = s[0] == '-' ? -1 : 1, s.remove_prefix(1);
  int64_t total = 0;
  for (int part = 0; part < 3; ++part) {
    if (part > 0) {
      if (s.empty() || s[0] != ':') break;
      s.remove_prefix(1);
    }
    int64_t v = 0;
    size_t n = 0;
    while (n < s.size() && n < 3 && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
    if (n == 0) return false;
    s.remove_prefix(n);
    total += v * (part == 0 ? 3600 : part == 1 ? 60 : 1);
  }
  *out = sign * total;
  return true;
}

// A zone abbreviation: letters, or <...> quoted.
bool ParseName(std::string_view& s) {
  size_t n = 0;
  if (!s.empty() && s[0] == '<') {
    n = s.find('>');
    if (n == std::string_view::npos || n < 4) return false;
    s.remove_prefix(n + 1);
    return true;
  }
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

bool ParseInt(std::string_view& s, int* out) {
  size_t n = 0;
  int v = 0;
  while (n < s.size() && n < 3 && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
  if (n == 0) return false;
  s.remove_prefix(n);
  *out = v;
  return true;
}

bool ParseWhen(std::string_view& s, TimeZone::Rule::When* w) {
  if (s.empty() || s[0] != ',') return false;
  s.remove_prefix(1);
  if (!s.empty() && s[0] == 'M') {
    s.remove_prefix(1);
    w->kind = 'M';
    if (!ParseInt(s, &w->month) || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!ParseInt(s, &w->week) || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!ParseInt(s, &w->day)) return false;
    if (w->month < 1 || w->month > 12 || w->week < 1 || w->week > 5 || w->day > 6) return false;
  } else {
    w->kind = 'N';
    if (!s.empty() && s[0] == 'J') w->kind = 'J', s.remove_prefix(1);
    if (!ParseInt(s, &w->day) || w->day > 365) return false;
  }
  w->time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!ParseClock(s, &w->time)) return false;
  }
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Local seconds (since the local epoch) at which `w` happens in `year`.
int64_t LocalSecondsOf(const TimeZone::Rule::When& w, int64_t year) {
  int64_t day = 0;
  if (w.kind == 'M') {
    const int64_t first = DaysFromCivil(year, w.month, 1);
    const int64_t weekday_first = ((first + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday (4)
    int64_t d = first + ((w.day - weekday_first) % 7 + 7) % 7 + 7 * (w.week - 1);
    const int64_t next_month = w.month == 12 ? DaysFromCivil(year + 1, 1, 1)
                                             : DaysFromCivil(year, w.month + 1, 1);
    while (d >= next_month) d -= 7;  // week 5: the last such weekday
    day = d;
  } else if (w.kind == 'J') {
    // Jn: 1..365, February 29 never counted.
    day = DaysFromCivil(year, 1, 1) + w.day - 1 + (IsLeap(year) && w.day >= 60 ? 1 : 0);
  } else {
    day = DaysFromCivil(year, 1, 1) + w.day;
  }
  return day * kDay + w.time;
}

}  // namespace

bool ParsePosixRule(std::string_view s, TimeZone::Rule* out) {
  *out = {};
  int64_t posix = 0;
  if (!ParseName(s) || !ParseClock(s, &posix)) return false;
  out->std_offset = -posix;
  if (s.empty()) return true;
  if (!ParseName(s)) return false;
  out->has_dst = true;
  out->dst_offset = out->std_offset + 3600;
  if (!s.empty() && s[0] != ',') {
    if (!ParseClock(s, &posix)) return false;
    out->dst_offset = -posix;
  }
  if (s.empty()) {  // POSIX leaves the default rules to the implementation: the US ones
    out->start = {'M', 3, 2, 0, 7200};
    out->end = {'M', 11, 1, 0, 7200};
    return true;
  }
  return ParseWhen(s, &out->start) && ParseWhen(s, &out->end) && s.empty();
}

Result<std::shared_ptr<const TimeZone>> TimeZone::FromPosix(std::string name, std::string_view rule) {
  std::shared_ptr<TimeZone> z(new TimeZone());
  z->name_ = std::move(name);
  if (!ParsePosixRule(rule, &z->rule_))
    return Status::InvalidArgument("not a POSIX TZ rule: \"" + std::string(rule) + "\"");
  z->has_rule_ = true;
  z->initial_offset_ = z->rule_.std_offset;
  return std::shared_ptr<const TimeZone>(std::move(z));
}

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  std::shared_ptr<TimeZone> z(new TimeZone());
  z->name_ = "UTC";
  return z;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::FromTzif(std::string name, std::string_view f) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("\"" + name + "\" is not a usable TZif file: " + why);
  };
  if (f.size() < 44 || f.substr(0, 4) != "TZif") return bad("no TZif header");
  if (f[4] < '2') return bad("version 1 files hold no 64-bit data");
  auto counts = [&](size_t at, uint64_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = BigEndian(f, at + 20 + 4 * i, 4);
  };
  uint64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  const uint64_t v1 = c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
  const size_t h2 = 44 + v1;
  if (v1 > f.size() || f.size() < h2 + 44 || f.substr(h2, 4) != "TZif") return bad("truncated");
  counts(h2, c);
  const uint64_t timecnt = c[3], typecnt = c[4];
  if (typecnt == 0 || typecnt > 256 || timecnt > 100000) return bad("implausible counts");
  const size_t times_at = h2 + 44, idx_at = times_at + timecnt * 8, types_at = idx_at + timecnt;
  const size_t end = types_at + typecnt * 6 + c[5] + c[2] * 12 + c[1] + c[0];
  if (end > f.size()) return bad("truncated");
  std::shared_ptr<TimeZone> z(new TimeZone());
  z->name_ = std::move(name);
  std::vector<int64_t> type_offsets(typecnt);
  for (uint64_t i = 0; i < typecnt; ++i)
    type_offsets[i] = static_cast<int32_t>(BigEndian(f, types_at + i * 6, 4));
  z->initial_offset_ = type_offsets[0];
  for (uint64_t i = 0; i < timecnt; ++i) {
    const uint64_t type = static_cast<unsigned char>(f[idx_at + i]);
    if (type >= typecnt) return bad("a transition names an unknown type");
    z->transitions_.push_back(static_cast<int64_t>(BigEndian(f, times_at + i * 8, 8)));
    z->offsets_.push_back(type_offsets[type]);
  }
  if (!std::is_sorted(z->transitions_.begin(), z->transitions_.end())) return bad("unsorted");
  // The footer: "\n<rule>\n"; empty when the last transition holds forever.
  std::string_view footer = f.substr(end);
  if (footer.size() >= 2 && footer[0] == '\n') {
    footer.remove_prefix(1);
    footer = footer.substr(0, footer.find('\n'));
    if (!footer.empty()) {
      if (!ParsePosixRule(footer, &z->rule_)) return bad("its footer is not a POSIX TZ rule");
      z->has_rule_ = true;
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(z));
}

int64_t TimeZone::RuleOffset(int64_t utc_s) const {
  const Rule& r = rule_;
  if (!r.has_dst) return r.std_offset;
  const int64_t year = CivilFromDays(FloorDiv(utc_s + r.std_offset, kDay)).year;
  // Into DST at local standard time, out of it at local daylight time.
  const int64_t start = LocalSecondsOf(r.start, year) - r.std_offset;
  const int64_t end = LocalSecondsOf(r.end, year) - r.dst_offset;
  const bool dst = start < end ? utc_s >= start && utc_s < end : utc_s < end || utc_s >= start;
  return dst ? r.dst_offset : r.std_offset;
}

int64_t TimeZone::OffsetAt(int64_t utc_s) const {
  if (transitions_.empty()) return has_rule_ ? RuleOffset(utc_s) : initial_offset_;
  if (utc_s < transitions_.front()) return initial_offset_;
  if (utc_s >= transitions_.back() && has_rule_) return RuleOffset(utc_s);
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

int64_t TimeZone::ToUtc(int64_t local_s) const {
  // Offsets change by at most a day: two fixed-point steps settle it.
  const int64_t first = local_s - OffsetAt(local_s);
  const int64_t second = local_s - OffsetAt(first);
  if (second + OffsetAt(second) == local_s) {
    // A repeated hour: prefer the earlier occurrence.
    const int64_t earlier = local_s - OffsetAt(second - 3600 * 3);
    if (earlier < second && earlier + OffsetAt(earlier) == local_s) return earlier;
    return second;
  }
  // Skipped by a forward jump: the candidates are local - before and
  // local - after; the jump happens at the later of the two.
  return std::max(first, second);
}

std::string TimeZone::Format(int64_t utc_s) const {
  const int64_t off = OffsetAt(utc_s), local = utc_s + off;
  const int64_t day = FloorDiv(local, kDay), sec = local - day * kDay;
  const CivilDate d = CivilFromDays(day);
  const int64_t aoff = off < 0 ? -off : off;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02lld:%02lld:%02lld%c%02lld:%02lld",
                static_cast<long long>(d.year), d.month, d.day, static_cast<long long>(sec / 3600),
                static_cast<long long>(sec / 60 % 60), static_cast<long long>(sec % 60),
                off < 0 ? '-' : '+', static_cast<long long>(aoff / 3600),
                static_cast<long long>(aoff / 60 % 60));
  return buf;
}

}  // namespace tosgate::engine
