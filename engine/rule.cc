#include "engine/rule.h"

#include <algorithm>

namespace tosgate::engine {
namespace {
bool InList(const std::vector<std::string>& list, std::string_view v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}
}  // namespace

bool RuleScope::Applies(const EvalContext& ctx) const {
  return InList(operations, ctx.operation) && InList(models, ctx.request.body.model) &&
         InList(tiers, ctx.account.tier);
}

}  // namespace tosgate::engine
