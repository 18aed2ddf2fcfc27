// competitor_training: scores each account's behaviour for signs that its
// outputs are harvested to train another model (distillation), alone or as
// one of a cluster of accounts, and acts on the risk by threshold: flag,
// watermark, review, throttle (a reduced rate) or deny.
//
// The rule is immutable; what it learns lives in the engine's BehaviorStore
// (RuleContext::behavior), keyed by rule id and account, so a reload that
// keeps the rule id keeps every account's history. The phrase lexicon of the
// chain-of-thought signal is compiled into the snapshot's one content
// database (engine/content/), scanned over the cheaply folded prompt.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/content/index.h"
#include "engine/distill/signals.h"
#include "engine/rule.h"
#include "engine/rules/limits.h"
#include "engine/textmodel/text_model.h"

namespace tosgate::engine {

// The actions thresholds map to, in the order their thresholds must rise.
inline constexpr int kDistillActions = 5;
inline constexpr std::array<Action, kDistillActions> kDistillActionOrder = {
    Action::kFlag, Action::kWatermark, Action::kReview, Action::kThrottle, Action::kDeny};

struct DistillConfig {
  DistillParams params;
  // By kDistillActionOrder; negative: that action is not used.
  std::array<double, kDistillActions> thresholds = {-1, -1, -1, -1, -1};
  LimitSpec throttle;  // the reduced rate of a throttled account
  // Never scored or recorded: research partners and the like.
  std::vector<std::string> exempt_accounts, exempt_flags, exempt_orgs;
  // What links accounts into clusters.
  bool cluster_templates = true, cluster_ip = true, cluster_payment = true, cluster_device = true;
  ScopeItem ip_range{ScopeField::kIp, 24, 48, "ip/24/48"};
  // The chain-of-thought lexicon: pattern ids [first, first + count) of `lexicon`.
  std::shared_ptr<const ContentIndex> lexicon;
  uint32_t lexicon_first = 0, lexicon_count = 0;
  // The harvest-intent model (`model: {file, label}`), null when none: the
  // probability of `model_label` over the user text read for the
  // fingerprint (template.max_bytes) is the harvest_intent value.
  std::shared_ptr<const TextModel> model;
  int model_label = -1;
};

class CompetitorTrainingRule final : public Rule {
 public:
  CompetitorTrainingRule(RuleCommon common, DistillConfig config);
  bool stateful() const override { return true; }
  // Matches when the risk reaches the lowest threshold set; out->action is
  // the highest threshold reached (a throttled account still under its
  // reduced rate gets the highest non-blocking one, or flag), out->risk the
  // risk, and detail lists every signal's contribution.
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;

  const DistillConfig& config() const { return config_; }
  bool Exempt(const Account& account) const;

  // The address range's masks over an address's 16 bytes (IPv4 mapped to
  // ::ffff:a.b.c.d), as two 8-byte words loaded as the address is, and its
  // bits, worked out from config().ip_range once.
  struct AddressMasks {
    struct Mask {
      uint64_t lo = 0, hi = 0;
      int bits = 0;
    };
    Mask v4, v6;
    static AddressMasks For(const ScopeItem& range);
  };

 private:
  // Evaluate's steps, in order.
  struct Links;
  struct Scored;
  void IdentityLinks(const RuleContext& ctx, Links* links) const;
  Status Features(const RuleContext& ctx, RequestFeatures* f) const;
  void TextLinks(const RuleContext& ctx, const RequestFeatures& f, Links* links) const;
  void VisitAccount(const RuleContext& ctx, uint64_t key, uint64_t who, const RequestFeatures& f,
                    const Links& links, Scored* out) const;
  Status Act(const RuleContext& ctx, double risk, int reached, RuleOutcome* out,
             const char** throttled) const;
  void Explain(double risk, int reached, const Scored& scored, const SignalArray& contributions,
               RuleOutcome* out) const;

  DistillConfig config_;
  uint64_t rule_hash_;
  AddressMasks ip_masks_;
  std::string throttle_key_prefix_;  // of the throttle meter's state key
  std::string throttle_described_;   // "10 per 1m"
  // " template_rate +", ", cot_elicitation +", ...: the explanation's pieces
  // before each signal's figures, written once.
  std::array<std::string, kSignals> signal_leads_;
};

// The bucket of a client address's range under `masks` (for tests).
uint64_t AddressRangeHash(const CompetitorTrainingRule::AddressMasks& masks, const std::string& ip);

// The state key of one account under one rule (for tests and tools).
uint64_t BehaviorKey(std::string_view rule_id, std::string_view account_id);

}  // namespace tosgate::engine
