// rate_limit: at most `requests` (+ `burst`) per `per`, counted per scope.
//
//   scope: [account]
//   limit: {requests: 100, per: 1m}                      # everyone
//   limit: {free: {requests: 20, per: 1m}, pro: {...}}   # per tier
//   action: throttle                                     # or {delay: {max: 2s}}
#include "engine/rules/rate_limit.h"

#include <algorithm>
#include <map>

#include "policies/kinds/kinds.h"

namespace tosgate::policies {
namespace {

constexpr std::string_view kScopeNames = "key, account, org, ip, model or operation";

bool CompileScope(Context& ctx, std::optional<Field> f, std::vector<engine::ScopeField>* out) {
  if (!f) {
    out->push_back(engine::ScopeField::kAccount);  // the default scope
    return true;
  }
  std::vector<Field> items;
  if (!ctx.Sequence(*f, &items)) return false;
  if (items.empty()) {
    ctx.Error(*f, "scope needs at least one of " + std::string(kScopeNames));
    return false;
  }
  bool ok = true;
  for (const Field& item : items) {
    std::string name;
    engine::ScopeField scope;
    if (!ctx.String(item, &name)) {
      ok = false;
    } else if (!engine::ParseScopeField(name, &scope)) {
      ctx.Error(item, "unknown scope \"" + name + "\"; expected " + std::string(kScopeNames));
      ok = false;
    } else if (std::find(out->begin(), out->end(), scope) != out->end()) {
      ctx.Error(item, "scope \"" + name + "\" is listed twice");
      ok = false;
    } else {
      out->push_back(scope);
    }
  }
  return ok;
}

bool HasAnyKey(const YAML::Node& map, std::initializer_list<std::string_view> keys) {
  if (!map.IsMap()) return false;
  for (const auto& kv : map) {
    const YAML::Node key = kv.first;
    if (key.IsScalar() && std::find(keys.begin(), keys.end(), key.Scalar()) != keys.end())
      return true;
  }
  return false;
}

// One {requests: N, per: DUR, burst: N}.
bool CompileLimit(Context& ctx, const Field& f, engine::RateLimit* out) {
  MapReader map(ctx, f);
  if (!map.ok()) return false;
  bool ok = true;
  if (std::optional<Field> requests = map.Require("requests")) {
    if (!ctx.Int(*requests, &out->requests)) {
      ok = false;
    } else if (out->requests <= 0) {
      ctx.Error(*requests, "requests must be greater than zero");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (std::optional<Field> per = map.Require("per")) {
    ok = ctx.Duration(*per, &out->per_ns) && ok;
  } else {
    ok = false;
  }
  if (std::optional<Field> burst = map.Take("burst")) {
    if (!ctx.Int(*burst, &out->burst)) {
      ok = false;
    } else if (out->burst < 0) {
      ctx.Error(*burst, "burst must be zero or more");
      ok = false;
    }
  }
  map.RejectUnknown();
  return ok;
}

// `action: {delay: {max: 2s}}`: validated now; it compiles as throttle until
// delaying (nginx limit_req ... delay=) comes to the engine.
bool CompileDelayAction(Context& ctx, const Field& f) {
  MapReader action(ctx, f);
  if (!action.ok()) return false;
  std::optional<Field> delay = action.Require("delay");
  action.RejectUnknown();
  if (!delay) return false;
  MapReader delay_map(ctx, *delay);
  if (!delay_map.ok()) return false;
  std::optional<Field> max = delay_map.Require("max");
  delay_map.RejectUnknown();
  int64_t max_ns = 0;
  return max && ctx.Duration(*max, &max_ns);
}

}  // namespace

std::unique_ptr<engine::Rule> CompileRateLimit(MapReader& rule, Context& ctx,
                                               engine::RuleCommon common) {
  bool ok = true;
  // The rule compiler left a map-valued action to us.
  if (std::optional<Field> action = rule.Peek("action"); action && action->node.IsMap()) {
    rule.Take("action");
    ok = CompileDelayAction(ctx, *action) && ok;
    common.action = Action::kThrottle;
  }

  std::vector<engine::ScopeField> scope;
  ok = CompileScope(ctx, rule.Take("scope"), &scope) && ok;

  std::map<std::string, engine::RateLimit, std::less<>> by_tier;
  std::optional<engine::RateLimit> fallback;
  if (std::optional<Field> limit = rule.Require("limit")) {
    // One limit for everyone when it has a limit's own keys; otherwise every
    // key is a tier.
    if (HasAnyKey(limit->node, {"requests", "per", "burst"})) {
      engine::RateLimit l;
      ok = CompileLimit(ctx, *limit, &l) && ok;
      fallback = l;
    } else if (MapReader limits(ctx, *limit); !limits.ok()) {
      ok = false;
    } else if (limits.size() == 0) {
      ctx.Error(*limit, "limit needs {requests: N, per: DURATION} or one such limit per tier");
      ok = false;
    } else {
      for (const MapReader::Entry& tier : limits.TakeAll()) {
        engine::RateLimit l;
        if (CompileLimit(ctx, tier.value, &l)) {
          by_tier.emplace(tier.key, l);
        } else {
          ok = false;
        }
      }
    }
  } else {
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_unique<engine::RateLimitRule>(std::move(common), std::move(scope),
                                                 std::move(by_tier), fallback);
}

}  // namespace tosgate::policies
