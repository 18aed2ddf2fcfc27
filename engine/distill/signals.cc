#include "engine/distill/signals.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "engine/distill/text_features.h"

namespace tosgate::engine {
namespace {

double Clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

constexpr int64_t kDayMs = 86'400'000, kHourMs = 3'600'000;

// Whether one of fps[0..n) is within `max` bits of x: an account's whole
// window is compared on every request, so on x86-64 the loop is built a
// second time for the POPCNT instruction, taken when the CPU has it (a
// plain branch, not an ifunc: sanitizers cannot run ifunc resolvers).
bool AnyWithinPortable(const uint64_t* fps, int n, uint64_t x, int max) {
  bool any = false;
  for (int i = 0; i < n; ++i) any |= Popcount(x ^ fps[i]) <= max;
  return any;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) bool AnyWithinPopcnt(const uint64_t* fps, int n, uint64_t x,
                                                       int max) {
  bool any = false;
  for (int i = 0; i < n; ++i) any |= __builtin_popcountll(x ^ fps[i]) <= max;
  return any;
}

bool AnyWithin(const uint64_t* fps, int n, uint64_t x, int max) {
  static const bool popcnt = (__builtin_cpu_init(), __builtin_cpu_supports("popcnt"));
  return popcnt ? AnyWithinPopcnt(fps, n, x, max) : AnyWithinPortable(fps, n, x, max);
}
#else
bool AnyWithin(const uint64_t* fps, int n, uint64_t x, int max) {
  return AnyWithinPortable(fps, n, x, max);
}
#endif

}  // namespace

std::string_view SignalName(Signal s) {
  static constexpr std::string_view kNames[kSignals] = {
      "template_rate", "cot_elicitation", "logprob_harvest", "output_heavy",
      "volume",        "timing_regular",  "spread",          "cluster",
      "harvest_intent", "request_shape",  "sequential",      "analyzer"};
  return kNames[static_cast<int>(s)];
}

bool Observe(const DistillParams& p, const RequestFeatures& f, int64_t now_ns, int64_t wall_ms,
             AccountBehavior* st) {
  const bool first = st->requests == 0;
  if (st->requests < UINT32_MAX) ++st->requests;
  // Rates start as plain means and become exponentially weighted over the
  // window once it is full.
  const double alpha = 1.0 / std::min<double>(st->requests, p.window);

  bool near = false;
  if (f.has_simhash) {
    // The last n fingerprints: up to ring_next, and the ring's end before it.
    const int n = std::min<int>(st->ring_len, p.window);
    const int recent = std::min<int>(n, st->ring_next);
    near = AnyWithin(st->fingerprints.data() + st->ring_next - recent, recent, f.simhash,
                     p.max_distance) ||
           AnyWithin(st->fingerprints.data() + kFingerprintRing - (n - recent), n - recent,
                     f.simhash, p.max_distance);
    st->fingerprints[st->ring_next] = f.simhash;
    st->ring_next = static_cast<uint8_t>((st->ring_next + 1) % kFingerprintRing);
    if (st->ring_len < kFingerprintRing) ++st->ring_len;
  }
  auto mix = [&](float& rate, double v) { rate = static_cast<float>(rate + alpha * (v - rate)); };
  mix(st->template_rate, near ? 1 : 0);
  mix(st->cot_rate, f.cot ? 1 : 0);
  mix(st->logprob_rate, f.logprob);
  mix(st->output_rate, f.output_heavy ? 1 : 0);
  mix(st->harvest_rate, f.harvest);
  mix(st->shape_rate, f.shape);
  // The CUSUM: evidence above the reference accumulates, below it drains,
  // never under 0; capped at twice the threshold so that an account that
  // stops harvesting is cleared in bounded time.
  st->cusum = static_cast<float>(std::clamp(
      st->cusum + RequestEvidence(f) - p.sequential_reference, 0.0, 2 * p.sequential_threshold));

  // Inter-arrival times and the two request-rate horizons.
  const double dt = first ? 0 : std::max<int64_t>(0, now_ns - st->last_ns) / 1e9;
  if (!first) {
    ++st->gaps;
    const double beta = 1.0 / std::min<double>(st->gaps, p.window);
    const double delta = dt - st->gap_mean;
    st->gap_mean = static_cast<float>(st->gap_mean + beta * delta);
    st->gap_var = static_cast<float>((1 - beta) * (st->gap_var + beta * delta * delta));
  }
  st->rate_fast =
      static_cast<float>(st->rate_fast * std::exp(static_cast<float>(-dt / p.fast_horizon_s)) + 1 / p.fast_horizon_s);
  st->rate_slow =
      static_cast<float>(st->rate_slow * std::exp(static_cast<float>(-dt / p.slow_horizon_s)) + 1 / p.slow_horizon_s);
  st->last_ns = now_ns;

  // Active hours of the UTC day.
  const auto day = static_cast<int32_t>(wall_ms / kDayMs);
  if (day != st->day) {
    st->prev_day_hours = st->day >= 0 && day == st->day + 1
                             ? static_cast<uint8_t>(Popcount(st->hour_mask))
                             : 0;
    st->hour_mask = 0;
    st->day = day;
  }
  st->hour_mask |= uint32_t{1} << ((wall_ms / kHourMs) % 24);

  // Topics and scripts, over the last two windows of 2 * window requests.
  if (++st->window_seen > static_cast<uint32_t>(2 * p.window)) {
    st->prev_topics = st->topics;
    st->topics = 0;
    st->languages = 0;
    st->window_seen = 1;
  }
  if (f.topic >= 0) st->topics |= uint64_t{1} << f.topic;
  st->languages |= f.scripts;
  return near;
}

SignalArray Scores(const DistillParams& p, const AccountBehavior& st) {
  SignalArray s{};
  const double c = std::min(1.0, static_cast<double>(st.requests) / p.min_requests);
  s[0] = c * Clamp01((st.template_rate - 0.2) / 0.6);
  s[1] = c * Clamp01(st.cot_rate / 0.5);
  s[2] = c * Clamp01(st.logprob_rate / 0.6);
  s[3] = c * Clamp01((st.output_rate - 0.2) / 0.6);
  const double baseline = std::max<double>(st.rate_slow, p.baseline_floor_per_hour / 3600);
  s[4] = c * Clamp01((st.rate_fast / baseline - 3) / 7);
  double regular = 0;
  if (st.gaps + 1 >= static_cast<uint32_t>(p.min_requests) && st.gap_mean > 0) {
    const double cv = std::sqrt(std::max(0.0f, st.gap_var)) / st.gap_mean;
    regular = Clamp01((0.5 - cv) / 0.4);
  }
  const int hours = std::max(Popcount(st.hour_mask), static_cast<int>(st.prev_day_hours));
  s[5] = std::max(regular, Clamp01((hours - 16) / 6.0));
  const int topics = Popcount(st.topics | st.prev_topics);
  const int scripts = Popcount(st.languages);
  s[6] = c * std::max(Clamp01((topics - 12) / 20.0), Clamp01((scripts - 2) / 2.0));
  s[7] = st.cluster;
  s[8] = c * Clamp01(st.harvest_rate / 0.5);
  s[9] = c * Clamp01((st.shape_rate - 0.3) / 0.4);
  s[10] = Clamp01(st.cusum / p.sequential_threshold);
  return s;
}

void GateByEvidence(SignalArray* s) {
  SignalArray& v = *s;
  // Of the newer signals only the sequential test and the analyzer gate:
  // they are decisions over many requests, where a low harvest-intent or
  // shape rate is the noise of ordinary traffic.
  const double evidence = std::max({v[1], v[2], v[3], v[7], v[10], v[11]});
  for (int i : {0, 4, 5, 6}) v[i] *= evidence;
}

double Risk(const SignalArray& weights, const SignalArray& scores, SignalArray* contributions) {
  double keep = 1;
  for (int i = 0; i < kSignals; ++i) {
    const double c = Clamp01(weights[i] * scores[i]);
    if (contributions) (*contributions)[i] = c;
    keep *= 1 - c;
  }
  return 1 - keep;
}

double ClusterScore(const DistillParams& p, const ClusterObservation& o) {
  const double size = Clamp01(static_cast<double>(static_cast<int>(o.accounts) - p.cluster_min) /
                              std::max(1, p.cluster_full - p.cluster_min));
  return size * Clamp01(o.suspicion / 0.3);
}

double LinkScore(const DistillParams& p, const ClusterObservation& o) {
  const double size = Clamp01(static_cast<double>(static_cast<int>(o.accounts) - p.link_min + 1) /
                              std::max(1, p.link_full - p.link_min + 1));
  return size * Clamp01((o.suspicion - p.link_floor) / std::max(0.05, 0.7 - p.link_floor));
}

double SkeletonScore(const DistillParams& p, uint32_t accounts, const ClusterObservation& skel) {
  const auto positive = static_cast<int>(skel.accounts);
  const double size = Clamp01(static_cast<double>(positive - p.link_min + 1) /
                              std::max(1, p.link_full - p.link_min + 1));
  // Both counts are estimates: the share is capped at 1.
  const double share = std::min(1.0, static_cast<double>(positive) / std::max(1u, accounts));
  const double common = std::max(1, p.skeleton_common);
  const double rarity = Clamp01((4 * common - accounts) / (3 * common));
  const double belief =
      Clamp01((skel.suspicion - p.pooled_cut) / std::max(0.05, p.pooled_sure - p.pooled_cut));
  return size * rarity * belief *
         Clamp01((share - p.pooled_floor) / std::max(0.05, p.pooled_full - p.pooled_floor));
}

uint8_t ObserveEdges(const DistillParams& p, const RequestFeatures& f, AccountBehavior* st) {
  if (!f.head || !f.tail) return 0;
  const auto head = static_cast<uint32_t>(f.head), tail = static_cast<uint32_t>(f.tail);
  int heads = 0, tails = 0;
  const int ring = std::clamp(p.skeleton_ring, 1, kEdgeRing);
  for (int i = 0; i < ring; ++i) {
    const uint32_t h = st->edges[2 * i], t = st->edges[2 * i + 1];
    heads += h == head && t != tail;
    tails += t == tail && h != head;
  }
  // Only requests the model gives some credence (enter_from) are judged
  // and kept, like long one-turn ones only: an account's cover traffic
  // (ordinary long answers, probability near 0) would otherwise push a
  // sparse instruction out of the ring before it comes back.
  if (!f.long_one_turn || f.pooled < p.skeleton_enter) return 0;
  st->edges[2 * st->edge_next] = head;
  st->edges[2 * st->edge_next + 1] = tail;
  st->edge_next = static_cast<uint8_t>((st->edge_next + 1) % ring);
  return static_cast<uint8_t>((heads >= p.skeleton_repeats) | (tails >= p.skeleton_repeats) << 1);
}

double RequestSuspicion(const DistillParams&, const RequestFeatures& f) {
  return std::max({f.cot ? 1.0 : 0.0, f.logprob, f.output_heavy ? 1.0 : 0.0, f.harvest, f.shape});
}

double RequestEvidence(const RequestFeatures& f) {
  // A lexicon phrase or a long output alone stays below the default
  // reference (0.35): tutors, coders and writers send them all day.
  return std::max({f.harvest, f.cot ? 0.3 : 0.0, f.logprob, f.output_heavy ? 0.25 : 0.0, f.shape});
}

double HarvestValue(const DistillParams& p, double probability) {
  const double t = std::max(1e-3, p.harvest_threshold);
  return Clamp01((probability - t / 2) / (t / 2));
}

double AnalyzerScore(const DistillParams& p, const AccountBehavior& st, int64_t wall_ms) {
  if (st.analyzer_risk <= 0) return 0;
  const double age_s = std::max<int64_t>(0, wall_ms - st.analyzer_wall_ms) / 1e3;
  return Clamp01(st.analyzer_risk * std::exp2(-age_s / std::max(1.0, p.analyzer_half_life_s)));
}

bool ReasoningModel(std::string_view m) {
  auto has = [&](std::string_view s) { return m.find(s) != std::string_view::npos; };
  return m.starts_with("o1") || m.starts_with("o3") || m.starts_with("o4") ||
         m.starts_with("gpt-5") || has("reason") || has("thinking") || has("-r1") ||
         has("gemini-2.5") || has("gemini-3") || has("claude-opus-4") || has("claude-sonnet-4") ||
         has("qwq");
}

namespace {

// Output-token maxima as the providers publish them, by family (-1: none
// listed).
int64_t TableMaxOutput(std::string_view m) {
  static constexpr std::pair<std::string_view, int64_t> kMax[] = {
      {"o1-mini", 65536},        {"o1", 100000},           {"o3", 100000},
      {"o4", 100000},            {"gpt-5", 128000},        {"gpt-4.1", 32768},
      {"gpt-4o", 16384},         {"claude-opus-4", 32000}, {"claude-sonnet-4", 64000},
      {"claude-3-7", 64000},     {"claude", 8192},         {"gemini-2.5", 65536},
      {"gemini-3", 65536},       {"gemini", 8192},         {"deepseek-r", 32768},
  };
  for (const auto& [prefix, max] : kMax)
    if (m.starts_with(prefix)) return max;
  return -1;
}

// What a model's name says: asked twice a request (the shape, the
// analyzer's features), some thirty prefix and substring tests, for the
// few model names a gateway's traffic carries. The answers for the last
// kFamilies names are kept per thread (a gateway's traffic alternates
// between a few models: with one entry, 8,649 of the simulator's first
// 20,000 requests recomputed it); a new name replaces the entries in turn.
struct ModelFamily {
  int64_t max_output = -1;
  bool reasoning = false;
};

constexpr size_t kFamilies = 8;
constexpr size_t kFamilyName = 46;  // longer names are not kept

struct FamilyCache {
  struct Entry {
    uint8_t size = 0xff;  // 0xff: empty
    char name[kFamilyName];
    ModelFamily family;
  };
  std::array<Entry, kFamilies> entries;
  size_t next = 0;
  ModelFamily uncached;
};

const ModelFamily& FamilyOf(std::string_view m) {
  thread_local FamilyCache cache;
  if (m.size() <= kFamilyName) {
    for (FamilyCache::Entry& e : cache.entries)
      if (e.size == m.size() && (m.empty() || std::memcmp(e.name, m.data(), m.size()) == 0))
        return e.family;
  }
  const ModelFamily family{TableMaxOutput(m), ReasoningModel(m)};
  if (m.size() > kFamilyName) return cache.uncached = family;
  FamilyCache::Entry& e = cache.entries[cache.next];
  cache.next = (cache.next + 1) % kFamilies;
  e.size = static_cast<uint8_t>(m.size());
  if (!m.empty()) std::memcpy(e.name, m.data(), m.size());
  e.family = family;
  return e.family;
}

}  // namespace

int64_t ModelMaxOutput(const DistillParams& p, std::string_view m) {
  // A model not listed is judged against default_max_output.
  const int64_t max = FamilyOf(m).max_output;
  return max > 0 ? max : p.default_max_output;
}

double ShapeValue(const DistillParams& p, const RequestBody& b) {
  const std::string_view e = b.reasoning_effort;
  double effort = e == "high" || e == "xhigh" ? 1 : e == "medium" ? 0.4 : 0;
  if (b.thinking_budget > 0) effort = std::max(effort, Clamp01(b.thinking_budget / 16000.0));
  const double n = b.n > 1 ? Clamp01((b.n - 1) / 3.0) : 0;
  const double temp = b.temperature >= 0.9 ? 1 : 0;
  double tokens = 0;
  if (b.max_tokens > 0)
    tokens = Clamp01((static_cast<double>(b.max_tokens) / ModelMaxOutput(p, b.model) - 0.25) / 0.5);
  const bool reasoning = FamilyOf(b.model).reasoning || effort > 0;
  const double v = 0.3 * effort + 0.35 * n + 0.1 * temp + 0.25 * tokens;
  return Clamp01(reasoning ? v : 0.6 * v);
}

}  // namespace tosgate::engine
