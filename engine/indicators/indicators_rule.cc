#include "engine/indicators/indicators_rule.h"

#include <algorithm>
#include <cstdio>

#include "engine/condition.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/text_features.h"
#include "engine/indicators/keyed_hash.h"
#include "engine/rules/competitor_training.h"

namespace tosgate::engine {

IndicatorsRule::IndicatorsRule(RuleCommon common, IndicatorsConfig config)
    : Rule(std::move(common)),
      config_(std::move(config)),
      raise_hash_(config_.raise_rule.empty() ? 0 : HashId(config_.raise_rule)) {}

Status IndicatorsRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  const IndicatorSet* set = config_.set.get();
  if (!set || set->size() == 0) return Status::Ok();
  const Account& account = ctx.eval.account;
  if (account.id.empty()) return Status::Ok();
  std::array<uint8_t, 16> addr;
  const bool have_addr =
      !ctx.eval.request.client_ip.empty() && ParseIp(ctx.eval.request.client_ip, &addr);
  // The keyed hashes cost two HMACs (about 1 us); only when the set holds
  // fingerprints and the account has them.
  std::string payment, device;
  if (set->has_fingerprints() && !config_.key.empty()) {
    if (!account.payment_fingerprint.empty())
      payment = KeyedFingerprint(config_.key, KeyedKind::kPayment, account.payment_fingerprint);
    if (!account.device_fingerprint.empty())
      device = KeyedFingerprint(config_.key, KeyedKind::kDevice, account.device_fingerprint);
  }
  const IndicatorEntry* e =
      set->Match(have_addr ? &addr : nullptr, payment, device, ctx.eval.wall_ms);
  if (!e) return Status::Ok();
  if (ctx.behavior && raise_hash_) Raise(ctx, *e);
  out->matched = true;
  out->risk = e->weight;
  char w[16];
  std::snprintf(w, sizeof w, "%.2f", e->weight);
  out->detail = "matches " + e->source + "'s indicator " + e->stix_id + " (" +
                std::string(IndicatorObservableName(e->what)) + ")";
  if (e->campaign >= 0)
    out->detail += " of campaign \"" + set->campaigns()[e->campaign].name + "\"";
  out->detail += ", weight ";
  out->detail += w;
  return Status::Ok();
}

// The account's record under the competitor_training rule: an analyzer
// risk of raise_max x weight (kept if higher, its time refreshed so it
// does not decay while the account keeps matching), and the cluster score
// of the partner's campaign here.
void IndicatorsRule::Raise(const RuleContext& ctx, const IndicatorEntry& e) const {
  const uint64_t who = HashId(ctx.eval.account.id);
  // The record competitor_training reads (its own key function).
  const uint64_t key = BehaviorKey(config_.raise_rule, ctx.eval.account.id);
  const std::string& campaign =
      e.campaign >= 0 ? config_.set->campaigns()[e.campaign].stix_id : e.stix_id;
  const uint64_t bucket = MixHash(HashId(campaign) ^ raise_hash_ ^ 0xb000000);
  const double raise = std::clamp(config_.raise_max * e.weight, 0.0, 1.0);
  const int64_t now = ctx.eval.now_ns;
  ctx.behavior->Update(key, now, [&](AccountBehavior& st) {
    if (raise >= st.analyzer_risk) {
      st.analyzer_risk = static_cast<float>(raise);
      st.analyzer_wall_ms = ctx.eval.wall_ms;
    }
    const ClusterObservation o = ctx.behavior->Link(bucket, who, static_cast<float>(raise), now);
    const double size =
        std::min(1.0, static_cast<double>(o.accounts) / std::max(1, config_.cluster_full));
    st.cluster = std::max(st.cluster, static_cast<float>(size * raise));
  });
}

}  // namespace tosgate::engine
