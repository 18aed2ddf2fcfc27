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
};
inline constexpr int kSignals = 8;
// "template_rate", "cot_elicitation", "logprob_harvest", "output_heavy",
// "volume", "timing_regular", "spread", "cluster": the keys of `signals:`.
std::string_view SignalName(Signal s);
using SignalArray = std::array<double, kSignals>;

struct DistillParams {
  SignalArray weights = {0.35, 0.35, 0.45, 0.2, 0.1, 0.15, 0.1, 0.4};
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
};

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
// cot_elicitation, logprob_harvest, output_heavy and cluster scores.
void GateByEvidence(SignalArray* scores);

// risk = 1 - prod(1 - w_i * s_i); contributions[i] = w_i * s_i.
double Risk(const SignalArray& weights, const SignalArray& scores, SignalArray* contributions);

// The cluster score of one bucket: its size between cluster_min and
// cluster_full, times how suspicious its requests are on average.
double ClusterScore(const DistillParams& p, const ClusterObservation& o);

// A request's own suspicion (no history): what its buckets average.
double RequestSuspicion(const DistillParams& p, const RequestFeatures& f);

}  // namespace tosgate::engine
