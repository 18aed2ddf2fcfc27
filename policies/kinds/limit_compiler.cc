#include "policies/kinds/limit_compiler.h"

#include <algorithm>

#include "engine/prices.h"
#include "policies/time_zones.h"

namespace tosgate::policies {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kYear = 366 * 86400 * kSecond;
constexpr int64_t kDefaultLease = 600 * kSecond;

bool HasAnyKey(const YAML::Node& map, std::initializer_list<std::string_view> keys) {
  if (!map.IsMap()) return false;
  for (const auto& kv : map) {
    const YAML::Node key = kv.first;
    if (key.IsScalar() && std::find(keys.begin(), keys.end(), key.Scalar()) != keys.end())
      return true;
  }
  return false;
}

// A window: a duration from 1s to a year, or a UTC calendar `day` / `month`.
bool CompilePer(Context& ctx, const Field& f, engine::LimitSpec* out) {
  if (f.node.IsScalar() && !IsQuoted(f.node)) {
    if (f.node.Scalar() == "day") return out->kind = engine::LimitKind::kDaily, true;
    if (f.node.Scalar() == "month") return out->kind = engine::LimitKind::kMonthly, true;
  }
  if (!ctx.Duration(f, &out->per_ns)) return false;
  if (out->per_ns < kSecond || out->per_ns > kYear) {
    ctx.Error(f, "per must be from 1s to 366d (or day / month for a UTC calendar quota)");
    return false;
  }
  return true;
}

// A budget in money: {usd: N, per: 1d|day|1w|week|month, timezone: Area/City}.
bool CompileMoney(Context& ctx, MapReader& map, engine::LimitSpec* out) {
  bool ok = true;
  if (std::optional<Field> usd = map.Require("usd")) {
    const YAML::Node& n = usd->node;
    if (!n.IsScalar() || IsQuoted(n) || !engine::ParseUsd(n.Scalar(), &out->amount) ||
        out->amount <= 0) {
      ctx.Error(*usd, "usd must be an amount greater than zero such as 100 or 2.50, got " +
                          Describe(n));
      ok = false;
    }
  } else {
    ok = false;
  }
  if (std::optional<Field> per = map.Require("per")) {
    size_t i = 0;
    if (ctx.Enum(*per, {"1d", "day", "1w", "week", "month"}, &i))
      out->kind = i < 2 ? engine::LimitKind::kDaily
                  : i < 4 ? engine::LimitKind::kWeekly
                          : engine::LimitKind::kMonthly;
    else
      ok = false;
  } else {
    ok = false;
  }
  if (std::optional<Field> tz = map.Take("timezone")) {
    std::string name;
    if (!ctx.String(*tz, &name)) {
      ok = false;
    } else if (name != "UTC") {
      Result<std::shared_ptr<const engine::TimeZone>> zone = LoadTimeZone(name);
      if (zone.ok()) out->zone = std::move(*zone);
      else ctx.Error(*tz, zone.status().message()), ok = false;
    }
  }
  map.RejectUnknown();
  return ok;
}

bool CompileOne(Context& ctx, const Field& f, const LimitSyntax& syntax, engine::LimitSpec* out) {
  if (!f.node.IsMap()) {
    // A bare number is the usual slip: say what a limit looks like, unit included.
    ctx.Error(f, "a limit needs its unit and window, e.g. {" + std::string(syntax.unit) +
                     ": 100, per: 1m}; got " + Describe(f.node));
    return false;
  }
  MapReader map(ctx, f);
  if (!map.ok()) return false;
  if (syntax.money) return CompileMoney(ctx, map, out);
  bool ok = true;
  out->kind = syntax.gcra ? engine::LimitKind::kGcra : engine::LimitKind::kWindow;
  if (const YAML::Node& node = f.node; syntax.allow_concurrent && node["concurrent"]) {
    out->kind = engine::LimitKind::kConcurrent;
    ok = PositiveInt(ctx, *map.Take("concurrent"), "concurrent", &out->amount);
    out->lease_ns = kDefaultLease;
    if (std::optional<Field> lease = map.Take("lease")) {
      if (!ctx.Duration(*lease, &out->lease_ns)) {
        ok = false;
      } else if (out->lease_ns < kSecond || out->lease_ns > 86400 * kSecond) {
        ctx.Error(*lease, "lease must be from 1s to 1d");
        ok = false;
      }
    }
    map.RejectUnknown();
    return ok;
  }
  if (std::optional<Field> amount = map.Require(syntax.unit)) {
    ok = PositiveInt(ctx, *amount, syntax.unit, &out->amount) && ok;
  } else {
    ok = false;
  }
  if (std::optional<Field> per = map.Require("per")) {
    ok = CompilePer(ctx, *per, out) && ok;
  } else {
    ok = false;
  }
  if (std::optional<Field> burst = map.Take("burst")) {
    if (!ctx.Int(*burst, &out->burst)) {
      ok = false;
    } else if (out->burst < 0) {
      ctx.Error(*burst, "burst must be zero or more");
      ok = false;
    } else if (out->kind == engine::LimitKind::kDaily || out->kind == engine::LimitKind::kMonthly) {
      ctx.Error(*burst, "a calendar quota (per: day / month) takes no burst");
      ok = false;
    }
  }
  map.RejectUnknown();
  return ok;
}

}  // namespace

bool PositiveInt(Context& ctx, const Field& f, std::string_view what, int64_t* out) {
  if (!ctx.Int(f, out)) return false;
  if (*out > 0) return true;
  ctx.Error(f, std::string(what) + " must be greater than zero");
  return false;
}

bool CompileScope(Context& ctx, std::optional<Field> f, std::vector<engine::ScopeItem>* out) {
  if (!f) {
    engine::ScopeItem account;
    account.name = "account";
    out->push_back(account);  // the default scope
    return true;
  }
  std::vector<Field> items;
  if (!ctx.Sequence(*f, &items)) return false;
  if (items.empty()) {
    ctx.Error(*f, "scope needs at least one of key, account, org, ip, model or operation");
    return false;
  }
  bool ok = true;
  for (const Field& item : items) {
    std::string name, error;
    engine::ScopeItem scope;
    if (!ctx.String(item, &name)) {
      ok = false;
    } else if (!engine::ParseScopeItem(name, &scope, &error)) {
      ctx.Error(item, error);
      ok = false;
    } else if (std::any_of(out->begin(), out->end(),
                           [&](const engine::ScopeItem& s) { return s.field == scope.field; })) {
      ctx.Error(item, "scope \"" + name + "\" is listed twice");
      ok = false;
    } else {
      out->push_back(std::move(scope));
    }
  }
  return ok;
}

bool CompileTieredLimits(Context& ctx, const Field& f, const LimitSyntax& syntax,
                         engine::TieredLimits* out) {
  // One limit for everyone when it has a limit's own keys; otherwise every
  // key is a tier.
  if (HasAnyKey(f.node, {syntax.unit, "per", "burst", "concurrent", "lease", "timezone"})) {
    engine::LimitSpec l;
    if (!CompileOne(ctx, f, syntax, &l)) return false;
    out->fallback = l;
    return true;
  }
  MapReader limits(ctx, f);
  if (!limits.ok()) return false;
  if (limits.size() == 0) {
    ctx.Error(f, "limit needs {" + std::string(syntax.unit) +
                     ": N, per: DURATION} or one such limit per tier");
    return false;
  }
  bool ok = true;
  for (const MapReader::Entry& tier : limits.TakeAll()) {
    engine::LimitSpec l;
    if (CompileOne(ctx, tier.value, syntax, &l)) out->by_tier.emplace(tier.key, l);
    else ok = false;
  }
  return ok;
}

}  // namespace tosgate::policies
