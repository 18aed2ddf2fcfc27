#include "engine/rules/guard.h"

#include <algorithm>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

#include "engine/account_marks.h"
#include "engine/normalize.h"
#include "engine/sha256.h"
#include "engine/thread_annotations.h"

namespace tosgate::engine {
namespace {

// deny > throttle > flag (and the flag-like watermark and review).
int Severity(Action a) { return a == Action::kDeny ? 3 : a == Action::kThrottle ? 2 : 1; }

struct Verdict {  // what the cache keeps of a definitive answer
  bool unsafe = false;
  std::vector<std::string> categories;
  std::vector<double> scores;
};

// Least recently used verdicts by prompt digest. The digest (SHA-256 of the
// normalized text) is all that is kept of a prompt.
class VerdictCache {
 public:
  explicit VerdictCache(size_t capacity) : capacity_(capacity) {}

  bool Get(const std::string& key, int64_t now_ns, Verdict* out) {
    if (capacity_ == 0) return false;
    MutexLock lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    if (it->second->expires_ns <= now_ns) {
      lru_.erase(it->second);
      map_.erase(it);
      return false;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    *out = it->second->verdict;
    return true;
  }

  void Put(const std::string& key, Verdict v, int64_t expires_ns) {
    if (capacity_ == 0) return;
    MutexLock lock(mu_);
    if (auto it = map_.find(key); it != map_.end()) {
      it->second->verdict = std::move(v);
      it->second->expires_ns = expires_ns;
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    if (map_.size() >= capacity_) {
      map_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Node{key, std::move(v), expires_ns});
    map_.emplace(key, lru_.begin());
  }

  size_t size() const {
    MutexLock lock(mu_);
    return map_.size();
  }

 private:
  struct Node {
    std::string key;
    Verdict verdict;
    int64_t expires_ns = 0;
  };
  const size_t capacity_;
  mutable Mutex mu_;
  std::list<Node> lru_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::list<Node>::iterator> map_ GUARDED_BY(mu_);
};

bool HasFlag(const Account& a, const std::string& flag) {
  return std::find(a.flags.begin(), a.flags.end(), flag) != a.flags.end();
}

}  // namespace

struct GuardState {
  explicit GuardState(GuardConfig c) : config(std::move(c)), cache(config.cache_entries) {}

  // Takes a call slot; false when max_concurrency calls are in flight.
  bool Enter() {
    if (in_flight.fetch_add(1, std::memory_order_acq_rel) < config.max_concurrency) return true;
    in_flight.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  void Leave() { in_flight.fetch_sub(1, std::memory_order_acq_rel); }

  // The action an unsafe verdict calls for, or nullopt when every category
  // it names is mapped to `allow`. Unmapped categories take the rule's.
  std::optional<Action> ActionFor(const Verdict& v, Action rule_action) const {
    if (v.categories.empty()) return rule_action;
    std::optional<Action> best;
    for (const std::string& c : v.categories) {
      std::optional<Action> a = rule_action;
      for (const GuardCategoryAction& m : config.categories)
        if (m.category == c) a = m.action;
      if (a && (!best || Severity(*a) > Severity(*best))) best = a;
    }
    return best;
  }

  const GuardConfig config;
  VerdictCache cache;
  std::atomic<int> in_flight{0};
  GuardStats stats;
};

std::string_view GuardFormatName(GuardFormat f) {
  return f == GuardFormat::kLlamaGuard ? "llama-guard" : "openai-moderation";
}

GuardRule::GuardRule(RuleCommon common, GuardConfig config)
    : Rule(std::move(common)), state_(std::make_shared<GuardState>(std::move(config))) {}

GuardRule::~GuardRule() = default;

const GuardConfig& GuardRule::config() const { return state_->config; }
const GuardStats& GuardRule::stats() const { return state_->stats; }
size_t GuardRule::cached() const { return state_->cache.size(); }

namespace {

std::string Describe(const Verdict& v) {
  if (v.categories.empty()) return "unsafe";
  std::string s = "unsafe: ";
  for (size_t i = 0; i < v.categories.size(); ++i) {
    if (i) s += ", ";
    s += v.categories[i];
    if (i < v.scores.size()) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "=%.2f", v.scores[i]);
      s += buf;
    }
  }
  return s;
}

Verdict FromAnswer(GuardVerdict&& g) {
  Verdict v;
  v.unsafe = g.outcome == GuardVerdict::Outcome::kUnsafe;
  v.categories = std::move(g.categories);
  v.scores = std::move(g.scores);
  return v;
}

}  // namespace

namespace {

// The guard judges the normalized text, the same text the cache is keyed
// by: were it shown the raw text, a spelling that fooled it (zero-width
// characters, look-alike letters) would leave a `safe` verdict cached for
// the plain spelling too.
std::string GuardText(const GuardConfig& cfg, const RequestBody& body) {
  std::string raw;
  for (ContentScope s : cfg.scopes) {
    const std::string& t = s == ContentScope::kSystem ? body.system_text
                           : s == ContentScope::kUser ? body.user_text
                                                      : body.prompt_text;
    if (t.empty()) continue;
    if (!raw.empty()) raw += '\n';
    raw += t;
  }
  return NormalizeForMatch(raw);
}

// An unsafe verdict whose categories call for an action: the rule matches.
void ActOn(GuardState& st, const Verdict& v, Action rule_action, std::string_view how,
           RuleOutcome* out) {
  if (!v.unsafe) return;
  std::optional<Action> a = st.ActionFor(v, rule_action);
  if (!a) return;
  st.stats.unsafe.fetch_add(1, std::memory_order_relaxed);
  out->matched = true;
  out->action = *a;
  out->detail = "guard verdict " + Describe(v) + " (" +
                std::string(GuardFormatName(st.config.format)) + (how.empty() ? "" : ", ") +
                std::string(how) + ")";
}

// A call that gave no verdict: the rule's failure_mode decides, or the
// policy's when the rule sets none.
Status FailWith(GuardState& st, const std::string& rule_id, const std::string& why,
                RuleOutcome* out) {
  if (!st.config.fail_open) return Status::Unavailable("guard " + rule_id + ": " + why);
  if (*st.config.fail_open) {
    st.stats.fail_open.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  st.stats.fail_closed.fetch_add(1, std::memory_order_relaxed);
  out->matched = true;
  out->action = Action::kDeny;
  out->reason = "guard-unavailable";
  out->detail = "guard unavailable: " + why + " (failure_mode closed)";
  return Status::Ok();
}

// async mode: decided now, judged later. An unsafe verdict flags the
// account, which later requests see. The request itself passes whatever
// happens, so failure_mode has nothing to decide here; failures are counted.
void AskLater(const std::shared_ptr<GuardState>& state, const RuleContext& ctx,
              const RuleCommon& common, GuardQuery q, const std::string& key) {
  GuardState& st = *state;
  if (!st.Enter()) {
    st.stats.overloads.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  st.stats.calls.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<AccountMarks> marks = ctx.marks ? *ctx.marks : nullptr;
  const int64_t cache_expires = ctx.eval.now_ns + st.config.cache_ttl_ns;
  const int64_t flag_expires = ctx.eval.wall_ms + st.config.flag_ttl_ms;
  // A shadow rule's verdict must not reach enforcing rules through a flag.
  if (common.mode == RuleMode::kShadow) marks = nullptr;
  auto done = [state, marks = std::move(marks), key, cache_expires, flag_expires,
               rule_action = common.action, account = ctx.eval.account.id](GuardVerdict g) {
    state->Leave();
    if (!g.definitive()) {
      auto& c = g.outcome == GuardVerdict::Outcome::kTimeout ? state->stats.timeouts
                                                             : state->stats.errors;
      c.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Verdict v = FromAnswer(std::move(g));
    const bool mark = v.unsafe && state->ActionFor(v, rule_action).has_value();
    state->cache.Put(key, std::move(v), cache_expires);
    if (mark) state->stats.unsafe.fetch_add(1, std::memory_order_relaxed);
    if (mark && marks) {
      marks->Add(account, state->config.flag, flag_expires);
      state->stats.marks.fetch_add(1, std::memory_order_relaxed);
    }
  };
  if (!ctx.guard->ClassifyAsync(std::move(q), std::move(done))) {
    st.Leave();
    st.stats.overloads.fetch_add(1, std::memory_order_relaxed);
  }
}

// sync mode: the request waits for the verdict (timeout_ms at most).
Status AskNow(GuardState& st, const RuleContext& ctx, const RuleCommon& common, GuardQuery q,
              const std::string& key, RuleOutcome* out) {
  const GuardConfig& cfg = st.config;
  if (!st.Enter()) {
    st.stats.overloads.fetch_add(1, std::memory_order_relaxed);
    return FailWith(st, common.id,
                    "overloaded: " + std::to_string(cfg.max_concurrency) +
                        " calls in flight (max_concurrency)",
                    out);
  }
  st.stats.calls.fetch_add(1, std::memory_order_relaxed);
  GuardVerdict g = ctx.guard->Classify(q);
  st.Leave();
  if (g.outcome == GuardVerdict::Outcome::kTimeout) {
    st.stats.timeouts.fetch_add(1, std::memory_order_relaxed);
    return FailWith(st, common.id, "no answer within " + std::to_string(cfg.timeout_ms) + "ms",
                    out);
  }
  if (g.outcome == GuardVerdict::Outcome::kError) {
    st.stats.errors.fetch_add(1, std::memory_order_relaxed);
    return FailWith(st, common.id, g.error.empty() ? "the classifier failed" : g.error, out);
  }
  Verdict v = FromAnswer(std::move(g));
  ActOn(st, v, common.action, "", out);
  st.cache.Put(key, std::move(v), ctx.eval.now_ns + cfg.cache_ttl_ns);
  return Status::Ok();
}

}  // namespace

Status GuardRule::Evaluate(const RuleContext& ctx, RuleOutcome* out) const {
  GuardState& st = *state_;
  const GuardConfig& cfg = st.config;
  const RequestBody& body = ctx.eval.request.body;
  if (!body.present) return Status::Ok();

  // async: an earlier verdict flagged the account (or a reviewer did, in the
  // registry): the rule's action applies now.
  if (cfg.async && HasFlag(ctx.eval.account, cfg.flag)) {
    out->matched = true;
    out->detail = "account flagged " + cfg.flag + " (an earlier guard verdict)";
    return Status::Ok();
  }

  std::string text = GuardText(cfg, body);
  if (text.empty()) return Status::Ok();
  const std::string key = Sha256Hex(text);
  Verdict cached;
  if (st.cache.Get(key, ctx.eval.now_ns, &cached)) {
    st.stats.cache_hits.fetch_add(1, std::memory_order_relaxed);
    ActOn(st, cached, common().action, "cached", out);
    return Status::Ok();
  }
  if (!ctx.guard) return FailWith(st, common().id, "no guard client is configured", out);

  GuardQuery q{cfg.endpoint, cfg.format, cfg.model, std::move(text), cfg.timeout_ms};
  if (cfg.async) {
    AskLater(state_, ctx, common(), std::move(q), key);
    return Status::Ok();
  }
  return AskNow(st, ctx, common(), std::move(q), key, out);
}

}  // namespace tosgate::engine
