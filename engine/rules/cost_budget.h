// cost_budget: money per calendar period (day, week, month in a time zone)
// per scope. It is a token budget priced: at admission the request's
// estimated input tokens and its max_tokens (capped by the model's
// max_output_tokens, times n) are priced at the model's rates and that cost
// is reserved atomically on the same StateStore meters token budgets use;
// Engine::ReportUsage reprices the reservation from the reported usage,
// cached, cache-written and reasoning tokens at their own rates. A request
// whose usage never arrives (a stream cut before its usage event) keeps
// what was reserved.
//
// Amounts are nano-dollars (engine/prices.h); the RateLimit fields say cents.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/prices.h"
#include "engine/rule.h"
#include "engine/rules/limits.h"

namespace tosgate::engine {

struct CostBudgetOptions {
  int64_t default_max_tokens = 1024;  // output estimate when the body gives none
  int64_t chars_per_token = 4;        // input estimate: prompt characters / this
  int64_t reservation_ttl_ns = 600'000'000'000;
  // A batch's results come hours later (providers finish within 24h and keep
  // results for days): its reservation waits this long for them.
  int64_t batch_reservation_ttl_ns = 72 * 3'600'000'000'000;
  // Shares of the budget (per mille, ascending) past which an admitted
  // request is flagged: {800} flags from 80% spent.
  std::vector<int64_t> soft_permille;
  bool unpriced_deny = true;  // a model with no price: refuse (or let it pass uncharged)
};

// The reason codes a cost budget gives (the kind's default is the first).
inline constexpr std::string_view kCostBudgetExceeded = "cost-budget-exceeded";
inline constexpr std::string_view kCostBudgetSoft = "cost-budget-soft";
inline constexpr std::string_view kModelUnpriced = "model-unpriced";
// An OpenAI batch whose input file the gateway did not see uploaded: its
// requests cannot be counted, so it is refused as an unpriced model is.
inline constexpr std::string_view kBatchInputUnknown = "batch-input-unknown";

class CostBudgetRule final : public Rule {
 public:
  CostBudgetRule(RuleCommon common, std::vector<ScopeItem> scope, TieredLimits limits,
                 std::shared_ptr<const PriceTable> prices, CostBudgetOptions options);
  bool stateful() const override { return true; }
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const TieredLimits& limits() const { return limits_; }
  const CostBudgetOptions& options() const { return options_; }
  const std::vector<ScopeItem>& scope() const { return scope_; }
  const PriceTable& prices() const { return *prices_; }

  // The reservation of one request, or of every request of a batch
  // (RequestBody::batch_requests): its estimated tokens at the model's rates
  // (reasoning output at the higher of the two output rates).
  int64_t Estimate(const ModelPrice& price, const RequestBody& body, TokenCounts* tokens) const;

 private:
  std::vector<ScopeItem> scope_;
  TieredLimits limits_;
  std::shared_ptr<const PriceTable> prices_;
  CostBudgetOptions options_;
};

// "$100.00 per month (Europe/Berlin)".
std::string DescribeCostLimit(const LimitSpec& limit);

}  // namespace tosgate::engine
