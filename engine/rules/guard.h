// guard: asks an external classifier (a moderation endpoint or a guard
// model, through the injected GuardClient) whether the prompt is unsafe,
// and acts on its verdict.
//
// The rule is stateful in the engine's sense (it runs after the pure rules,
// only while the request is still admissible), so a request another rule
// already refused costs no call. What it keeps - the verdict cache, the
// count of calls in flight, its counters - lives in a GuardState shared with
// the background calls of async mode, which may finish after a reload
// retired the rule.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/content/index.h"
#include "engine/guard.h"
#include "engine/rule.h"

namespace tosgate::engine {

// `categories:` - what one category of the classifier's verdict does.
struct GuardCategoryAction {
  std::string category;          // "S1", "violence", "illicit/violent"
  std::optional<Action> action;  // nullopt: `allow`, the category is ignored
};

struct GuardConfig {
  std::string endpoint;
  GuardFormat format = GuardFormat::kOpenAiModeration;
  std::string model;
  int64_t timeout_ms = 300;
  int max_concurrency = 16;
  size_t cache_entries = 10'000;  // 0: no cache
  int64_t cache_ttl_ns = int64_t{600} * 1'000'000'000;
  // failure_mode of the rule; unset: the policy's settings.failure_mode
  // (Evaluate returns the failure as a Status, counted as an internal error).
  std::optional<bool> fail_open;
  bool async = false;
  std::string flag = "guard-unsafe";  // async: the account flag raised
  int64_t flag_ttl_ms = int64_t{86'400} * 1000;
  std::vector<ContentScope> scopes{ContentScope::kAll};
  std::vector<GuardCategoryAction> categories;
};

// Counted per rule; relaxed atomics.
struct GuardStats {
  std::atomic<uint64_t> calls{0};  // classifier calls started (sync and async)
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> unsafe{0};  // unsafe verdicts acted on (cached ones too)
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> overloads{0};  // refused: max_concurrency calls in flight
  std::atomic<uint64_t> fail_open{0};  // failures let through by failure_mode: open
  std::atomic<uint64_t> fail_closed{0};
  std::atomic<uint64_t> marks{0};  // async: accounts flagged
};

struct GuardState;  // guard.cc

class GuardRule final : public Rule {
 public:
  GuardRule(RuleCommon common, GuardConfig config);
  ~GuardRule() override;
  bool stateful() const override { return true; }
  // detail: the verdict's categories (and scores), whether it came from the
  // cache, or why the classifier could not answer; never the prompt.
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const GuardConfig& config() const;
  const GuardStats& stats() const;
  size_t cached() const;  // entries in the verdict cache

 private:
  std::shared_ptr<GuardState> state_;
};

std::string_view GuardFormatName(GuardFormat f);  // "openai-moderation", "llama-guard"

}  // namespace tosgate::engine
