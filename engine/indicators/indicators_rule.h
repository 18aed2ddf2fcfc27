// indicators: matches each request's account against partners' campaign
// indicators (an IndicatorSet compiled from STIX 2.1 bundles) - the client
// address range, keyed hashes of the account's payment and device
// fingerprints, the prompt's keyed template fingerprint (within
// template_distance bits) and the request's shape profile (its weight
// scaled by shape_weight) - and, on a match, raises the account's standing under a
// competitor_training rule so that a campaign a partner has mapped is
// scored from its first requests here.
//
// How it raises: through the engine's BehaviorStore, the way the
// out-of-path analyzer does (engine/distill/analyzer.h): the account's
// record under the `raise.rule` rule gets an analyzer risk of at most
// `raise.max` x the indicator's weight, and the account is linked into a
// bucket of the partner's campaign, whose size (accounts here that match
// it) becomes the record's cluster score. competitor_training itself is
// unchanged; it must come after this rule in the policy (rules run in
// order). Imported evidence alone is bounded: with competitor_training's
// default weights (analyzer 0.5, cluster 0.4) it adds at most 0.7 to the
// risk, below deny; the account's own behaviour must do the rest.
//
// The rule's own match is its action (flag by default); a policy must say
// `allow_deny: true` to deny on indicators alone.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/indicators/evidence.h"
#include "engine/indicators/indicator_feed.h"
#include "engine/indicators/indicator_set.h"
#include "engine/indicators/request_print.h"
#include "engine/rule.h"

namespace tosgate::engine {

// A partner's feed a TAXII poller fills (engine/indicators/indicator_feed.h),
// its indicators' weights (already trust x confidence) scaled by `weight`.
struct IndicatorFeedSource {
  std::shared_ptr<IndicatorFeed> feed;
  double weight = 1;
};

struct IndicatorsConfig {
  std::shared_ptr<const IndicatorSet> set;  // bundles from files
  std::vector<IndicatorFeedSource> feeds;   // read at each request
  std::string key;  // the partners' HMAC key for payment and device fingerprints
  // The competitor_training rule whose records are raised; empty: none.
  std::string raise_rule;
  double raise_max = 0.8;  // the most analyzer risk an indicator sets
  // Matching accounts of one campaign fill its cluster bucket fully at this
  // many accounts (the cluster score is size x weight x raise_max).
  int cluster_full = 3;
  // Template fingerprints within this many bits of a partner's match.
  int template_distance = 12;
  // A shape profile match counts with weight x this (shapes are common).
  double shape_weight = 0.5;
  // Non-null (`record: true`): every request's SimHash and shape profile
  // are kept here for export (engine/indicators/evidence.h).
  std::shared_ptr<IndicatorEvidence> evidence;
};

class IndicatorsRule final : public Rule {
 public:
  IndicatorsRule(RuleCommon common, IndicatorsConfig config);
  bool stateful() const override { return true; }
  // Matches when an indicator in force matches; out->risk is its weight.
  Status Evaluate(const RuleContext& ctx, RuleOutcome* out) const override;
  const IndicatorsConfig& config() const { return config_; }

 private:
  void Raise(const RuleContext& ctx, const IndicatorSet& set, const IndicatorEntry& e,
             double weight) const;

  IndicatorsConfig config_;
  TemplateKey template_key_;  // from config_.key, derived once
  uint64_t raise_hash_ = 0;
};

}  // namespace tosgate::engine
