#include "engine/rules/competitor_training.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "engine/condition.h"
#include "engine/distill/feature_log.h"
#include "engine/distill/text_features.h"

namespace tosgate::engine {
namespace {

uint64_t Load8(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}


constexpr size_t kSystemBytes = 256;  // of system text read for the lexicon
constexpr size_t kBands = 4;            // 16-bit LSH bands of the 64-bit SimHash
constexpr double kClusterDecay = 0.98;

// "0.00" to "9.99" by hundredths (and 1000 as the digit arithmetic would
// write it, though rounding below 9.99 never reaches it): an explanation
// writes 26 of them.
constexpr std::array<std::array<char, 4>, 1001> kHundredths = [] {
  std::array<std::array<char, 4>, 1001> t{};
  for (int n = 0; n <= 1000; ++n)
    t[static_cast<size_t>(n)] = {static_cast<char>('0' + n / 100), '.',
                                 static_cast<char>('0' + n / 10 % 10), static_cast<char>('0' + n % 10)};
  return t;
}();

// Text written into a buffer on the stack and copied out once: an
// explanation is built for every match, some fifty pieces, and appending
// them to a std::string one by one costs several times more. Past its
// capacity (far more than an explanation needs) it truncates.
class Line {
 public:
  Line& operator<<(std::string_view s) {
    const size_t n = std::min(s.size(), static_cast<size_t>(end() - w_));
    std::memcpy(w_, s.data(), n);
    w_ += n;
    return *this;
  }
  // A literal: its length is known, so the copy is a few moves, not a call.
  template <size_t N>
  Line& operator<<(const char (&s)[N]) {
    return Fixed<N - 1>(s);
  }
  // "%.2f" for the values of an explanation (risks, scores: 0..1), rounded
  // half to even as printf does (without a call into libm).
  Line& Fixed2(double v) {
    const double x = std::clamp(v, 0.0, 9.99) * 100;
    int n = static_cast<int>(x);
    const double frac = x - n;
    n += frac > 0.5 || (frac == 0.5 && (n & 1));
    if (static_cast<unsigned>(n) <= 1000) return Fixed<4>(kHundredths[static_cast<size_t>(n)].data());
    // Not a number: written by the same arithmetic as the table's.
    const char b[4] = {static_cast<char>('0' + n / 100), '.',
                       static_cast<char>('0' + n / 10 % 10), static_cast<char>('0' + n % 10)};
    return Fixed<4>(b);
  }
  Line& Uint(uint32_t v) {
    char b[10];
    const auto r = std::to_chars(b, b + sizeof b, v);
    return *this << std::string_view(b, static_cast<size_t>(r.ptr - b));
  }
  std::string_view view() const { return {buf_, static_cast<size_t>(w_ - buf_)}; }

 private:
  template <size_t N>
  Line& Fixed(const char* s) {
    if (static_cast<size_t>(end() - w_) < N) return *this << std::string_view(s, N);
    std::memcpy(w_, s, N);
    w_ += N;
    return *this;
  }
  const char* end() const { return buf_ + sizeof buf_; }
  char buf_[768];
  char* w_ = buf_;
};

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// At most this many output tokens is a short answer (a letter, a label, a
// number): LogprobValue and the harvest-intent model discount it.
constexpr int64_t kShortAnswerTokens = 16;

// 1 for logit_bias or top_logprobs at the API's maximum; below it 0.5 with
// top_logprobs, 0.25 for logprobs alone, and a tenth of that for short
// answers (max_tokens <= 16), which is how evaluation harnesses score
// multiple choice.
double LogprobValue(const DistillParams& p, const RequestBody& b) {
  const int64_t max = b.api == "completions" ? p.completions_logprobs_max : p.top_logprobs_max;
  if (b.logit_bias_count > 0 || (b.logprobs && b.top_logprobs >= max)) return 1;
  if (!b.logprobs) return 0;
  const double v = b.top_logprobs > 0 ? 0.5 : 0.25;
  return b.max_tokens >= 0 && b.max_tokens <= kShortAnswerTokens ? v * 0.1 : v;
}

// max_tokens against the input: prompt characters / 4 estimate its tokens.
bool OutputHeavy(const DistillParams& p, const RequestBody& b) {
  if (b.max_tokens < p.output_min_tokens) return false;
  const double input_tokens = std::max<double>(1, static_cast<double>(b.prompt_chars) / 4);
  return static_cast<double>(b.max_tokens) >= p.output_ratio * input_tokens;
}

// The request as the out-of-path analyzer sees it (engine/distill/
// feature_log.h gives the order): each feature scaled to about [0, 1].
AnalyzerSample AnalyzerFeatures(const DistillParams& p, const RequestFeatures& f,
                                const RequestBody& b, uint64_t key, int64_t wall_ms) {
  AnalyzerSample s;
  s.key = key;
  s.wall_ms = wall_ms;
  const double input_tokens = std::max<double>(1, static_cast<double>(b.prompt_chars) / 4);
  const double out = b.max_tokens > 0 ? static_cast<double>(b.max_tokens) : 0;
  const std::string_view e = b.reasoning_effort;
  double effort = e == "high" || e == "xhigh" ? 1 : e == "medium" ? 0.5 : e.empty() ? 0 : 0.25;
  if (b.thinking_budget > 0) effort = std::max(effort, std::min(1.0, b.thinking_budget / 16000.0));
  s.x = {static_cast<float>(f.harvest),
         f.cot ? 1.0f : 0.0f,
         static_cast<float>(f.logprob),
         static_cast<float>(out / (out + input_tokens)),
         static_cast<float>(std::min(1.0, out / static_cast<double>(ModelMaxOutput(p, b.model)))),
         static_cast<float>(b.n > 1 ? std::min<int64_t>(b.n, 8) / 8.0 : 0.125),
         static_cast<float>(b.temperature >= 0 ? std::min(2.0, b.temperature) / 2 : 0.5),
         static_cast<float>(effort)};
  return s;
}

}  // namespace

// The hash of the client's address range (ip/24/48 by default): the
// address masked to the range's bits, hashed as bytes (ScopeValue would
// print it first). An address that does not parse is hashed as written.
uint64_t AddressRangeHash(const CompetitorTrainingRule::AddressMasks& masks, const std::string& ip) {
  std::array<uint8_t, 16> addr;
  if (!ParseIp(ip, &addr)) return HashId(ip);
  const uint64_t lo = Load8(addr.data()), hi = Load8(addr.data() + 8);
  // ::ffff:a.b.c.d: ten zero bytes, then two 0xff.
  const bool v4 = lo == 0 && addr[8] == 0 && addr[9] == 0 && addr[10] == 0xff && addr[11] == 0xff;
  const CompetitorTrainingRule::AddressMasks::Mask& m = v4 ? masks.v4 : masks.v6;
  const uint64_t masked[2] = {lo & m.lo, hi & m.hi};
  std::memcpy(addr.data(), masked, 16);
  return HashId(std::string_view(reinterpret_cast<const char*>(addr.data()), addr.size())) ^
         static_cast<uint64_t>(m.bits);
}

uint64_t BehaviorKey(std::string_view rule_id, std::string_view account_id) {
  return MixHash(HashId(rule_id) * 31 ^ HashId(account_id));
}

CompetitorTrainingRule::CompetitorTrainingRule(RuleCommon common, DistillConfig config)
    : Rule(std::move(common)),
      config_(std::move(config)),
      rule_hash_(HashId(this->common().id)),
      ip_masks_(AddressMasks::For(config_.ip_range)),
      throttle_key_prefix_(this->common().id + "|distill|" + config_.throttle.Signature() + "|"),
      throttle_described_(config_.throttle.Describe()) {
  for (int i = 0; i < kSignals; ++i)
    signal_leads_[i] = (i ? ", " : " ") + std::string(SignalName(static_cast<Signal>(i))) + " +";
}

CompetitorTrainingRule::AddressMasks CompetitorTrainingRule::AddressMasks::For(const ScopeItem& range) {
  // The first `bits` bits of 16 bytes (an IPv4 address's range counts the
  // 96 bits of its ::ffff: prefix too).
  auto mask = [](int bits) {
    std::array<uint8_t, 16> bytes;
    for (int i = 0; i < 16; ++i)
      bytes[i] = static_cast<uint8_t>(0xff00 >> std::clamp(bits - 8 * i, 0, 8));
    Mask m;
    m.lo = Load8(bytes.data());
    m.hi = Load8(bytes.data() + 8);
    m.bits = bits;
    return m;
  };
  return {mask(96 + range.v4_bits), mask(range.v6_bits)};
}

bool CompetitorTrainingRule::Exempt(const Account& a) const {
  if (Contains(config_.exempt_accounts, a.id)) return true;
  if (!a.org.empty() && Contains(config_.exempt_orgs, a.org)) return true;
  for (const std::string& f : a.flags)
    if (Contains(config_.exempt_flags, f)) return true;
  return false;
}

// What the request shows on its own: the fingerprint, topic and scripts of
// its text, whether it asks for chain-of-thought, logprobs, long outputs.
Status CompetitorTrainingRule::Features(const RuleContext& ctx, RequestFeatures* f) const {
  const DistillParams& p = config_.params;
  const RequestBody& body = ctx.eval.request.body;
  const uint32_t lo = config_.lexicon_first, hi = lo + config_.lexicon_count;
  auto any_cot = [&](const std::vector<ContentHit>& hits) {
    return std::any_of(hits.begin(), hits.end(),
                       [&](const ContentHit& h) { return h.id >= lo && h.id < hi; });
  };
  // The lexicon lives in the snapshot's one content database: when content
  // rules already scanned the whole prompt (or its user and system parts)
  // for this request, their hits answer it, and the text need not be
  // folded for a scan of its own.
  const bool lexicon = config_.lexicon_count > 0 && config_.lexicon;
  bool answered = false;
  if (lexicon && ctx.content) {
    const ContentScans::Scan* all = ctx.content->Done(*config_.lexicon, ContentScope::kAll);
    if (all && all->ok) {
      f->cot = any_cot(all->hits);
      answered = true;
    } else if (!body.user_text.empty()) {
      const ContentScans::Scan* user_scan = ctx.content->Done(*config_.lexicon, ContentScope::kUser);
      const ContentScans::Scan* system_scan =
          body.system_text.empty() ? nullptr
                                   : ctx.content->Done(*config_.lexicon, ContentScope::kSystem);
      if (user_scan && user_scan->ok &&
          (body.system_text.empty() || (system_scan && system_scan->ok))) {
        f->cot = any_cot(user_scan->hits) || (system_scan && any_cot(system_scan->hits));
        answered = true;
      }
    }
  }
  thread_local std::string folded;
  folded.clear();
  const bool model = config_.model && config_.model_label >= 0;
  const bool scan = lexicon && !answered;
  const bool fold = scan || model;
  TextFeatures text;
  TextExtractor x(p.shingle_words, fold ? &folded : nullptr, p.skeleton_words);
  x.Fold(std::string_view(body.system_text).substr(0, kSystemBytes));
  // Where the user text starts in `folded` (past the space after the system text).
  const size_t user_from = folded.empty() ? 0 : folded.size() + 1;
  // At most max_bytes of user text: its first two thirds, where a
  // template's instructions are, and its last third, where the newest turn
  // and a template's varying slot are.
  std::string_view user = body.user_text.empty() ? body.prompt_text : body.user_text;
  const auto budget = static_cast<size_t>(p.max_bytes);
  if (user.size() > budget) {
    const size_t tail = budget / 3;
    x.Hash(user.substr(0, budget - tail));
    x.Hash(user.substr(user.size() - tail));
  } else {
    x.Hash(user);
  }
  x.Finish(&text);
  f->has_simhash = text.has_simhash;
  f->simhash = text.simhash;
  f->scripts = text.scripts;
  f->topic = text.topic;
  if (scan && !folded.empty()) {
    const ContentDatabase* db = config_.lexicon->database();
    thread_local std::vector<ContentHit> hits;
    if (!db || !db->Scan(folded, &hits)) return Status::Internal("lexicon scan failed (Hyperscan)");
    f->cot = any_cot(hits);
  }
  const bool edges = p.link_instructions || p.link_pooled;
  f->head = edges ? text.head : 0;
  f->tail = edges ? text.tail : 0;
  double probability = 0;
  // A request that may return at most 16 tokens (max_tokens 0-16: an
  // evaluation harness scoring a multiple-choice item by a letter's logprob)
  // returns no reasoning and no long answer, whatever its text asks: its
  // text is not harvest evidence, and the model is not run. Logprob
  // harvesting is logprob_harvest's to judge.
  const bool short_answer = body.max_tokens >= 0 && body.max_tokens <= kShortAnswerTokens;
  if (model && !short_answer) {
    // The model reads what the fingerprint read: the folded start and end
    // of the user text (max_bytes), where a harvest template's
    // instructions are. The folding is not NormalizeForMatch, which the
    // model was trained on, but agrees with it on what matters here (case,
    // separators, ASCII words) at a fraction of its cost; digits are 0.
    thread_local TextModelScratch scratch;
    thread_local std::vector<float> probs;
    std::string_view scored = std::string_view(folded).substr(std::min(folded.size(), user_from));
    config_.model->ScoreNormalized(scored, &scratch, &probs);
    if (static_cast<size_t>(config_.model_label) < probs.size()) {
      probability = probs[config_.model_label];
      f->harvest = HarvestValue(p, probability);
    }
  }
  f->logprob = LogprobValue(p, body);
  f->output_heavy = OutputHeavy(p, body);
  f->long_one_turn = f->output_heavy && body.message_count <= 2;
  f->pooled = f->long_one_turn ? probability : 0;
  f->shape = ShapeValue(p, body);
  return Status::Ok();
}

// The buckets one request links its account into, in three groups:
// [0, kBands) the template bands, which count only for a near-duplicate
// (known once the record is read), then address, payment and device (known
// before the prompt is read, so they are prefetched), then from links_from
// the instruction and tool links, scored by LinkScore, from pooled_from the
// pooled-instruction buckets of every account (head, tail: the ends'
// document frequency), and from positive_from the skeleton buckets of the
// same ends in the same order, linked only for the ends that are the
// account's skeleton (known once the record is read): scored by
// SkeletonScore.
struct CompetitorTrainingRule::Links {
  static constexpr size_t kMax = kBands + 10;
  std::array<uint64_t, kMax> buckets;
  std::array<const char*, kMax> by;
  size_t n = kBands;
  size_t links_from = kBands;
  size_t pooled_from = kBands;
  size_t positive_from = kBands;
  void Add(uint64_t rule_hash, uint64_t bucket, const char* what) {
    buckets[n] = MixHash(bucket ^ rule_hash);
    by[n++] = what;
  }
};

// What the visit to the account's record found.
struct CompetitorTrainingRule::Scored {
  SignalArray scores{};
  uint32_t requests = 0;
  double cluster = 0;  // the largest bucket score of this request
  ClusterObservation best;
  const char* best_by = "";
  double pooled = 0;  // the largest pooled-instruction score of this request
  uint32_t pooled_accounts = 0;
};

// Address, payment and device: the links known from the request's identity.
void CompetitorTrainingRule::IdentityLinks(const RuleContext& ctx, Links* l) const {
  const Account& account = ctx.eval.account;
  if (config_.cluster_ip && !ctx.eval.request.client_ip.empty())
    l->Add(rule_hash_, AddressRangeHash(ip_masks_, ctx.eval.request.client_ip) ^ 0x1000000,
           "an address range");
  if (config_.cluster_payment && !account.payment_fingerprint.empty())
    l->Add(rule_hash_, HashId(account.payment_fingerprint) ^ 0x2000000, "a payment fingerprint");
  if (config_.cluster_device && !account.device_fingerprint.empty())
    l->Add(rule_hash_, HashId(account.device_fingerprint) ^ 0x3000000, "a device fingerprint");
}

// The template bands, and the instruction links: small groups of accounts
// that share harvest instructions around varying slots, or one tool schema.
void CompetitorTrainingRule::TextLinks(const RuleContext& ctx, const RequestFeatures& f,
                                       Links* l) const {
  for (size_t band = 0; band < kBands; ++band) {
    l->buckets[band] =
        MixHash(((f.simhash >> (16 * band) & 0xffff) | uint64_t(band + 1) << 16) ^ rule_hash_);
    l->by[band] = "a prompt template";
  }
  const DistillParams& p = config_.params;
  l->links_from = l->n;
  if (p.link_instructions && f.head)
    l->Add(rule_hash_, f.head ^ 0x4000000, "the opening words of an instruction");
  if (p.link_instructions && f.tail && f.tail != f.head)
    l->Add(rule_hash_, f.tail ^ 0x5000000, "the closing words of an instruction");
  if (p.link_tools && ctx.eval.request.body.tools_hash)
    l->Add(rule_hash_, ctx.eval.request.body.tools_hash ^ 0x6000000, "a tool schema");
  l->pooled_from = l->n;
  const bool tail = f.tail && f.tail != f.head;
  if (p.link_pooled && f.head) l->Add(rule_hash_, f.head ^ 0x7000000, nullptr);
  if (p.link_pooled && tail) l->Add(rule_hash_, f.tail ^ 0x8000000, nullptr);
  l->positive_from = l->n;
  if (p.link_pooled && f.long_one_turn && f.head && tail) {
    l->Add(rule_hash_, f.head ^ 0x9000000, nullptr);
    l->Add(rule_hash_, f.tail ^ 0xa000000, nullptr);
  }
}

// One visit to the account's record: its own history, then its clusters.
void CompetitorTrainingRule::VisitAccount(const RuleContext& ctx, uint64_t key, uint64_t who,
                                          const RequestFeatures& f, const Links& l,
                                          Scored* out) const {
  const DistillParams& p = config_.params;
  const int64_t now = ctx.eval.now_ns;
  const float suspicion = static_cast<float>(RequestSuspicion(p, f));
  const float evidence = static_cast<float>(RequestEvidence(f));
  ctx.behavior->Update(key, now, [&](AccountBehavior& st) {
    const bool near = Observe(p, f, now, ctx.eval.wall_ms, &st);
    const size_t first = config_.cluster_templates && near ? 0 : kBands;
    std::array<ClusterObservation, Links::kMax> seen;
    ctx.behavior->LinkMany(l.buckets.data() + first, l.links_from - first, who, suspicion, now,
                           seen.data() + first);
    // Instruction buckets average the request's harvest evidence.
    ctx.behavior->LinkMany(l.buckets.data() + l.links_from, l.pooled_from - l.links_from, who,
                           evidence, now, seen.data() + l.links_from);
    // Pooled instructions: every end counts its accounts; an end that is
    // this account's skeleton counts it among the skeleton's accounts and
    // mixes in the model's probability. They count towards `sequential`.
    ctx.behavior->LinkMany(l.buckets.data() + l.pooled_from, l.positive_from - l.pooled_from, who,
                           0, now, seen.data() + l.pooled_from);
    const uint8_t skeletons = l.n > l.positive_from ? ObserveEdges(p, f, &st) : 0;
    for (size_t i = l.positive_from; i < l.n; ++i) {
      if (!(skeletons >> (i - l.positive_from) & 1)) continue;
      seen[i] = ctx.behavior->Link(l.buckets[i], who, static_cast<float>(f.pooled), now);
      const double s =
          SkeletonScore(p, seen[l.pooled_from + (i - l.positive_from)].accounts, seen[i]);
      if (s > out->pooled) {
        out->pooled = s;
        out->pooled_accounts = seen[i].accounts;
      }
    }
    for (size_t i = first; i < l.pooled_from; ++i) {
      const double s = i < l.links_from ? ClusterScore(p, seen[i]) : LinkScore(p, seen[i]);
      if (s > out->cluster || (s == out->cluster && seen[i].accounts > out->best.accounts)) {
        out->cluster = s;
        out->best = seen[i];
        out->best_by = l.by[i];
      }
    }
    const double kept = std::max(out->cluster, st.cluster * kClusterDecay);
    st.cluster = static_cast<float>(kept);
    out->scores = Scores(p, st);
    out->scores[static_cast<int>(Signal::kCluster)] = kept;
    out->scores[static_cast<int>(Signal::kAnalyzer)] = AnalyzerScore(p, st, ctx.eval.wall_ms);
    if (l.n > l.pooled_from || st.pooled > 0) {
      st.pooled = static_cast<float>(std::max(out->pooled, st.pooled * kClusterDecay));
      double& sequential = out->scores[static_cast<int>(Signal::kSequential)];
      sequential = std::max(sequential, static_cast<double>(st.pooled));
    }
    out->requests = st.requests;
  });
}

Status CompetitorTrainingRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  if (!ctx.behavior) return Status::Ok();
  const Account& account = ctx.eval.account;
  if (account.id.empty() || Exempt(account)) return Status::Ok();

  // The store starts loading the account's record and its identity buckets
  // now, while the prompt is read.
  const uint64_t who = HashId(account.id);
  const uint64_t key = MixHash(rule_hash_ * 31 ^ who);
  Links links;
  IdentityLinks(ctx, &links);
  ctx.behavior->Prefetch(key, links.buckets.data() + kBands, links.n - kBands);

  RequestFeatures f;
  if (ctx.eval.request.body.present) {
    if (Status s = Features(ctx, &f); !s.ok()) return s;
  }
  TextLinks(ctx, f, &links);
  Scored scored;
  VisitAccount(ctx, key, who, f, links, &scored);
  GateByEvidence(&scored.scores);
  if (ctx.feature_log)
    ctx.feature_log->Append(
        AnalyzerFeatures(config_.params, f, ctx.eval.request.body, key, ctx.eval.wall_ms));

  SignalArray contributions{};
  const double risk = Risk(config_.params.weights, scored.scores, &contributions);
  out->risk = risk;
  // The highest threshold reached decides.
  int reached = -1;
  for (int i = 0; i < kDistillActions; ++i)
    if (config_.thresholds[i] >= 0 && risk >= config_.thresholds[i]) reached = i;
  if (reached < 0) return Status::Ok();
  const char* throttled = nullptr;
  if (Status s = Act(ctx, risk, reached, out, &throttled); !s.ok()) return s;
  Explain(risk, reached, scored, contributions, out);
  if (throttled) {
    out->detail += throttled;
    out->detail += throttle_described_;
  }
  return Status::Ok();
}

// The action of the highest threshold reached; a throttled account under
// its reduced rate is admitted with the strongest admitting action.
Status CompetitorTrainingRule::Act(const RuleContext& ctx, double risk, int reached,
                                   RuleOutcome* out, const char** throttled) const {
  const int kWatermarkAt = 1, kThrottleAt = 3;
  Action action = kDistillActionOrder[reached];
  if (action == Action::kThrottle) {
    const int64_t now = ctx.eval.now_ns;
    std::string meter_key = throttle_key_prefix_ + ctx.eval.account.id;
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
      action = Action::kFlag;
      for (int i = kThrottleAt - 1; i >= 0; --i)
        if (config_.thresholds[i] >= 0) {
          action = kDistillActionOrder[i];
          break;
        }
      *throttled = "; within the reduced rate ";
    } else {
      out->retry_after_ms = CeilDiv(r->retry_after_ns, 1'000'000);
      *throttled = "; held to ";
    }
  }
  out->matched = true;
  out->action = action;
  if (config_.thresholds[kWatermarkAt] >= 0 && risk >= config_.thresholds[kWatermarkAt] &&
      action != Action::kDeny && action != Action::kThrottle) {
    Line value;
    value.Fixed2(risk);
    out->watermark = common().id;
    out->watermark += ";risk=";
    out->watermark += value.view();
  }
  return Status::Ok();
}

// The explanation, written without printf: it is built for every match.
void CompetitorTrainingRule::Explain(double risk, int reached, const Scored& scored,
                                     const SignalArray& contributions, RuleOutcome* out) const {
  Line d;
  d << "risk ";
  d.Fixed2(risk) << " >= " << ActionName(kDistillActionOrder[reached]) << " ";
  d.Fixed2(config_.thresholds[reached]) << ":";
  for (int i = 0; i < kSignals; ++i) {
    d << signal_leads_[i];
    d.Fixed2(contributions[i]) << " (score ";
    d.Fixed2(scored.scores[i]) << ")";
  }
  if (scored.cluster > 0 && *scored.best_by) {
    d << "; ~";
    d.Uint(scored.best.accounts) << " accounts share " << scored.best_by;
  }
  if (scored.pooled > 0) {
    d << "; ~";
    d.Uint(scored.pooled_accounts) << " accounts share an instruction skeleton asking for long answers";
  }
  d << "; ";
  d.Uint(scored.requests) << " requests seen";
  out->detail = d.view();
}

}  // namespace tosgate::engine
