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

struct LimitSyntax {
  std::string_view unit;        // "requests" or "tokens": the key holding the amount
  bool allow_concurrent = false;
  bool gcra = false;            // windows count with GCRA instead of a sliding window
};

// `limit:` — one {<unit>: N, per: DURATION|day|month, burst: N} (or
// {concurrent: N, lease: DURATION}) for everyone, or a map of tier -> limit.
bool CompileTieredLimits(Context& ctx, const Field& f, const LimitSyntax& syntax,
                         engine::TieredLimits* out);

}  // namespace tosgate::policies
