// competitor_training: per-account and cross-account signals of
// distillation combined into a risk score, acted on by threshold.
//
//   exempt: {accounts: [acct_research_1], flags: [research-partner], orgs: []}
//   exempt_accounts: [acct_research_1]          # the same as exempt.accounts
//   signals: {template_rate: 0.35, cot_elicitation: 0.35, logprob_harvest: 0.45,
//             output_heavy: 0.2, volume: 0.1, timing_regular: 0.15,
//             spread: 0.1, cluster: 0.4}         # weights; omitted = default
//   window: {requests: 32, min_requests: 10}
//   template: {max_distance: 14, max_bytes: 256, shingle_words: 3}
//   cot_phrases: ["reason aloud"]               # added to the built-in lexicon
//   cluster: {min_accounts: 10, full_accounts: 100, by: [template, ip/24, payment, device]}
//   thresholds: {flag: 0.5, watermark: 0.6, review: 0.7, throttle: 0.8, deny: 0.95}
//   throttle: {requests: 10, per: 1m}
//   model: {file: models/harvest.model, label: harvest, threshold: 0.5}
//   sequential: {reference: 0.35, threshold: 25}
//   linkage: {min_accounts: 3, full_accounts: 8, floor: 0.3, by: [instructions, tools],
//             skeleton: {words: 6, repeats: 3, of_last: 8, common_accounts: 32,
//                        share_from: 0.2, share_full: 0.5, belief_from: 0.15, belief_full: 0.45,
//                        enter_from: 0}}
//   shape: {default_max_output: 16384}
//   analyzer: {half_life: 1h}
//
// docs/distillation.md describes each key; every error names file:line:column.
#include "engine/rules/competitor_training.h"

#include <cmath>

#include "engine/distill/text_features.h"
#include "engine/textmodel/text_model.h"

#include "policies/content_set.h"
#include "policies/kinds/kinds.h"

namespace tosgate::policies {
namespace {

// Phrases that ask a model to show its reasoning: what a campaign collecting
// chain-of-thought data sends. Matched as phrases over folded text.
constexpr std::string_view kCotLexicon[] = {
    "step by step",
    "think step by step",
    "show your reasoning",
    "explain your reasoning",
    "chain of thought",
    "show your work",
    "reason through",
    "walk me through",
    "think through",
    "your thought process",
    "reasoning process",
    "before answering",
    "detailed reasoning",
    "explain each step",
    "think carefully",
    "let s think",
    "show all steps",
    "full reasoning",
    "rationale",
    "justify each step",
    "your reasoning",
    "the reasoning behind",
    "include the reasoning",
    "complete reasoning",
};

constexpr std::string_view kThresholdNames[] = {"flag", "watermark", "review", "throttle", "deny"};

bool IntIn(Context& ctx, const Field& f, int64_t lo, int64_t hi, std::string_view what, int* out) {
  int64_t v = 0;
  if (!ctx.Int(f, &v)) return false;
  if (v < lo || v > hi) {
    ctx.Error(f, std::string(what) + " must be from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", got " + std::to_string(v));
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool CompileWeights(Context& ctx, const Field& f, engine::SignalArray* weights) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  bool ok = true;
  for (MapReader::Entry& e : m.TakeAll()) {
    int which = -1;
    for (int i = 0; i < engine::kSignals; ++i)
      if (e.key == engine::SignalName(static_cast<engine::Signal>(i))) which = i;
    if (which < 0) {
      std::string names;
      for (int i = 0; i < engine::kSignals; ++i)
        names += (i ? ", " : "") + std::string(engine::SignalName(static_cast<engine::Signal>(i)));
      ctx.Error(e.key_mark, e.value.path, "unknown signal \"" + e.key + "\"; expected " + names);
      ok = false;
      continue;
    }
    double w = 0;
    if (!ctx.Number(e.value, &w)) {
      ok = false;
    } else if (w < 0 || w > 1) {
      ctx.Error(e.value,
                "a signal weight must be from 0 to 1 (its most a signal adds to the risk)");
      ok = false;
    } else {
      (*weights)[which] = w;
    }
  }
  return ok;
}

bool CompileThresholds(Context& ctx, const Field& f, std::array<double, 5>* out) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  bool ok = true;
  int any = 0;
  double prev = -1;
  std::string prev_name;
  for (int i = 0; i < engine::kDistillActions; ++i) {
    std::optional<Field> v = m.Take(kThresholdNames[i]);
    if (!v) continue;
    double t = 0;
    if (!ctx.Number(*v, &t)) {
      ok = false;
      continue;
    }
    if (t <= 0 || t > 1) {
      ctx.Error(*v, "a threshold is a risk above 0 and at most 1, got " + v->node.Scalar());
      ok = false;
      continue;
    }
    if (t < prev) {
      ctx.Error(*v, std::string(kThresholdNames[i]) + " " + v->node.Scalar() + " is below " +
                        prev_name + " " + std::to_string(prev).substr(0, 4) +
                        "; thresholds rise in the order flag, watermark, review, throttle, deny");
      ok = false;
    }
    (*out)[i] = t;
    prev = t;
    prev_name = kThresholdNames[i];
    ++any;
  }
  m.RejectUnknown();
  if (ok && any == 0) {
    ctx.Error(f, "thresholds needs at least one of flag, watermark, review, throttle, deny");
    ok = false;
  }
  return ok;
}

bool CompileCluster(Context& ctx, const Field& f, engine::DistillConfig* c) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  bool ok = true;
  if (std::optional<Field> v = m.Take("min_accounts"))
    ok = IntIn(ctx, *v, 2, 100000, "min_accounts", &c->params.cluster_min) && ok;
  if (std::optional<Field> v = m.Take("full_accounts"))
    ok = IntIn(ctx, *v, 3, 100000, "full_accounts", &c->params.cluster_full) && ok;
  if (ok && c->params.cluster_full <= c->params.cluster_min) {
    ctx.Error(f, "full_accounts (" + std::to_string(c->params.cluster_full) +
                     ") must be above min_accounts (" + std::to_string(c->params.cluster_min) +
                     ")");
    ok = false;
  }
  if (std::optional<Field> by = m.Take("by")) {
    std::vector<Field> items;
    if (ctx.Sequence(*by, &items)) {
      c->cluster_templates = c->cluster_ip = c->cluster_payment = c->cluster_device = false;
      for (const Field& item : items) {
        std::string name;
        if (!ctx.String(item, &name)) {
          ok = false;
        } else if (name == "template") {
          c->cluster_templates = true;
        } else if (name == "payment") {
          c->cluster_payment = true;
        } else if (name == "device") {
          c->cluster_device = true;
        } else if (name == "ip" || name.starts_with("ip/")) {
          std::string why;
          engine::ScopeItem ip;
          if (!engine::ParseScopeItem(name, &ip, &why)) {
            ctx.Error(item, why);
            ok = false;
          } else {
            c->cluster_ip = true;
            c->ip_range = ip;
          }
        } else {
          ctx.Error(item, "unknown cluster link \"" + name +
                              "\"; expected template, ip, ip/N, payment or device");
          ok = false;
        }
      }
    } else {
      ok = false;
    }
  }
  m.RejectUnknown();
  return ok;
}

bool NumberIn(Context& ctx, const Field& f, double lo, double hi, std::string_view what,
              double* out) {
  double v = 0;
  if (!ctx.Number(f, &v)) return false;
  if (v < lo || v > hi) {
    ctx.Error(f, std::string(what) + " must be from " + std::to_string(lo).substr(0, 5) + " to " +
                     std::to_string(hi).substr(0, 8) + ", got " + f.node.Scalar());
    return false;
  }
  *out = v;
  return true;
}

// model: {file, label, threshold}: the file is read relative to the
// policy file, as list files are, and feeds the set's revision.
void CompileModel(Context& ctx, const Field& f, engine::DistillConfig* c) {
  MapReader m(ctx, f);
  if (!m.ok()) return;
  std::optional<Field> file = m.Require("file");
  std::string label = "harvest";
  std::optional<Field> label_field = m.Take("label");
  if (label_field) (void)ctx.String(*label_field, &label);
  if (std::optional<Field> v = m.Take("threshold"))
    (void)NumberIn(ctx, *v, 0.01, 1, "model.threshold", &c->params.harvest_threshold);
  m.RejectUnknown();
  std::string path;
  if (!file || !ctx.String(*file, &path)) return;
  // Read and parsed once per set, however many rules name it (the
  // classifier tier of content rules reads models the same way).
  std::string why = "model file \"" + path + "\" not found (paths are relative to this file)";
  if (ctx.content_set()) c->model = ctx.content_set()->Model(ctx.file(), path, &why);
  if (!c->model) {
    ctx.Error(*file, why);
    return;
  }
  c->model_label = c->model->LabelIndex(label);
  if (c->model_label < 0) {
    std::string labels;
    for (const std::string& l : c->model->labels()) labels += (labels.empty() ? "" : ", ") + l;
    ctx.Error(label_field ? *label_field : *file,
              "the model has no label \"" + label + "\"; it has " + labels);
    c->model.reset();
  }
}

// A pair of `*_from` / `*_full` values from 0 to 1, full above from.
void CompileRamp(MapReader& m, Context& ctx, std::string_view name, double* from, double* full) {
  const std::string from_key = std::string(name) + "_from", full_key = std::string(name) + "_full";
  std::optional<Field> lo = m.Take(from_key), hi = m.Take(full_key);
  bool ok = true;
  if (lo) ok = NumberIn(ctx, *lo, 0, 1, "linkage.skeleton." + from_key, from) && ok;
  if (hi) ok = NumberIn(ctx, *hi, 0, 1, "linkage.skeleton." + full_key, full) && ok;
  if (ok && (lo || hi) && *full <= *from)
    ctx.Error(hi ? *hi : *lo, "linkage.skeleton." + full_key + " (" +
                                  std::to_string(*full).substr(0, 4) + ") must be above " +
                                  from_key + " (" + std::to_string(*from).substr(0, 4) + ")");
}

// linkage.skeleton: the constants of pooled_instructions' instruction
// skeletons (docs/distillation.md, "Pooled instructions").
void CompileSkeleton(Context& ctx, const Field& f, engine::DistillParams* p) {
  MapReader m(ctx, f);
  if (!m.ok()) return;
  if (std::optional<Field> v = m.Take("words"))
    (void)IntIn(ctx, *v, 2, engine::kMaxEdgeWords, "linkage.skeleton.words", &p->skeleton_words);
  std::optional<Field> of_last = m.Take("of_last");
  if (of_last)
    (void)IntIn(ctx, *of_last, 2, engine::kEdgeRing,
                "linkage.skeleton.of_last (the ring of an account's record bounds it)",
                &p->skeleton_ring);
  if (std::optional<Field> v = m.Take("repeats");
      v && IntIn(ctx, *v, 1, engine::kEdgeRing, "linkage.skeleton.repeats", &p->skeleton_repeats) &&
      p->skeleton_repeats > p->skeleton_ring)
    ctx.Error(*v, "linkage.skeleton.repeats " + std::to_string(p->skeleton_repeats) +
                      " is more than of_last " + std::to_string(p->skeleton_ring) +
                      "; an end could never come back that often");
  if (std::optional<Field> v = m.Take("common_accounts"))
    (void)IntIn(ctx, *v, 1, 1'000'000, "linkage.skeleton.common_accounts", &p->skeleton_common);
  if (std::optional<Field> v = m.Take("enter_from"))
    (void)NumberIn(ctx, *v, 0, 1, "linkage.skeleton.enter_from", &p->skeleton_enter);
  CompileRamp(m, ctx, "share", &p->pooled_floor, &p->pooled_full);
  CompileRamp(m, ctx, "belief", &p->pooled_cut, &p->pooled_sure);
  m.RejectUnknown();
}

void CompileLinkage(Context& ctx, const Field& f, engine::DistillParams* p) {
  MapReader m(ctx, f);
  if (!m.ok()) return;
  bool ok = true;
  if (std::optional<Field> v = m.Take("min_accounts"))
    ok = IntIn(ctx, *v, 2, 100000, "linkage.min_accounts", &p->link_min) && ok;
  if (std::optional<Field> v = m.Take("full_accounts"))
    ok = IntIn(ctx, *v, 2, 100000, "linkage.full_accounts", &p->link_full) && ok;
  if (ok && p->link_full < p->link_min)
    ctx.Error(f, "linkage.full_accounts (" + std::to_string(p->link_full) +
                     ") must not be below min_accounts (" + std::to_string(p->link_min) + ")");
  if (std::optional<Field> v = m.Take("floor"))
    (void)NumberIn(ctx, *v, 0, 0.95, "linkage.floor", &p->link_floor);
  if (std::optional<Field> by = m.Take("by")) {
    std::vector<Field> items;
    if (ctx.Sequence(*by, &items)) {
      p->link_instructions = p->link_tools = p->link_pooled = false;
      for (const Field& item : items) {
        size_t i = 0;
        if (!ctx.Enum(item, {"instructions", "tools", "pooled_instructions"}, &i)) continue;
        (i == 0 ? p->link_instructions : i == 1 ? p->link_tools : p->link_pooled) = true;
      }
    }
  }
  if (std::optional<Field> sk = m.Take("skeleton")) CompileSkeleton(ctx, *sk, p);
  m.RejectUnknown();
}

void CompileExempt(MapReader& rule, Context& ctx, engine::DistillConfig* c) {
  if (std::optional<Field> ex = rule.Take("exempt")) {
    MapReader m(ctx, *ex);
    if (m.ok()) {
      if (std::optional<Field> v = m.Take("accounts")) (void)ctx.StringList(*v, &c->exempt_accounts);
      if (std::optional<Field> v = m.Take("flags")) (void)ctx.StringList(*v, &c->exempt_flags);
      if (std::optional<Field> v = m.Take("orgs")) (void)ctx.StringList(*v, &c->exempt_orgs);
      m.RejectUnknown();
    }
  }
  if (std::optional<Field> v = rule.Take("exempt_accounts")) {
    std::vector<std::string> more;
    if (ctx.StringList(*v, &more))
      c->exempt_accounts.insert(c->exempt_accounts.end(), more.begin(), more.end());
  }
}

void CompileWindow(Context& ctx, const Field& w, engine::DistillParams* p) {
  MapReader m(ctx, w);
  if (!m.ok()) return;
  if (std::optional<Field> v = m.Take("requests"))
    (void)IntIn(ctx, *v, 2, engine::kFingerprintRing,
                "window.requests (the fingerprint ring's size bounds it)", &p->window);
  std::optional<Field> min = m.Take("min_requests");
  if (min && IntIn(ctx, *min, 1, 100000, "min_requests", &p->min_requests) &&
      p->min_requests > 4 * p->window)
    ctx.Error(*min, "min_requests " + std::to_string(p->min_requests) +
                        " is more than four windows of " + std::to_string(p->window) +
                        " requests; the rates forget older requests");
  m.RejectUnknown();
}

void CompileTemplate(Context& ctx, const Field& t, engine::DistillParams* p) {
  MapReader m(ctx, t);
  if (!m.ok()) return;
  if (std::optional<Field> v = m.Take("max_distance"))
    (void)IntIn(ctx, *v, 0, 32, "max_distance (bits of 64)", &p->max_distance);
  if (std::optional<Field> v = m.Take("max_bytes"))
    (void)IntIn(ctx, *v, 64, 65536, "max_bytes", &p->max_bytes);
  if (std::optional<Field> v = m.Take("shingle_words"))
    (void)IntIn(ctx, *v, 1, 8, "shingle_words", &p->shingle_words);
  m.RejectUnknown();
}

// The built-in chain-of-thought lexicon and the rule's `cot_phrases`, with
// where each was written (for match explanations).
void CompileLexicon(MapReader& rule, Context& ctx, std::vector<engine::ContentPattern>* lexicon,
                    std::vector<ContentSet::Source>* sources) {
  const ContentSet::Source here{ctx.file(), rule.field().mark.line + 1,
                                rule.field().mark.column + 1, rule.field().path};
  for (size_t i = 0; i < std::size(kCotLexicon); ++i) {
    lexicon->push_back({"cot:" + std::to_string(i), engine::ContentPattern::Type::kPhrase,
                        std::string(kCotLexicon[i])});
    sources->push_back(here);
  }
  std::optional<Field> phrases = rule.Take("cot_phrases");
  std::vector<Field> items;
  if (!phrases || !ctx.Sequence(*phrases, &items)) return;
  for (const Field& item : items) {
    engine::ContentPattern pat{"cot:" + std::to_string(lexicon->size()),
                               engine::ContentPattern::Type::kPhrase, ""};
    if (!ctx.String(item, &pat.text)) continue;
    if (std::string why = engine::CheckContentPattern(pat); !why.empty()) {
      ctx.Error(item, "phrase \"" + pat.text + "\" is rejected: " + why);
      continue;
    }
    lexicon->push_back(std::move(pat));
    sources->push_back({ctx.file(), item.mark.line + 1, item.mark.column + 1, item.path});
  }
}

// sequential:, shape: and analyzer:, three small maps of tuning values.
void CompileTuning(MapReader& rule, Context& ctx, engine::DistillParams* p) {
  if (std::optional<Field> sq = rule.Take("sequential")) {
    MapReader m(ctx, *sq);
    if (m.ok()) {
      if (std::optional<Field> v = m.Take("reference"))
        (void)NumberIn(ctx, *v, 0.01, 0.99, "sequential.reference", &p->sequential_reference);
      if (std::optional<Field> v = m.Take("threshold"))
        (void)NumberIn(ctx, *v, 1, 100000, "sequential.threshold", &p->sequential_threshold);
      m.RejectUnknown();
    }
  }
  if (std::optional<Field> sh = rule.Take("shape")) {
    MapReader m(ctx, *sh);
    if (m.ok()) {
      int max = 0;
      if (std::optional<Field> v = m.Take("default_max_output");
          v && IntIn(ctx, *v, 16, 10'000'000, "shape.default_max_output", &max))
        p->default_max_output = max;
      m.RejectUnknown();
    }
  }
  if (std::optional<Field> an = rule.Take("analyzer")) {
    MapReader m(ctx, *an);
    if (m.ok()) {
      int64_t ns = 0;
      if (std::optional<Field> v = m.Take("half_life"); v && ctx.Duration(*v, &ns) && ns > 0)
        p->analyzer_half_life_s = static_cast<double>(ns) / 1e9;
      m.RejectUnknown();
    }
  }
}

void CompileThrottle(Context& ctx, const Field& th, engine::DistillConfig* c) {
  MapReader m(ctx, th);
  if (!m.ok()) return;
  std::optional<Field> n = m.Require("requests");
  std::optional<Field> per = m.Require("per");
  int amount = 0;
  if (n && IntIn(ctx, *n, 1, 1'000'000'000, "throttle requests", &amount))
    c->throttle.amount = amount;
  if (per && ctx.Duration(*per, &c->throttle.per_ns) && c->throttle.per_ns <= 0)
    ctx.Error(*per, "per must be longer than 0");
  m.RejectUnknown();
}

// Weights that cannot reach the lowest threshold, or that swamp every
// threshold at once, are mistakes.
void CheckWeights(Context& ctx, const Field& at, const engine::DistillConfig& c,
                  bool thresholds_ok) {
  double sum = 0, keep = 1;
  for (double w : c.params.weights) sum += w, keep *= 1 - w;
  if (sum == 0) {
    ctx.Error(at, "every signal weight is 0; the risk would always be 0");
  } else if (sum > 6) {
    ctx.Error(at, "signal weights add up to " + std::to_string(sum).substr(0, 4) +
                      "; above 6, a few weak signals together reach any threshold");
  } else if (thresholds_ok) {
    double lowest = 2;
    for (double t : c.thresholds)
      if (t >= 0) lowest = std::min(lowest, t);
    if (1 - keep < lowest)
      ctx.Error(at, "with these weights the risk reaches at most " +
                        std::to_string(1 - keep).substr(0, 4) + ", below the lowest threshold " +
                        std::to_string(lowest).substr(0, 4));
  }
}

}  // namespace

std::unique_ptr<engine::Rule> CompileCompetitorTraining(MapReader& rule, Context& ctx,
                                                        engine::RuleCommon common) {
  const int errors_before = ctx.error_count();
  engine::DistillConfig c;
  engine::DistillParams& p = c.params;
  c.throttle.kind = engine::LimitKind::kWindow;
  c.throttle.amount = 10;
  c.throttle.per_ns = 60'000'000'000;

  CompileExempt(rule, ctx, &c);
  std::optional<Field> signals = rule.Take("signals");
  if (signals) (void)CompileWeights(ctx, *signals, &p.weights);
  if (std::optional<Field> w = rule.Take("window")) CompileWindow(ctx, *w, &p);
  if (std::optional<Field> t = rule.Take("template")) CompileTemplate(ctx, *t, &p);
  std::vector<engine::ContentPattern> lexicon;
  std::vector<ContentSet::Source> sources;
  CompileLexicon(rule, ctx, &lexicon, &sources);
  if (std::optional<Field> cl = rule.Take("cluster")) (void)CompileCluster(ctx, *cl, &c);
  if (std::optional<Field> v = rule.Take("model")) CompileModel(ctx, *v, &c);
  if (std::optional<Field> v = rule.Take("linkage")) CompileLinkage(ctx, *v, &p);
  CompileTuning(rule, ctx, &p);
  std::optional<Field> thresholds = rule.Require("thresholds");
  const bool thresholds_ok = thresholds && CompileThresholds(ctx, *thresholds, &c.thresholds);
  if (std::optional<Field> th = rule.Take("throttle")) CompileThrottle(ctx, *th, &c);
  CheckWeights(ctx, signals ? *signals : rule.field(), c, thresholds_ok);

  if (ctx.error_count() != errors_before) return nullptr;
  ContentSet* set = ctx.content_set();
  if (!set) {
    ctx.Error(rule.field(), "competitor_training rules compile only as part of a policy set");
    return nullptr;
  }
  c.lexicon_count = static_cast<uint32_t>(lexicon.size());
  c.lexicon = set->AddPatterns(lexicon, std::move(sources), &c.lexicon_first);
  return std::make_unique<engine::CompetitorTrainingRule>(std::move(common), std::move(c));
}

}  // namespace tosgate::policies
