// The streaming signals of competitor_training: what one request shows, how
// it is folded into the account's record, and the score in [0, 1] each
// signal then gives. docs/distillation.md states each formula; the code and
// that page must agree.
//
// Pure functions over plain data: the rule (engine/rules/
// competitor_training.cc) does the I/O-free glue with the BehaviorStore.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "engine/distill/behavior_store.h"
#include "tosgate/request.h"

namespace tosgate::engine {

enum class Signal : uint8_t {
  kTemplate,
  kCot,
  kLogprob,
  kOutputHeavy,
  kVolume,
  kTiming,
  kSpread,
  kCluster,
  kHarvest,     // the harvest-intent text model's rate
  kShape,       // request shape: reasoning effort, n, temperature, max_tokens
  kSequential,  // the CUSUM of per-request harvest evidence
  kAnalyzer,    // risk raised by the out-of-path analyzer, decayed by age
};
inline constexpr int kSignals = 12;
// "template_rate", "cot_elicitation", "logprob_harvest", "output_heavy",
// "volume", "timing_regular", "spread", "cluster", "harvest_intent",
// "request_shape", "sequential", "analyzer": the keys of `signals:`.
std::string_view SignalName(Signal s);
using SignalArray = std::array<double, kSignals>;

struct DistillParams {
  SignalArray weights = {0.35, 0.35, 0.45, 0.2, 0.1, 0.15, 0.1, 0.4, 0.45, 0.3, 0.6, 0.5};
  int window = 32;        // requests the rates average over (<= kFingerprintRing)
  int min_requests = 10;  // an account's own signals count fully from here
  // Templates: a prompt within max_distance bits of one of the account's
  // last `window` fingerprints is a near-duplicate.
  int max_distance = 14;
  int max_bytes = 256;  // of user text read: its first 2/3 and last 1/3 of that
  int shingle_words = 3;
  // Logprobs: top_logprobs at or above these is "at the maximum".
  int64_t top_logprobs_max = 20;         // Chat Completions, Responses
  int64_t completions_logprobs_max = 5;  // legacy Completions `logprobs`
  // Output-heavy: max_tokens >= ratio * estimated input tokens and >= min.
  double output_ratio = 4;
  int64_t output_min_tokens = 1024;
  // Volume: a short-horizon rate against the account's long-horizon
  // baseline (never below baseline_floor requests per hour).
  double fast_horizon_s = 600, slow_horizon_s = 86'400, baseline_floor_per_hour = 60;
  // Clusters: a bucket counts from min_accounts, fully at full_accounts.
  int cluster_min = 10, cluster_full = 100;
  // Instruction links (the first and last words of the user text, tool
  // schemas): a bucket counts from link_min accounts, fully at link_full,
  // and only for what its requests' mean evidence has above link_floor.
  int link_min = 3, link_full = 8;
  double link_floor = 0.3;
  bool link_instructions = true, link_tools = true;
  // Pooled instructions (`linkage.by: pooled_instructions`): one
  // instruction skeleton shared by a few accounts. An end of the user text
  // (its first or last skeleton_words words) is an account's skeleton when the
  // account sent it before, in a long one-turn request, with a different
  // other end: one instruction around a varying slot. Each end has two
  // buckets: one counts every account that sends it at all (its document
  // frequency in the population), the other the accounts whose skeleton it
  // is, averaging the model's probability of their skeleton requests. A
  // skeleton request scores
  //   size:   skeleton accounts from link_min, fully at link_full
  //   x share:  skeleton accounts / all accounts, from pooled_floor, fully at pooled_full
  //   x rarity: 1 while at most skeleton_common accounts send the end, 0 at 4x that
  //   x belief: the mean probability from pooled_cut, fully at pooled_sure
  // into the linked accounts' `sequential` score. An end counts as the
  // account's skeleton once it came back skeleton_repeats times among the
  // account's last skeleton_ring long one-turn requests (a pasted snippet or a
  // popular question comes back now and then; an instruction every time). Ordinary users share
  // openings ("can you explain", a popular template) but as one-off
  // requests, or with many others (share and rarity), and in text the model
  // does not believe (belief); a conversation's first message coming back
  // with each new turn is no skeleton (one-turn requests only).
  // The policy keys are `linkage.skeleton`'s (policies/kinds/
  // competitor_training.cc): words, repeats, of_last, common_accounts,
  // share_from/share_full, belief_from/belief_full.
  bool link_pooled = false;
  double pooled_cut = 0.15, pooled_sure = 0.45, pooled_floor = 0.2, pooled_full = 0.5;
  int skeleton_common = 32;
  int skeleton_repeats = 3;
  int skeleton_words = 6;  // words of each end (1 to kMaxEdgeWords)
  int skeleton_ring = kEdgeRing;  // long one-turn requests kept (2 to kEdgeRing)
  // A long one-turn request enters the ring only at this model probability
  // or above (linkage.skeleton.enter_from; 0, the default: every one does):
  // an account's cover traffic, which the model sees nothing in, then
  // cannot push a sparse instruction out of the ring before it comes back.
  double skeleton_enter = 0;
  // Harvest intent: a model probability at or above harvest_threshold counts
  // 1, at or below half of it 0, linearly between.
  double harvest_threshold = 0.5;
  // Sequential evidence (CUSUM): S = max(0, S + x - reference) per request,
  // x the request's evidence in [0, 1]; the score is S / sequential_threshold.
  double sequential_reference = 0.35, sequential_threshold = 25;
  // The analyzer's risk halves every analyzer_half_life_s of age.
  double analyzer_half_life_s = 3600;
  // Request shape: max_tokens against this output maximum of the model
  // (a table of known families, this when none matches).
  int64_t default_max_output = 16384;
};

// What one request shows on its own.
struct RequestFeatures {
  bool has_simhash = false;
  uint64_t simhash = 0;
  bool cot = false;    // a lexicon phrase matched
  double logprob = 0;  // 0..1, see LogprobValue
  bool output_heavy = false;
  uint8_t scripts = 0;
  int topic = -1;
  double harvest = 0;  // the harvest-intent value (0..1), see HarvestValue
  double shape = 0;    // the request-shape value (0..1), see ShapeValue
  // Hashes of the first and last words of the user text (0: too short).
  uint64_t head = 0, tail = 0;
  // A long one-turn request (output-heavy, at most two messages): its ends
  // may be an instruction skeleton; `pooled` is then the model's
  // probability, which its skeleton buckets average.
  bool long_one_turn = false;
  double pooled = 0;
};

// The request-shape value of a body: reasoning effort (or thinking budget),
// n > 1, temperature near 1, max_tokens near the model's maximum, a
// reasoning model. docs/distillation.md gives the formula.
double ShapeValue(const DistillParams& p, const RequestBody& b);
// The output-token maximum of a model by family ("o3", "claude-opus-4",
// "gemini-2.5-pro"...), or p.default_max_output.
int64_t ModelMaxOutput(const DistillParams& p, std::string_view model);
bool ReasoningModel(std::string_view model);
// A model probability mapped to [0, 1] by harvest_threshold.
double HarvestValue(const DistillParams& p, double probability);
// The request's harvest evidence for the sequential test, in [0, 1].
double RequestEvidence(const RequestFeatures& f);

// The sequential and analyzer scores, from the record and the wall clock.
double AnalyzerScore(const DistillParams& p, const AccountBehavior& st, int64_t wall_ms);

// Folds a request into the record: rates, ring, clocks. Returns whether the
// prompt was a near-duplicate of one in the ring (before it was added).
bool Observe(const DistillParams& p, const RequestFeatures& f, int64_t now_ns, int64_t wall_ms,
             AccountBehavior* st);

// Each signal's score in [0, 1] from the record (cluster: st.cluster).
SignalArray Scores(const DistillParams& p, const AccountBehavior& st);

// How a request's traffic looks (template_rate, volume, timing_regular,
// spread) is no evidence on its own - pipelines and support bots look like
// that too; it counts in proportion to the evidence that outputs are being
// harvested: scores of those four are multiplied by the largest of the
// cot_elicitation, logprob_harvest, output_heavy, cluster, sequential and
// analyzer scores.
void GateByEvidence(SignalArray* scores);

// risk = 1 - prod(1 - w_i * s_i); contributions[i] = w_i * s_i.
double Risk(const SignalArray& weights, const SignalArray& scores, SignalArray* contributions);

// The cluster score of one bucket: its size between cluster_min and
// cluster_full, times how suspicious its requests are on average.
double ClusterScore(const DistillParams& p, const ClusterObservation& o);
// The same for an instruction or tool-schema bucket (link_min, link_full,
// link_floor).
double LinkScore(const DistillParams& p, const ClusterObservation& o);

// Which ends of the request are the account's instruction skeletons (bit 0
// the head, bit 1 the tail): sent before, in at least skeleton_repeats of
// the account's last skeleton_ring long one-turn requests, each with a
// different other end. Then keeps the request's ends when it is long and
// one-turn.
uint8_t ObserveEdges(const DistillParams& p, const RequestFeatures& f, AccountBehavior* st);

// The score of an instruction skeleton that `accounts` send at all and
// `skeleton.accounts` as their skeleton, at mean model probability
// `skeleton.suspicion` (the formula at DistillParams::link_pooled).
double SkeletonScore(const DistillParams& p, uint32_t accounts, const ClusterObservation& skeleton);

// A request's own suspicion (no history): what its buckets average.
double RequestSuspicion(const DistillParams& p, const RequestFeatures& f);

}  // namespace tosgate::engine
