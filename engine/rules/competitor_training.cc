#include "engine/rules/competitor_training.h"

#include <algorithm>
#include <cstdio>

#include "engine/distill/text_features.h"

namespace tosgate::engine {
namespace {

constexpr size_t kSystemBytes = 256;  // of system text read for the lexicon
constexpr int kBands = 4;             // 16-bit LSH bands of the 64-bit SimHash
constexpr double kClusterDecay = 0.98;

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// 1 for logit_bias or top_logprobs at the API's maximum; below it 0.5 with
// top_logprobs, 0.25 for logprobs alone, and a tenth of that for short
// answers (max_tokens <= 16), which is how evaluation harnesses score
// multiple choice.
double LogprobValue(const DistillParams& p, const RequestBody& b) {
  const int64_t max = b.api == "completions" ? p.completions_logprobs_max : p.top_logprobs_max;
  if (b.logit_bias_count > 0 || (b.logprobs && b.top_logprobs >= max)) return 1;
  if (!b.logprobs) return 0;
  const double v = b.top_logprobs > 0 ? 0.5 : 0.25;
  return b.max_tokens >= 0 && b.max_tokens <= 16 ? v * 0.1 : v;
}

// max_tokens against the input: prompt characters / 4 estimate its tokens.
bool OutputHeavy(const DistillParams& p, const RequestBody& b) {
  if (b.max_tokens < p.output_min_tokens) return false;
  const double input_tokens = std::max<double>(1, static_cast<double>(b.prompt_chars) / 4);
  return static_cast<double>(b.max_tokens) >= p.output_ratio * input_tokens;
}

}  // namespace

uint64_t BehaviorKey(std::string_view rule_id, std::string_view account_id) {
  return MixHash(HashId(rule_id) * 31 ^ HashId(account_id));
}

CompetitorTrainingRule::CompetitorTrainingRule(RuleCommon common, DistillConfig config)
    : Rule(std::move(common)), config_(std::move(config)), rule_hash_(HashId(this->common().id)) {}

bool CompetitorTrainingRule::Exempt(const Account& a) const {
  if (Contains(config_.exempt_accounts, a.id)) return true;
  if (!a.org.empty() && Contains(config_.exempt_orgs, a.org)) return true;
  for (const std::string& f : a.flags)
    if (Contains(config_.exempt_flags, f)) return true;
  return false;
}

Status CompetitorTrainingRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  if (!ctx.behavior) return Status::Ok();
  const Account& account = ctx.eval.account;
  if (account.id.empty() || Exempt(account)) return Status::Ok();
  const DistillParams& p = config_.params;
  const RequestBody& body = ctx.eval.request.body;
  const int64_t now = ctx.eval.now_ns;

  // What the request shows on its own.
  RequestFeatures f;
  if (body.present) {
    thread_local std::string folded;
    folded.clear();
    TextFeatures text;
    std::string_view system = body.system_text;
    ExtractText(system.substr(0, kSystemBytes), 0, &folded, &text);
    std::string_view user = body.user_text.empty() ? body.prompt_text : body.user_text;
    if (user.size() > static_cast<size_t>(p.max_bytes))
      user = user.substr(user.size() - p.max_bytes);
    ExtractText(user, p.shingle_words, &folded, &text);
    f.has_simhash = text.has_simhash;
    f.simhash = text.simhash;
    f.scripts = text.scripts;
    f.topic = text.topic;
    if (config_.lexicon_count > 0 && config_.lexicon && !folded.empty()) {
      const ContentDatabase* db = config_.lexicon->database();
      thread_local std::vector<ContentHit> hits;
      if (!db || !db->Scan(folded, &hits))
        return Status::Internal("lexicon scan failed (Hyperscan)");
      const uint32_t lo = config_.lexicon_first, hi = lo + config_.lexicon_count;
      f.cot = std::any_of(hits.begin(), hits.end(),
                          [&](const ContentHit& h) { return h.id >= lo && h.id < hi; });
    }
    f.logprob = LogprobValue(p, body);
    f.output_heavy = OutputHeavy(p, body);
  }

  // The account's own history.
  const uint64_t key = MixHash(rule_hash_ * 31 ^ HashId(account.id));
  bool near = false;
  SignalArray scores{};
  uint32_t requests = 0;
  double stored_cluster = 0;
  ctx.behavior->Update(key, now, [&](AccountBehavior& st) {
    near = Observe(p, f, now, ctx.eval.wall_ms, &st);
    scores = Scores(p, st);
    requests = st.requests;
    stored_cluster = st.cluster;
  });

  // Clusters: every bucket this request links the account into.
  const uint64_t who = HashId(account.id);
  const double suspicion = RequestSuspicion(p, f);
  double cluster = 0;
  ClusterObservation best;
  const char* best_by = "";
  auto link = [&](uint64_t bucket, const char* by) {
    ClusterObservation o =
        ctx.behavior->Link(MixHash(bucket ^ rule_hash_), who, static_cast<float>(suspicion), now);
    const double s = ClusterScore(p, o);
    if (s > cluster || (s == cluster && o.accounts > best.accounts)) {
      cluster = s;
      best = o;
      best_by = by;
    }
  };
  if (config_.cluster_templates && near)
    for (int band = 0; band < kBands; ++band)
      link((f.simhash >> (16 * band) & 0xffff) | uint64_t(band + 1) << 16, "a prompt template");
  if (config_.cluster_ip && !ctx.eval.request.client_ip.empty())
    link(HashId(ScopeValue(config_.ip_range, ctx.eval)) ^ 0x1000000, "an address range");
  if (config_.cluster_payment && !account.payment_fingerprint.empty())
    link(HashId(account.payment_fingerprint) ^ 0x2000000, "a payment fingerprint");
  if (config_.cluster_device && !account.device_fingerprint.empty())
    link(HashId(account.device_fingerprint) ^ 0x3000000, "a device fingerprint");
  const double kept = std::max(cluster, stored_cluster * kClusterDecay);
  if (kept != stored_cluster)
    ctx.behavior->Update(key, now,
                         [&](AccountBehavior& st) { st.cluster = static_cast<float>(kept); });
  scores[static_cast<int>(Signal::kCluster)] = kept;
  GateByEvidence(&scores);

  SignalArray contributions{};
  const double risk = Risk(p.weights, scores, &contributions);
  out->risk = risk;

  // The highest threshold reached decides.
  int reached = -1;
  for (int i = 0; i < kDistillActions; ++i)
    if (config_.thresholds[i] >= 0 && risk >= config_.thresholds[i]) reached = i;
  if (reached < 0) return Status::Ok();
  const int kWatermarkAt = 1, kThrottleAt = 3;
  Action action = kDistillActionOrder[reached];
  std::string throttled;
  if (action == Action::kThrottle) {
    std::string meter_key =
        common().id + "|distill|" + config_.throttle.Signature() + "|" + account.id;
    const MeterSpec meter = MeterFor(config_.throttle, ctx.eval.wall_ms);
    Result<MeterResult> r = ctx.state.Take(meter_key, meter, 1, now);
    if (!r.ok()) return r.status();
    out->rate_limits.push_back(ItemFor(common().id, config_.throttle, meter, *r));
    if (r->allowed) {
      Charge charge;
      charge.key = std::move(meter_key);
      charge.meter = meter;
      charge.amount = 1;
      charge.taken_at_ns = now;
      out->charges.push_back(std::move(charge));
      // Under the reduced rate: admitted, with the strongest admitting action.
      action = Action::kFlag;
      for (int i = kThrottleAt - 1; i >= 0; --i)
        if (config_.thresholds[i] >= 0) {
          action = kDistillActionOrder[i];
          break;
        }
      throttled = "; within the reduced rate " + config_.throttle.Describe();
    } else {
      out->retry_after_ms = CeilDiv(r->retry_after_ns, 1'000'000);
      throttled = "; held to " + config_.throttle.Describe();
    }
  }
  out->matched = true;
  out->action = action;
  char buf[96];
  if (config_.thresholds[kWatermarkAt] >= 0 && risk >= config_.thresholds[kWatermarkAt] &&
      action != Action::kDeny && action != Action::kThrottle) {
    std::snprintf(buf, sizeof buf, "%s;risk=%.2f", common().id.c_str(), risk);
    out->watermark = buf;
  }
  std::snprintf(buf, sizeof buf, "risk %.2f >= %s %.2f:", risk,
                std::string(ActionName(kDistillActionOrder[reached])).c_str(),
                config_.thresholds[reached]);
  std::string& d = out->detail;
  d = buf;
  for (int i = 0; i < kSignals; ++i) {
    std::snprintf(buf, sizeof buf, "%s %s +%.2f (score %.2f)", i ? "," : "",
                  std::string(SignalName(static_cast<Signal>(i))).c_str(), contributions[i],
                  scores[i]);
    d += buf;
  }
  if (cluster > 0 && *best_by) {
    std::snprintf(buf, sizeof buf, "; ~%u accounts share %s", best.accounts, best_by);
    d += buf;
  }
  d += "; " + std::to_string(requests) + " requests seen" + throttled;
  return Status::Ok();
}

}  // namespace tosgate::engine
