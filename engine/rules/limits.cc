#include "engine/rules/limits.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

#include "engine/civil_time.h"
#include "engine/condition.h"

namespace tosgate::engine {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDayMs = 86'400'000;

constexpr std::pair<std::string_view, ScopeField> kScopeNames[] = {
    {"key", ScopeField::kKey},     {"account", ScopeField::kAccount},
    {"org", ScopeField::kOrg},     {"ip", ScopeField::kIp},
    {"model", ScopeField::kModel}, {"operation", ScopeField::kOperation},
};

bool ParseBits(std::string_view text, int* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string DurationText(int64_t ns) {
  const std::pair<int64_t, const char*> units[] = {
      {86400 * kSecond, "d"}, {3600 * kSecond, "h"}, {60 * kSecond, "m"}, {kSecond, "s"}};
  for (const auto& [size, suffix] : units)
    if (ns >= size && ns % size == 0) return std::to_string(ns / size) + suffix;
  return std::to_string(ns / 1'000'000) + "ms";
}

}  // namespace

int64_t CeilDiv(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

bool ParseScopeItem(std::string_view text, ScopeItem* out, std::string* error) {
  out->name = std::string(text);
  std::string_view base = text.substr(0, text.find('/'));
  bool known = false;
  for (const auto& [name, field] : kScopeNames) {
    if (base == name) {
      out->field = field;
      known = true;
    }
  }
  if (!known) {
    *error = "unknown scope \"" + std::string(text) +
             "\" (ip also groups by prefix as ip/N or ip/N/M); expected key, account, org, ip, "
             "model or operation";
    return false;
  }
  if (base.size() == text.size()) return true;
  if (out->field != ScopeField::kIp) {
    *error = "only ip takes a prefix length: \"" + std::string(text) + "\"";
    return false;
  }
  std::string_view rest = text.substr(base.size() + 1);
  const size_t slash = rest.find('/');
  int a = 0, b = 0;
  if (slash == std::string_view::npos) {
    if (!ParseBits(rest, &a) || a < 1 || a > 128) {
      *error = "ip/N needs a prefix length from 1 to 128: \"" + std::string(text) + "\"";
      return false;
    }
    if (a <= 32) out->v4_bits = a, out->v6_bits = 64;
    else out->v4_bits = 32, out->v6_bits = a;
    return true;
  }
  if (!ParseBits(rest.substr(0, slash), &a) || !ParseBits(rest.substr(slash + 1), &b) || a < 1 ||
      a > 32 || b < 1 || b > 128) {
    *error = "ip/N/M needs an IPv4 prefix (1-32) and an IPv6 prefix (1-128): \"" +
             std::string(text) + "\"";
    return false;
  }
  out->v4_bits = a;
  out->v6_bits = b;
  return true;
}

std::string ScopeValue(const ScopeItem& item, const EvalContext& ctx) {
  switch (item.field) {
    case ScopeField::kKey: return ctx.request.key_id;
    case ScopeField::kAccount: return ctx.account.id;
    case ScopeField::kOrg: return ctx.account.org;
    case ScopeField::kModel: return ctx.request.body.model;
    case ScopeField::kOperation: return std::string(ctx.operation);
    case ScopeField::kIp: break;
  }
  const std::string& ip = ctx.request.client_ip;
  std::array<uint8_t, 16> addr;
  if ((item.v4_bits == 32 && item.v6_bits == 128) || !ParseIp(ip, &addr)) return ip;
  const bool v4 = addr[10] == 0xff && addr[11] == 0xff &&
                  std::all_of(addr.begin(), addr.begin() + 10, [](uint8_t x) { return x == 0; });
  const int bits = v4 ? 96 + item.v4_bits : item.v6_bits;
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(bits - 8 * i, 0, 8);
    addr[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  char buf[64];
  if (v4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u/%d", addr[12], addr[13], addr[14], addr[15],
                  item.v4_bits);
  } else {
    int n = 0;
    for (int i = 0; i < 16; i += 2)
      n += std::snprintf(buf + n, sizeof buf - n, "%s%x", i ? ":" : "", (addr[i] << 8) | addr[i + 1]);
    std::snprintf(buf + n, sizeof buf - n, "/%d", item.v6_bits);
  }
  return buf;
}

void AppendScopeValue(const ScopeItem& item, const EvalContext& ctx, std::string* out) {
  switch (item.field) {
    case ScopeField::kKey: out->append(ctx.request.key_id); return;
    case ScopeField::kAccount: out->append(ctx.account.id); return;
    case ScopeField::kOrg: out->append(ctx.account.org); return;
    case ScopeField::kModel: out->append(ctx.request.body.model); return;
    case ScopeField::kOperation: out->append(ctx.operation); return;
    case ScopeField::kIp: break;
  }
  if (item.v4_bits == 32 && item.v6_bits == 128) out->append(ctx.request.client_ip);
  else out->append(ScopeValue(item, ctx));
}

namespace {
// A state key's variable part: each scope value after a unit separator.
void AppendScopeValues(const std::vector<ScopeItem>& scope, const EvalContext& ctx,
                       std::string* key) {
  for (const ScopeItem& item : scope) {
    *key += '\x1f';
    AppendScopeValue(item, ctx, key);
  }
}
}  // namespace

std::string ScopeText(const std::vector<ScopeItem>& scope, const EvalContext& ctx) {
  std::string text;
  for (const ScopeItem& item : scope) {
    if (!text.empty()) text += ' ';
    text += item.name;
    text += '=';
    const size_t at = text.size();
    AppendScopeValue(item, ctx, &text);
    if (text.size() == at) text += "(none)";
  }
  return text;
}

std::string LimitSpec::Signature() const {
  std::string s;
  AppendSignature(&s);
  return s;
}

void LimitSpec::AppendSignature(std::string* out) const {
  static constexpr char kKinds[] = {'w', 'g', 'd', 'm', 'c', 'k'};
  // "<kind><amount>/<per_ns>+<burst>", digits written in place (no
  // temporaries: this runs for every limit of every request).
  auto append_number = [out](int64_t v) {
    char digits[24];  // an int64 takes at most 20 characters
    out->append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  *out += kKinds[static_cast<int>(kind)];
  append_number(amount);
  *out += '/';
  append_number(per_ns);
  *out += '+';
  append_number(burst);
  // Only zoned limits say so: a UTC limit keeps the signature, and counters, it had.
  if (zone) {
    *out += '@';
    *out += zone->name();
  }
}

std::string LimitSpec::Describe() const {
  std::string s = std::to_string(amount);
  switch (kind) {
    case LimitKind::kWindow:
    case LimitKind::kGcra:
      s += " per " + DurationText(per_ns);
      if (burst) s += " + burst " + std::to_string(burst);
      if (kind == LimitKind::kGcra) s += " (gcra)";
      return s;
    case LimitKind::kDaily: return s + " per " + (zone ? zone->name() : "UTC") + " day";
    case LimitKind::kWeekly: return s + " per " + (zone ? zone->name() : "UTC") + " week";
    case LimitKind::kMonthly: return s + " per " + (zone ? zone->name() : "UTC") + " month";
    case LimitKind::kConcurrent: return s + " concurrent";
  }
  return s;
}

const LimitSpec* TieredLimits::For(const Account& account, std::string_view rule_id,
                                   LimitSpec* scratch) const {
  const LimitSpec* base = nullptr;
  if (auto it = by_tier.find(account.tier); it != by_tier.end()) base = &it->second;
  else if (fallback) base = &*fallback;
  for (const LimitOverride& o : account.limit_overrides) {
    if (o.rule_id != rule_id || o.amount <= 0) continue;
    *scratch = base ? *base : fallback.value_or(by_tier.empty() ? LimitSpec{}
                                                                : by_tier.begin()->second);
    scratch->amount = o.amount;
    if (o.per_ns > 0) scratch->per_ns = o.per_ns;
    scratch->burst = o.burst;
    return scratch;
  }
  return base;
}

void BuildStateKey(std::string_view rule_id, const LimitSpec& limit,
                   const std::vector<ScopeItem>& scope, const EvalContext& ctx,
                   std::string* key, std::string* scope_text) {
  key->assign(rule_id);
  *key += '|';
  limit.AppendSignature(key);
  AppendScopeValues(scope, ctx, key);
  *scope_text = ScopeText(scope, ctx);
}

StateKeyPrefixes::StateKeyPrefixes(std::string_view rule_id, const TieredLimits& limits) {
  auto add = [&](const LimitSpec& limit) {
    std::string prefix(rule_id);
    prefix += '|';
    limit.AppendSignature(&prefix);
    prefixes_.emplace_back(&limit, std::move(prefix));
  };
  if (limits.fallback) add(*limits.fallback);
  for (const auto& [tier, limit] : limits.by_tier) add(limit);
}

void StateKeyPrefixes::BuildKey(std::string_view rule_id, const LimitSpec& limit,
                                const std::vector<ScopeItem>& scope, const EvalContext& ctx,
                                std::string* key) const {
  // Room for the prefix and a few short values: one allocation, usually.
  constexpr size_t kValueRoom = 32;
  key->clear();
  for (const auto& [spec, prefix] : prefixes_) {
    if (spec != &limit) continue;
    key->reserve(prefix.size() + kValueRoom * scope.size());
    key->append(prefix);
    break;
  }
  if (key->empty()) {
    key->reserve(rule_id.size() + 48 + kValueRoom * scope.size());
    key->append(rule_id);
    *key += '|';
    limit.AppendSignature(key);
  }
  AppendScopeValues(scope, ctx, key);
}

MeterSpec MeterFor(const LimitSpec& limit, int64_t wall_ms) {
  MeterSpec m;
  m.limit = limit.amount;
  switch (limit.kind) {
    case LimitKind::kWindow:
      m.meter = Meter::kWindow;
      m.period_ns = limit.per_ns;
      m.limit = limit.amount + limit.burst;
      break;
    case LimitKind::kGcra:
      m.meter = Meter::kGcra;
      m.period_ns = limit.per_ns;
      m.burst = limit.burst;
      break;
    case LimitKind::kConcurrent: break;  // leases, not a meter
    case LimitKind::kDaily:
    case LimitKind::kWeekly:
    case LimitKind::kMonthly: {
      const CalendarPeriod p = CalendarPeriodOf(limit.kind, limit.zone.get(), wall_ms);
      m.meter = Meter::kPeriod;
      // UTC days and months keep the lengths they always had; zoned periods
      // say their own (a day may be 23 or 25 hours).
      m.period_ns = limit.zone ? (p.end_ms - p.start_ms) * 1'000'000
                    : limit.kind == LimitKind::kMonthly ? 31 * kDayMs * 1'000'000
                    : limit.kind == LimitKind::kWeekly  ? 7 * kDayMs * 1'000'000
                                                        : kDayMs * 1'000'000;
      m.period_index = p.index;
      m.period_left_ns = (p.end_ms - wall_ms) * 1'000'000;
      break;
    }
  }
  return m;
}

CalendarPeriod CalendarPeriodOf(LimitKind kind, const TimeZone* zone, int64_t wall_ms) {
  // Local days, as UTC days are: whole days since the local epoch.
  const int64_t wall_s = wall_ms >= 0 ? wall_ms / 1000 : -((-wall_ms + 999) / 1000);
  const int64_t offset = zone ? zone->OffsetAt(wall_s) : 0;
  const int64_t day = DaysOfMs(wall_ms + offset * 1000);
  int64_t first = day, next = day + 1, index = day;
  if (kind == LimitKind::kWeekly) {
    const int64_t weekday = ((day + 3) % 7 + 7) % 7;  // Monday 0; 1970-01-01 was a Thursday
    first = day - weekday, next = first + 7, index = first;
  } else if (kind == LimitKind::kMonthly) {
    const CivilDate date = CivilFromDays(day);
    first = DaysFromCivil(date.year, date.month, 1);
    next = date.month == 12 ? DaysFromCivil(date.year + 1, 1, 1)
                            : DaysFromCivil(date.year, date.month + 1, 1);
    index = date.year * 12 + date.month - 1;
  }
  auto utc_ms = [&](int64_t local_day) {
    return (zone ? zone->ToUtc(local_day * 86400) : local_day * 86400) * 1000;
  };
  return {index, utc_ms(first), utc_ms(next)};
}

RateLimitItem ItemFor(std::string_view rule_id, const LimitSpec& limit, const MeterSpec& meter,
                      const MeterResult& r) {
  RateLimitItem item;
  item.name = std::string(rule_id);
  item.quota = limit.kind == LimitKind::kWindow ? limit.amount + limit.burst : limit.amount;
  switch (limit.kind) {
    case LimitKind::kWindow:
    case LimitKind::kGcra: item.window_s = CeilDiv(limit.per_ns, kSecond); break;
    case LimitKind::kDaily:
    case LimitKind::kWeekly:
    case LimitKind::kMonthly: item.window_s = CeilDiv(meter.period_ns, kSecond); break;
    case LimitKind::kConcurrent:
      item.window_s = CeilDiv(limit.lease_ns, kSecond);
      item.unit = "concurrent-requests";
      break;
  }
  item.remaining = r.allowed ? r.remaining : 0;
  item.reset_s = CeilDiv(r.allowed ? r.reset_ns : r.retry_after_ns, kSecond);
  return item;
}

}  // namespace tosgate::engine
