// What the rate_limit and token_budget kinds share when compiling: `scope:`
// and `limit:` (one limit for everyone, or one per tier).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "engine/rules/limits.h"
#include "policies/context.h"

namespace tosgate::policies {

// `scope:` — a list of scope names; [account] when absent.
bool CompileScope(Context& ctx, std::optional<Field> f, std::vector<engine::ScopeItem>* out);

// An integer above zero into *out; else "<what> must be greater than zero" at f.
bool PositiveInt(Context& ctx, const Field& f, std::string_view what, int64_t* out);

struct LimitSyntax {
  std::string_view unit;        // "requests" or "tokens": the key holding the amount
  bool allow_concurrent = false;
  bool gcra = false;            // windows count with GCRA instead of a sliding window
  // cost_budget: the amount is dollars (a decimal, counted in nano-dollars),
  // `per` is a calendar period (1d / day, 1w / week, month) and `timezone`
  // (an IANA name, default UTC) says where its midnights are.
  bool money = false;
};

// `limit:` — one {<unit>: N, per: DURATION|day|month, burst: N} (or
// {concurrent: N, lease: DURATION}, or with `money` {usd: N, per: 1d|1w|month,
// timezone: Area/City}) for everyone, or a map of tier -> limit.
bool CompileTieredLimits(Context& ctx, const Field& f, const LimitSyntax& syntax,
                         engine::TieredLimits* out);

}  // namespace tosgate::policies
