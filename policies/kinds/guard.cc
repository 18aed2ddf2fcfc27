// guard: ask an external classifier whether the prompt is unsafe.
//
//   endpoint: http://127.0.0.1:8000/v1/moderations   # or a chat endpoint
//   format: openai-moderation        # or llama-guard
//   model: omni-moderation-latest    # optional
//   timeout: 300ms                   # default 300ms
//   max_concurrency: 16              # calls in flight at once; default 16
//   cache: {entries: 10000, ttl: 10m}
//   failure_mode: closed             # open | closed; default: settings.failure_mode
//   async: true                      # decide now, flag the account later
//   flag: guard-unsafe               # async: the flag; default guard-unsafe
//   flag_ttl: 1d                     # async: how long the flag lasts
//   fields: [user]                   # all (default) | system | user
//   categories: {S1: deny, S11: flag, S6: allow}
//
// docs/guard.md describes each key.
#include "engine/rules/guard.h"

#include <algorithm>

#include "policies/kinds/kinds.h"
#include "policies/rule_compiler.h"

namespace tosgate::policies {
namespace {

constexpr int64_t kMs = 1'000'000;

bool CompileEndpoint(Context& ctx, const Field& f, std::string* out) {
  if (!ctx.String(f, out)) return false;
  const bool http = out->rfind("http://", 0) == 0, https = out->rfind("https://", 0) == 0;
  const size_t host = http ? 7 : https ? 8 : 0;
  if (host == 0 || out->size() <= host || (*out)[host] == '/') {
    ctx.Error(f, "endpoint \"" + *out +
                     "\" is not an http:// or https:// URL with a host, e.g. "
                     "http://127.0.0.1:8000/v1/moderations");
    return false;
  }
  if (out->find_first_of(" \t\r\n", host) != std::string::npos) {
    ctx.Error(f, "endpoint may not hold spaces or line breaks");
    return false;
  }
  return true;
}

bool CompileCache(Context& ctx, const Field& f, engine::GuardConfig* cfg) {
  MapReader c(ctx, f);
  if (!c.ok()) return false;
  bool ok = true;
  if (std::optional<Field> e = c.Take("entries")) {
    int64_t n = 0;
    if (!ctx.Int(*e, &n)) {
      ok = false;
    } else if (n < 0 || n > 10'000'000) {
      ctx.Error(*e, "entries must be between 0 (no cache) and 10000000");
      ok = false;
    } else {
      cfg->cache_entries = static_cast<size_t>(n);
    }
  }
  if (std::optional<Field> t = c.Take("ttl")) ok = ctx.Duration(*t, &cfg->cache_ttl_ns) && ok;
  c.RejectUnknown();
  return ok;
}

bool CompileCategories(Context& ctx, const Field& f, engine::GuardConfig* cfg) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  bool ok = true;
  for (MapReader::Entry& e : m.TakeAll()) {
    size_t i = 0;
    if (!ctx.Enum(e.value, {"deny", "throttle", "flag", "allow"}, &i)) {
      ok = false;
      continue;
    }
    engine::GuardCategoryAction a{e.key, std::nullopt};
    if (i == 0) a.action = Action::kDeny;
    if (i == 1) a.action = Action::kThrottle;
    if (i == 2) a.action = Action::kFlag;
    cfg->categories.push_back(std::move(a));
  }
  return ok;
}

}  // namespace

std::unique_ptr<engine::Rule> CompileGuard(MapReader& rule, Context& ctx,
                                           engine::RuleCommon common) {
  const int errors_before = ctx.error_count();
  engine::GuardConfig cfg;
  if (std::optional<Field> e = rule.Require("endpoint"))
    (void)CompileEndpoint(ctx, *e, &cfg.endpoint);
  if (std::optional<Field> f = rule.Require("format")) {
    size_t i = 0;
    if (ctx.Enum(*f, {"openai-moderation", "llama-guard"}, &i))
      cfg.format =
          i == 0 ? engine::GuardFormat::kOpenAiModeration : engine::GuardFormat::kLlamaGuard;
  }
  if (std::optional<Field> m = rule.Take("model")) (void)ctx.String(*m, &cfg.model);
  if (std::optional<Field> t = rule.Take("timeout")) {
    int64_t ns = 0;
    if (ctx.Duration(*t, &ns)) {
      if (ns < kMs || ns > 60'000 * kMs)
        ctx.Error(*t, "timeout must be between 1ms and 60s");
      else
        cfg.timeout_ms = ns / kMs;
    }
  }
  if (std::optional<Field> c = rule.Take("max_concurrency")) {
    int64_t n = 0;
    if (ctx.Int(*c, &n)) {
      if (n < 1 || n > 4096)
        ctx.Error(*c, "max_concurrency must be between 1 and 4096");
      else
        cfg.max_concurrency = static_cast<int>(n);
    }
  }
  if (std::optional<Field> c = rule.Take("cache")) (void)CompileCache(ctx, *c, &cfg);
  if (std::optional<Field> fm = rule.Take("failure_mode")) {
    size_t i = 0;
    if (ctx.Enum(*fm, {"open", "closed"}, &i)) cfg.fail_open = i == 0;
  }
  std::optional<Field> async_flag = rule.Take("flag");
  std::optional<Field> async_ttl = rule.Take("flag_ttl");
  if (std::optional<Field> a = rule.Take("async")) (void)ctx.Bool(*a, &cfg.async);
  if (async_flag && ctx.String(*async_flag, &cfg.flag) && !IsCodeName(cfg.flag))
    ctx.Error(*async_flag,
              "flag \"" + cfg.flag +
                  "\" may hold only letters, digits, '.', '_' and '-', and not be empty");
  if (async_ttl) {
    int64_t ns = 0;
    if (ctx.Duration(*async_ttl, &ns)) cfg.flag_ttl_ms = ns / kMs;
  }
  if (!cfg.async && (async_flag || async_ttl))
    ctx.Error(async_flag ? *async_flag : *async_ttl,
              "flag and flag_ttl apply only with async: true");
  if (std::optional<Field> ff = rule.Take("fields")) {
    std::vector<Field> items;
    cfg.scopes.clear();
    if (ctx.Sequence(*ff, &items)) {
      for (const Field& item : items) {
        size_t i = 0;
        if (!ctx.Enum(item, {"all", "system", "user"}, &i)) continue;
        const auto scope = static_cast<engine::ContentScope>(i);
        if (std::find(cfg.scopes.begin(), cfg.scopes.end(), scope) == cfg.scopes.end())
          cfg.scopes.push_back(scope);
      }
      if (items.empty()) ctx.Error(*ff, "fields is empty (give system, user or all)");
    }
    if (std::find(cfg.scopes.begin(), cfg.scopes.end(), engine::ContentScope::kAll) !=
            cfg.scopes.end() ||
        cfg.scopes.empty())
      cfg.scopes = {engine::ContentScope::kAll};
  }
  if (std::optional<Field> c = rule.Take("categories")) (void)CompileCategories(ctx, *c, &cfg);
  if (ctx.error_count() != errors_before) return nullptr;
  return std::make_unique<engine::GuardRule>(std::move(common), std::move(cfg));
}

}  // namespace tosgate::policies
