#include "engine/rules/rate_limit.h"

#include <cstdio>

#include "engine/state_store.h"

namespace tosgate::engine {
namespace {

constexpr std::pair<const char*, ScopeField> kScopeNames[] = {
    {"key", ScopeField::kKey},     {"account", ScopeField::kAccount},
    {"org", ScopeField::kOrg},     {"ip", ScopeField::kIp},
    {"model", ScopeField::kModel}, {"operation", ScopeField::kOperation},
};

const char* ScopeName(ScopeField f) {
  for (const auto& [name, field] : kScopeNames)
    if (field == f) return name;
  return "?";
}

std::string_view ScopeValue(ScopeField f, const EvalContext& ctx) {
  switch (f) {
    case ScopeField::kKey: return ctx.request.key_id;
    case ScopeField::kAccount: return ctx.account.id;
    case ScopeField::kOrg: return ctx.account.org;
    case ScopeField::kIp: return ctx.request.client_ip;
    case ScopeField::kModel: return ctx.request.body.model;
    case ScopeField::kOperation: return ctx.operation;
  }
  return {};
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

bool ParseScopeField(std::string_view name, ScopeField* out) {
  for (const auto& [n, field] : kScopeNames) {
    if (name == n) {
      *out = field;
      return true;
    }
  }
  return false;
}

RateLimitRule::RateLimitRule(RuleCommon common, std::vector<ScopeField> scope,
                             std::map<std::string, RateLimit, std::less<>> by_tier,
                             std::optional<RateLimit> fallback)
    : Rule(std::move(common)),
      scope_(std::move(scope)),
      by_tier_(std::move(by_tier)),
      fallback_(fallback) {}

const RateLimit* RateLimitRule::LimitFor(std::string_view tier) const {
  auto it = by_tier_.find(tier);
  if (it != by_tier_.end()) return &it->second;
  return fallback_ ? &*fallback_ : nullptr;
}

Status RateLimitRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  const RateLimit* limit = LimitFor(ctx.eval.account.tier);
  if (!limit) return Status::Ok();

  // The key names the rule and its limit, so a reload that keeps both keeps
  // the count, and a changed limit starts afresh.
  std::string key = common().id;
  key += '|' + std::to_string(limit->requests) + '/' + std::to_string(limit->per_ns) + '+' +
         std::to_string(limit->burst);
  std::string scope_text;
  for (ScopeField f : scope_) {
    std::string_view v = ScopeValue(f, ctx.eval);
    key += '\x1f';
    key.append(v);
    if (!scope_text.empty()) scope_text += ' ';
    scope_text += ScopeName(f);
    scope_text += '=';
    scope_text.append(v.empty() ? std::string_view("(none)") : v);
  }

  const int64_t cap = limit->requests + limit->burst;
  Result<WindowResult> r = ctx.state.WindowHit(key, ctx.eval.now_ns, limit->per_ns, cap);
  if (!r.ok()) return r.status();

  RateLimitItem item;
  item.name = common().id;
  item.quota = cap;
  item.window_s = CeilDiv(limit->per_ns, 1'000'000'000);
  item.remaining = r->allowed ? std::max<int64_t>(0, cap - r->used) : 0;
  item.reset_s = CeilDiv(r->allowed ? r->reset_ns : r->retry_after_ns, 1'000'000'000);
  out->rate_limits.push_back(item);

  if (!r->allowed) {
    out->matched = true;
    out->retry_after_ms = CeilDiv(r->retry_after_ns, 1'000'000);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%lld of %lld requests used in the last %llds for %s",
                  static_cast<long long>(r->used), static_cast<long long>(cap),
                  static_cast<long long>(item.window_s), scope_text.c_str());
    out->detail = buf;
  }
  return Status::Ok();
}

}  // namespace tosgate::engine
