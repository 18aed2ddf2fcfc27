#include "engine/indicators/indicators_rule.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "engine/condition.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/text_features.h"
#include "engine/indicators/keyed_hash.h"
#include "engine/rules/competitor_training.h"

namespace tosgate::engine {

IndicatorsRule::IndicatorsRule(RuleCommon common, IndicatorsConfig config)
    : Rule(std::move(common)),
      config_(std::move(config)),
      template_key_(config_.key),
      raise_hash_(config_.raise_rule.empty() ? 0 : HashId(config_.raise_rule)) {}

Status IndicatorsRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  const Account& account = ctx.eval.account;
  if (account.id.empty()) return Status::Ok();
  const RequestBody& body = ctx.eval.request.body;
  // The sets in force for this request: the files' and each feed's current
  // one (held here, so that a poll swapping a feed cannot free it under us).
  std::shared_ptr<const IndicatorSet> feeds[8];
  const size_t n_feeds = std::min(config_.feeds.size(), std::size(feeds));
  bool any = false, fingerprints = false, templates = false, shapes = false;
  auto note = [&](const IndicatorSet* set) {
    if (!set || set->size() == 0) return;
    any = true;
    fingerprints = fingerprints || set->has_fingerprints();
    templates = templates || set->has_templates();
    shapes = shapes || set->has_shapes();
  };
  note(config_.set.get());
  for (size_t i = 0; i < n_feeds; ++i) note((feeds[i] = config_.feeds[i].feed->set()).get());
  // The prompt's SimHash (about a microsecond for 256 bytes) and the shape
  // profile: only when a set holds such indicators, or for the record.
  const bool recording = config_.evidence != nullptr && body.present;
  uint64_t simhash = 0;
  const bool has_simhash =
      (recording || (templates && !template_key_.empty())) && RequestSimHash(body, &simhash);
  const std::string shape = (recording || shapes) && body.present ? ShapeProfile(body) : std::string();
  if (recording) config_.evidence->Add(account.id, has_simhash, simhash, shape);
  if (!any) return Status::Ok();
  std::array<uint8_t, 16> addr;
  const bool have_addr =
      !ctx.eval.request.client_ip.empty() && ParseIp(ctx.eval.request.client_ip, &addr);
  // The keyed hashes cost two HMACs (about 1 us); only when a set holds
  // fingerprints and the account has them.
  std::string payment, device;
  if (fingerprints && !config_.key.empty()) {
    if (!account.payment_fingerprint.empty())
      payment = KeyedFingerprint(config_.key, KeyedKind::kPayment, account.payment_fingerprint);
    if (!account.device_fingerprint.empty())
      device = KeyedFingerprint(config_.key, KeyedKind::kDevice, account.device_fingerprint);
  }
  IndicatorSet::Probe probe;
  probe.addr = have_addr ? &addr : nullptr;
  probe.payment = payment;
  probe.device = device;
  probe.has_template = templates && has_simhash && !template_key_.empty();
  probe.keyed_template = probe.has_template ? template_key_.Apply(simhash) : 0;
  probe.max_distance = config_.template_distance;
  probe.shape = shapes ? std::string_view(shape) : std::string_view();
  probe.shape_scale = config_.shape_weight;
  const IndicatorEntry* e = nullptr;
  const IndicatorSet* owner = nullptr;
  double weight = 0;
  auto consider = [&](const IndicatorSet* set, double scale) {
    if (!set || set->size() == 0) return;
    const IndicatorEntry* m = set->Match(probe, ctx.eval.wall_ms);
    const double w = m ? IndicatorSet::Effective(*m, probe) * scale : 0;
    if (m && (!e || w > weight)) {
      e = m;
      owner = set;
      weight = std::clamp(w, 0.0, 1.0);
    }
  };
  consider(config_.set.get(), 1);
  for (size_t i = 0; i < n_feeds; ++i) consider(feeds[i].get(), config_.feeds[i].weight);
  if (!e) return Status::Ok();
  if (ctx.behavior && raise_hash_) Raise(ctx, *owner, *e, weight);
  out->matched = true;
  out->risk = weight;
  char w[16];
  std::snprintf(w, sizeof w, "%.2f", weight);
  out->detail = "matches " + e->source + "'s indicator " + e->stix_id + " (" +
                std::string(IndicatorObservableName(e->what)) + ")";
  if (e->campaign >= 0)
    out->detail += " of campaign \"" + owner->campaigns()[e->campaign].name + "\"";
  out->detail += ", weight ";
  out->detail += w;
  return Status::Ok();
}

// The account's record under the competitor_training rule: an analyzer
// risk of raise_max x weight (kept if higher, its time refreshed so it
// does not decay while the account keeps matching), and the cluster score
// of the partner's campaign here.
void IndicatorsRule::Raise(const RuleContext& ctx, const IndicatorSet& set, const IndicatorEntry& e,
                           double weight) const {
  const uint64_t who = HashId(ctx.eval.account.id);
  // The record competitor_training reads (its own key function).
  const uint64_t key = BehaviorKey(config_.raise_rule, ctx.eval.account.id);
  const std::string& campaign =
      e.campaign >= 0 ? set.campaigns()[e.campaign].stix_id : e.stix_id;
  const uint64_t bucket = MixHash(HashId(campaign) ^ raise_hash_ ^ 0xb000000);
  const double raise = std::clamp(config_.raise_max * weight, 0.0, 1.0);
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
