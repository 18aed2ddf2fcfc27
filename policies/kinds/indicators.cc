// indicators: partners' campaign indicators (STIX 2.1 bundles) matched
// against each request's address and keyed payment and device fingerprints.
//
//   sources:                                   # read relative to this file
//     - {name: partner-a, file: indicators/partner-a.json, weight: 0.6}
//     - {name: partner-b, feed: partner-b}     # polled over TAXII by serve
//   key_file: keys/partners.key                # the partners' HMAC key
//   raise: {rule: distill.competitor-training, max: 0.8, cluster_full: 3}
//   allow_deny: false                          # action: deny needs true
//   template_distance: 12                      # template bits that may differ
//   shape_weight: 0.5                          # a shape match counts x this
//   record: true                               # keep prints for the export
//
// docs/indicators.md describes each key; every error names file:line:column.
#include "engine/indicators/indicators_rule.h"

#include <algorithm>

#include "policies/content_set.h"
#include "policies/kinds/kinds.h"
#include "policies/stix.h"

namespace tosgate::policies {
namespace {

bool ReadData(Context& ctx, const Field& f, const std::string& written, std::string* content) {
  std::string name, error;
  const ContentSet* set = ctx.content_set();
  if (written.empty() || !set || !set->read_data_file() ||
      !set->read_data_file()(ctx.file(), written, &name, content, &error)) {
    ctx.Error(f, "file \"" + written + "\" " +
                     (error.empty() || error == "not found"
                          ? std::string("not found (paths are relative to this file)")
                          : "cannot be read: " + error));
    return false;
  }
  return true;
}

// One source: a bundle file (compiled into `set` now) or a feed a TAXII
// poller fills (server/taxii_poller.h; its trust weight is the poller's,
// scaled by `weight` here, 1 by default).
bool CompileSource(Context& ctx, const Field& f, engine::IndicatorSet* set,
                   engine::IndicatorsConfig* c) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  std::string name, file, feed;
  bool ok = true;
  if (std::optional<Field> v = m.Require("name")) ok = ctx.String(*v, &name) && ok;
  std::optional<Field> file_field = m.Take("file");
  if (file_field) ok = ctx.String(*file_field, &file) && ok;
  std::optional<Field> feed_field = m.Take("feed");
  if (feed_field) ok = ctx.String(*feed_field, &feed) && ok;
  double weight = feed_field ? 1.0 : 0.5;
  if (std::optional<Field> v = m.Take("weight")) {
    if (!ctx.Number(*v, &weight)) {
      ok = false;
    } else if (weight < 0 || weight > 1) {
      ctx.Error(*v, "a source's weight (how far its indicators are trusted) must be from 0 to 1");
      ok = false;
    }
  }
  m.RejectUnknown();
  if (!file_field == !feed_field) {
    ctx.Error(f, "a source has either file (a bundle) or feed (a TAXII source of serve's indicators.sources)");
    return false;
  }
  if (!ok) return false;
  if (feed_field) {
    if (c->feeds.size() >= 8) {
      ctx.Error(*feed_field, "an indicators rule reads at most 8 feeds");
      return false;
    }
    c->feeds.push_back({engine::IndicatorFeedNamed(feed), weight});
    return true;
  }
  std::string content;
  if (!ReadData(ctx, *file_field, file, &content)) return false;
  StixImportReport report;
  // Expiry is checked per request against the engine's clock, not here:
  // a policy compiled now stays valid until its indicators run out.
  if (Status s = ImportStixBundle(content, name, weight, 0, StixLimits{}, set, &report); !s.ok()) {
    ctx.Error(*file_field, "bundle \"" + file + "\": " + s.message());
    return false;
  }
  return true;
}

bool CompileRaise(Context& ctx, const Field& f, engine::IndicatorsConfig* c) {
  MapReader m(ctx, f);
  if (!m.ok()) return false;
  bool ok = true;
  if (std::optional<Field> v = m.Require("rule")) ok = ctx.String(*v, &c->raise_rule) && ok;
  if (std::optional<Field> v = m.Take("max")) {
    if (!ctx.Number(*v, &c->raise_max)) {
      ok = false;
    } else if (c->raise_max < 0 || c->raise_max > 1) {
      ctx.Error(*v, "raise.max must be from 0 to 1");
      ok = false;
    }
  }
  if (std::optional<Field> v = m.Take("cluster_full")) {
    int64_t n = 0;
    if (!ctx.Int(*v, &n)) {
      ok = false;
    } else if (n < 1 || n > 10'000) {
      ctx.Error(*v, "raise.cluster_full must be from 1 to 10000");
      ok = false;
    } else {
      c->cluster_full = static_cast<int>(n);
    }
  }
  m.RejectUnknown();
  return ok;
}

}  // namespace

std::unique_ptr<engine::Rule> CompileIndicators(MapReader& rule, Context& ctx,
                                                engine::RuleCommon common) {
  engine::IndicatorsConfig c;
  auto set = std::make_shared<engine::IndicatorSet>();
  bool ok = true;
  if (std::optional<Field> v = rule.Require("sources")) {
    std::vector<Field> items;
    if (!ctx.Sequence(*v, &items)) {
      ok = false;
    } else {
      for (const Field& item : items) ok = CompileSource(ctx, item, set.get(), &c) && ok;
    }
  }
  if (std::optional<Field> v = rule.Take("key_file")) {
    std::string written, key;
    if (!ctx.String(*v, &written) || !ReadData(ctx, *v, written, &key)) {
      ok = false;
    } else {
      while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' '))
        key.pop_back();
      if (key.size() < 16) {
        ctx.Error(*v, "the key file holds " + std::to_string(key.size()) +
                          " bytes; a partners' key needs at least 16");
        ok = false;
      }
      c.key = std::move(key);
    }
  }
  if (std::optional<Field> v = rule.Take("raise")) ok = CompileRaise(ctx, *v, &c) && ok;
  if (std::optional<Field> v = rule.Take("template_distance")) {
    int64_t n = 0;
    if (!ctx.Int(*v, &n)) {
      ok = false;
    } else if (n < 0 || n > 24) {
      // Past 24 of 64 bits unrelated prompts start to match.
      ctx.Error(*v, "template_distance must be from 0 to 24 bits");
      ok = false;
    } else {
      c.template_distance = static_cast<int>(n);
    }
  }
  if (std::optional<Field> v = rule.Take("shape_weight")) {
    if (!ctx.Number(*v, &c.shape_weight)) {
      ok = false;
    } else if (c.shape_weight < 0 || c.shape_weight > 1) {
      ctx.Error(*v, "shape_weight must be from 0 to 1");
      ok = false;
    }
  }
  if (std::optional<Field> v = rule.Take("record")) {
    bool record = false;
    if (!ctx.Bool(*v, &record)) ok = false;
    else if (record) c.evidence = engine::SharedIndicatorEvidence();
  }
  bool allow_deny = false;
  std::optional<Field> allow_field = rule.Take("allow_deny");
  if (allow_field) ok = ctx.Bool(*allow_field, &allow_deny) && ok;
  if (ok && common.action == Action::kDeny && !allow_deny) {
    // Imported indicators are someone else's judgement: never deny on them
    // alone unless the policy says so in as many words.
    ctx.Error(allow_field ? *allow_field : rule.field(),
              "an indicators rule denies only with allow_deny: true (imported indicators are a "
              "partner's judgement; flag, or raise a competitor_training rule, instead)");
    ok = false;
  }
  if (!ok) return nullptr;
  c.set = std::move(set);
  return std::make_unique<engine::IndicatorsRule>(std::move(common), std::move(c));
}

}  // namespace tosgate::policies
