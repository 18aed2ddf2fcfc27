#include "engine/trace_context.h"
#include "engine/engine.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <random>

#include "engine/content/index.h"
#include "engine/json_util.h"
#include "engine/sha256.h"

namespace tosgate::engine {
namespace {

constexpr int StatusFor(Effect e) {
  return e == Effect::kDeny ? 403 : e == Effect::kThrottle ? 429 : 200;
}

Effect EffectOf(Action a) {
  switch (a) {
    case Action::kDeny: return Effect::kDeny;
    case Action::kThrottle: return Effect::kThrottle;
    case Action::kFlag:
    case Action::kWatermark:
    case Action::kReview: return Effect::kAllow;
  }
  return Effect::kAllow;
}

// Who is asking: the account the request names, the one its key belongs to,
// or the stand-in the policy's unknown_keys setting makes. Returns false when
// the policy denies unknown keys.
bool ResolveAccount(const Request& req, const PolicySnapshot& snap,
                    const AccountDirectory* accounts, Account* scratch,
                    std::shared_ptr<const Account>* held, const Account** out) {
  if (req.account) {
    *out = &*req.account;
    return true;
  }
  const IdentityConfig& id = snap.identity;
  // Trusted headers name an account only when a trusted proxy set them; from
  // anyone else they would let a client choose whose limits it spends.
  if (req.peer_trusted && !id.account_header.empty()) {
    if (const std::string* h = req.header(id.account_header); h && !h->empty()) {
      if (accounts && (*held = accounts->FindById(*h))) {
        *out = held->get();
        return true;
      }
      scratch->id = *h;
      if (!id.org_header.empty())
        if (const std::string* o = req.header(id.org_header)) scratch->org = *o;
      const std::string* t = id.tier_header.empty() ? nullptr : req.header(id.tier_header);
      scratch->tier = t ? *t : id.unknown_tier;
      *out = scratch;
      return true;
    }
  }
  if (!req.key_id.empty() && accounts && (*held = accounts->FindByKey(req.key_id))) {
    *out = held->get();
    return true;
  }
  if (id.unknown_deny) return false;
  // Unknown callers are tracked by key, or by address when they sent none.
  scratch->id = req.key_id.empty() ? "ip:" + req.client_ip : "key:" + req.key_id.substr(0, 16);
  scratch->tier = id.unknown_tier;
  *out = scratch;
  return true;
}

// Bumped in the child of a fork(): a program that embeds the engine and
// forks workers must not hand the same pooled bytes to two processes.
std::atomic<uint32_t> fork_generation{0};
[[maybe_unused]] const int kAtFork =
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });

// Fills `out` with bytes from OpenSSL's CSPRNG through a per-thread pool, so
// that one RAND_bytes call of 4 KiB serves 340 decision ids. Should
// RAND_bytes ever fail, std::random_device (getrandom on Linux) refills it:
// a decision id is never made from a guessable source.
void RandomBytes(unsigned char* out, size_t n) {
  struct Pool {
    unsigned char bytes[4080];
    size_t used = sizeof bytes;
    uint32_t generation = 0;
  };
  thread_local Pool pool;
  const uint32_t generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.used + n > sizeof pool.bytes || pool.generation != generation) {
    pool.generation = generation;
    if (RAND_bytes(pool.bytes, static_cast<int>(sizeof pool.bytes)) != 1) {
      std::random_device rd;
      for (size_t i = 0; i < sizeof pool.bytes; i += sizeof(unsigned)) {
        const unsigned v = rd();
        std::memcpy(pool.bytes + i, &v, std::min(sizeof v, sizeof pool.bytes - i));
      }
    }
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes + pool.used, n);
  pool.used += n;
}

}  // namespace

// 12 hex digits of the wall clock in ms (ids sort roughly by time), then 24
// of 96 random bits: holding one id tells nothing about another, so a
// decision id can stand for the decision in a usage report.
std::string NewDecisionId(int64_t wall_ms) {
  static constexpr char kDigits[] = "0123456789abcdef";
  unsigned char random[kDecisionIdRandomBytes];
  RandomBytes(random, sizeof random);
  // Written into a buffer and copied once: one allocation, no reserve and
  // resize per part.
  char id[kDecisionIdLength];
  static_assert(kDecisionIdLength == 12 + 2 * kDecisionIdRandomBytes);
  // The low 48 bits of the clock, big-endian: 12 digits.
  const uint64_t t = static_cast<uint64_t>(wall_ms);
  for (int i = 0; i < 12; ++i) id[i] = kDigits[(t >> (4 * (11 - i))) & 15];
  for (size_t i = 0; i < sizeof random; ++i) {
    id[12 + 2 * i] = kDigits[random[i] >> 4];
    id[13 + 2 * i] = kDigits[random[i] & 15];
  }
  return std::string(id, sizeof id);
}

namespace {

char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// An int64 takes at most 20 characters.
char* PutNumber(char* p, int64_t v) { return std::to_chars(p, p + 20, v).ptr; }

// Every check that passes a rate limit builds these two headers, so they
// are written through a pointer into strings sized once (an append per
// piece, each checking the capacity, was ~1.5k instructions a check).
void AppendRateLimitHeaders(Decision* d) {
  if (d->rate_limits.empty()) return;
  // Per item at most: ", " and the quoted name, then ";q=" ";w=" (or ";r="
  // ";t=") with 20 digits each, and ";qu=" with the quoted unit.
  size_t room = 0;
  for (const RateLimitItem& r : d->rate_limits) room += r.name.size() + r.unit.size() + 64;
  std::string policy(room, '\0'), state(room, '\0');
  char* p = policy.data();
  char* s = state.data();
  for (const RateLimitItem& r : d->rate_limits) {
    if (p != policy.data()) p = Put(p, ", "), s = Put(s, ", ");
    *p++ = '"', p = Put(p, r.name), *p++ = '"';
    p = PutNumber(Put(p, ";q="), r.quota);
    p = PutNumber(Put(p, ";w="), r.window_s);
    if (!r.unit.empty()) p = Put(Put(p, ";qu=\""), r.unit), *p++ = '"';
    *s++ = '"', s = Put(s, r.name), *s++ = '"';
    s = PutNumber(Put(s, ";r="), r.remaining);
    s = PutNumber(Put(s, ";t="), r.reset_s);
  }
  policy.resize(static_cast<size_t>(p - policy.data()));
  state.resize(static_cast<size_t>(s - state.data()));
  d->headers.reserve(d->headers.size() + 2);
  d->headers.emplace_back("RateLimit-Policy", std::move(policy));
  d->headers.emplace_back("RateLimit", std::move(state));
}

// An estimate (max_tokens times n, from the body) can be near INT64_MAX;
// a reported count is at most kMaxReportedTokens.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

Engine::Engine(EngineOptions options)
    : options_(options),
      admissions_(options.max_admissions),
      marks_(std::make_shared<AccountMarks>()) {
  if (options_.behavior) {
    behavior_ = options_.behavior;
  } else {
    owned_behavior_ = NewMemoryBehaviorStore();
    behavior_ = owned_behavior_.get();
  }
  std::random_device rd;
  id_salt_ = (uint64_t{rd()} << 32) ^ rd();
}

Engine::~Engine() = default;

// Decision sequence numbers without a shared counter on the hot path: each
// thread takes a block of 2^20 from the engine's counter and counts through
// it alone. Unique per engine; not in arrival order across threads.
uint64_t Engine::NextSequence() {
  struct Block {
    const Engine* owner = nullptr;
    uint64_t next = 0, end = 0;
  };
  thread_local Block block;
  if (block.owner != this || block.next == block.end) {
    constexpr uint64_t kBlock = uint64_t{1} << 20;
    block.owner = this;
    block.next = sequence_.fetch_add(kBlock, std::memory_order_relaxed);
    block.end = block.next + kBlock;
  }
  return block.next++;
}

void Engine::Publish(std::shared_ptr<const PolicySnapshot> snapshot) {
  snapshot_.store(std::move(snapshot));
}

std::shared_ptr<const PolicySnapshot> Engine::snapshot() const { return snapshot_.load(); }

Decision Engine::Check(const Request& req) { return Decide(req, nullptr); }

Decision Engine::Check(const Request& req, AuditRecord* record) {
  *record = AuditRecord{};
  return Decide(req, record);
}

void Engine::ApplyAuditFailure(Decision* d, bool fail_open) {
  counters_.audit_failures.fetch_add(1, std::memory_order_relaxed);
  if (fail_open) {
    counters_.fail_open.fetch_add(1, std::memory_order_relaxed);
    d->fail_open = true;
  } else if (d->effect == Effect::kAllow) {
    // Nothing is admitted that could not be recorded.
    d->effect = Effect::kDeny;
    d->status = 503;
    d->reason = "audit-unavailable";
    d->rule_ids = {"audit"};
    d->headers.clear();
    d->delay_ms = 0;
  }
}

void Engine::AuditOutcome(Decision* d, const Status& s) {
  if (s.ok()) return;
  std::shared_ptr<const PolicySnapshot> snap = snapshot_.load();
  ApplyAuditFailure(d, snap && snap->settings.fail_open);
}

// One decision in the making, handed from step to step of Decide. It holds
// the account the request resolved to (possibly one of its own members), so
// it stays where Decide made it.
struct Engine::Pending {
  Pending(const Request& r, std::shared_ptr<const PolicySnapshot> s) : req(r), snap(std::move(s)) {}
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  const Request& req;
  const std::shared_ptr<const PolicySnapshot> snap;
  int64_t start_ns = 0;
  int64_t wall_ms = 0;
  uint64_t seq = 0;
  bool fail_open = false;  // settings.failure_mode open
  Decision d;
  // Who is asking (ResolveStep): points at `scratch`, `marked`, `held` or the
  // request's own account.
  Account scratch, marked;
  std::shared_ptr<const Account> held;
  const Account* account = nullptr;
  std::string_view operation;
  bool unclassified = false;  // settings.unmatched_operation refuses it
  bool stopped = false;       // decided before the rules ran out (401, internal error)
  std::vector<Charge> charges;  // what stateful rules counted for this request
  // What Evaluate tallied, for Combine.
  Effect enforced = Effect::kAllow;
  Effect shadowed = Effect::kAllow;
  int64_t retry_ms = 0;
  std::vector<std::string> flags;
  std::string watermark;
};

// An internal error is never a silent allow: failure_mode decides, counted.
// Returns whether the decision stops here (failure_mode closed).
bool Engine::InternalError(Pending& p, std::string rule_id, const Status& s) {
  counters_.internal_errors.fetch_add(1, std::memory_order_relaxed);
  Decision& d = p.d;
  if (p.fail_open) {
    counters_.fail_open.fetch_add(1, std::memory_order_relaxed);
    d.fail_open = true;
    return false;  // carry on as if the rule did not match
  }
  d.effect = Effect::kDeny;
  d.status = 503;
  d.reason = "internal-error";
  d.rule_ids = {std::move(rule_id)};
  d.matches.push_back(RuleMatch{d.rule_ids[0], Action::kDeny, false, d.reason, s.message(), 0});
  return true;  // stop here
}

// Step 1: the policy, the operation and the account (with the flags raised
// on it out of the request path). A policy that denies unknown keys stops
// the decision here with a 401.
void Engine::ResolveStep(Pending& p) {
  const Request& req = p.req;
  Decision& d = p.d;
  p.operation = req.operation;
  if (!p.snap) {
    p.stopped = InternalError(p, "policy", Status::Unavailable("no policy is loaded"));
  } else {
    d.policy_revision = p.snap->revision;
    if (p.operation.empty()) {
      p.operation = p.snap->OperationFor(req.method, req.path);
      p.unclassified = p.operation.empty() && p.snap->RefusesUnmatched(req.method, req.path);
    }
    if (!ResolveAccount(req, *p.snap, options_.accounts, &p.scratch, &p.held, &p.account)) {
      d.effect = Effect::kDeny;
      d.status = 401;
      d.reason = req.key_id.empty() ? "missing-key" : "unknown-key";
      d.rule_ids = {"identity.unknown_keys"};
      d.matches.push_back(RuleMatch{"identity.unknown_keys", Action::kDeny, false, d.reason,
                                    "the policy denies keys the registry does not know", 0});
      p.stopped = true;
    }
  }
  // Flags raised after earlier decisions (async guard verdicts) count as
  // the account's own; one relaxed load while there are none.
  if (p.account && !marks_->empty()) {
    std::vector<std::string> raised;
    if (marks_->AppendLive(p.account->id, p.wall_ms, &raised)) {
      p.marked = *p.account;
      for (std::string& f : raised)
        if (std::find(p.marked.flags.begin(), p.marked.flags.end(), f) == p.marked.flags.end())
          p.marked.flags.push_back(std::move(f));
      p.account = &p.marked;
    }
  }
  if (p.account) d.account_id = p.account->id;
  d.operation = std::string(p.operation);
}

// Step 2: every applicable rule, pure ones first, stateful ones only while
// the request is admissible. Records each match and tallies, per enforced
// and shadow mode, the strongest effect, for Combine.
void Engine::Evaluate(Pending& p) {
  const Request& req = p.req;
  const PolicySnapshot& snap = *p.snap;
  Decision& d = p.d;
  const EvalContext eval{req, *p.account, p.operation, p.wall_ms, p.start_ns};
  ContentScans content_scans;  // each prompt scope scanned once, whatever reads it
  // Odd and distinct per request: `(salt + seq) | 1` gave two consecutive
  // requests one id, so releasing one's concurrency lease released both.
  const uint64_t lease_id = ((id_salt_ + p.seq) << 1) | 1;
  const RuleContext rctx{eval,      *options_.state, lease_id, &content_scans,
                         behavior_, options_.feature_log, options_.guard, &marks_};
  const bool all_shadow = snap.settings.mode == RuleMode::kShadow;

  // A request no operation classifies would pass every operation-scoped
  // rule unseen: refused like a deny rule (the pure rules still run and
  // are recorded; limits do not count it), or only recorded in shadow mode.
  if (p.unclassified) {
    d.matches.push_back(RuleMatch{std::string(kUnmatchedOperationRule), Action::kDeny,
                                  all_shadow, "unclassified-operation",
                                  "no operation of the policy covers " + req.method +
                                      " on this path (settings.unmatched_operation)",
                                  0});
    if (all_shadow) {
      counters_.shadow_matches.fetch_add(1, std::memory_order_relaxed);
      p.shadowed = Effect::kDeny;
    } else {
      p.enforced = Effect::kDeny;
    }
  }

  for (int pass = 0; pass < 2 && !p.stopped; ++pass) {
    if (pass == 1 && p.enforced == Effect::kDeny) break;
    for (const auto& rule : snap.rules) {
      // Once a request is refused, later limits do not count it.
      if (pass == 1 && p.enforced != Effect::kAllow) break;
      if (rule->stateful() != (pass == 1)) continue;
      const RuleCommon& rc = rule->common();
      if (!rc.match.Applies(eval)) continue;
      RuleOutcome out;
      Status s = rule->Evaluate(rctx, &out);
      if (!s.ok()) {
        if ((p.stopped = InternalError(p, rc.id, s))) break;
        continue;
      }
      // Most requests meet one stateful rule: its vectors are taken whole.
      if (d.rate_limits.empty()) {
        d.rate_limits.swap(out.rate_limits);
      } else {
        for (RateLimitItem& item : out.rate_limits) d.rate_limits.push_back(std::move(item));
      }
      if (p.charges.empty()) {
        p.charges.swap(out.charges);
      } else {
        for (Charge& c : out.charges) p.charges.push_back(std::move(c));
      }
      const bool shadow = all_shadow || rc.mode == RuleMode::kShadow;
      d.risk = std::max(d.risk, out.risk);
      if (!shadow && !out.watermark.empty())
        p.watermark += (p.watermark.empty() ? "" : ", ") + out.watermark;
      if (out.delay_ms > 0) {
        // Delay mode: admitted, held first. A throttle that is enforced.
        d.matches.push_back(RuleMatch{rc.id, Action::kThrottle, shadow, "delayed",
                                      std::move(out.detail), 0, out.delay_ms});
        if (!shadow) d.delay_ms = std::max(d.delay_ms, out.delay_ms);
        continue;
      }
      if (!out.matched) continue;
      const Action action = out.action.value_or(rc.action);
      d.matches.push_back(RuleMatch{rc.id, action, shadow,
                                    out.reason.empty() ? rc.reason : std::move(out.reason),
                                    std::move(out.detail), out.retry_after_ms});
      d.matches.back().resets_at = std::move(out.resets_at);
      Effect e = EffectOf(action);
      if (shadow) {
        counters_.shadow_matches.fetch_add(1, std::memory_order_relaxed);
        p.shadowed = std::max(p.shadowed, e);
        continue;
      }
      // Watermark and review are flags too: recorded, admitted, marked.
      if (e == Effect::kAllow) p.flags.push_back(rc.id);
      p.enforced = std::max(p.enforced, e);
      if (e == Effect::kThrottle) p.retry_ms = std::max(p.retry_ms, out.retry_after_ms);
    }
  }
}

// Step 3: the effect from Evaluate's tallies (deny beats throttle beats
// allow), the deciding rules and reason, and the headers the decision
// carries: Retry-After, X-Tos-Flag, X-Tos-Watermark, the RateLimit fields.
void Engine::Combine(Pending& p) {
  Decision& d = p.d;
  if (!p.stopped) {
    const Effect enforced = p.enforced;
    d.effect = enforced;
    d.enforced = p.shadowed <= enforced;
    d.status = StatusFor(enforced);
    if (enforced != Effect::kAllow) {
      for (const RuleMatch& m : d.matches) {
        if (m.shadow || m.delay_ms > 0 || EffectOf(m.action) != enforced) continue;
        if (d.reason.empty()) d.reason = m.reason;
        d.rule_ids.push_back(m.rule_id);
      }
    }
    if (enforced == Effect::kThrottle) {
      d.retry_after_s = std::max<int64_t>(1, (p.retry_ms + 999) / 1000);
      d.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
    }
    if (!p.flags.empty()) {
      std::string v;
      for (const std::string& f : p.flags) v += (v.empty() ? "" : ", ") + f;
      d.headers.emplace_back("X-Tos-Flag", std::move(v));
    }
    // For the upstream, not the client: it may watermark its output.
    if (!p.watermark.empty() && enforced == Effect::kAllow)
      d.headers.emplace_back("X-Tos-Watermark", std::move(p.watermark));
  }
  if (d.effect != Effect::kAllow) d.delay_ms = 0;
  AppendRateLimitHeaders(&d);
}

// Step 4: the decision as the audit trail keeps it. Typed: the sink renders
// it to its columns.
AuditRecord Engine::RecordOf(const Pending& p) const {
  const Request& req = p.req;
  const Decision& d = p.d;
  AuditRecord rec;
  rec.id = d.decision_id;
  rec.time_ms = p.wall_ms;
  rec.request_id = req.request_id;
  rec.account = d.account_id;
  rec.key_id = req.key_id;
  if (p.account) rec.org = p.account->org;
  rec.client_ip = req.client_ip;
  rec.method = req.method;
  rec.path = req.path;
  rec.operation = d.operation;
  rec.model = req.body.model;
  rec.effect = d.effect;
  rec.enforced = d.enforced;
  rec.status = d.status;
  rec.reason = d.reason;
  rec.rule_ids = d.rule_ids;
  rec.matches.reserve(d.matches.size());
  for (const RuleMatch& m : d.matches)
    rec.matches.push_back(AuditMatch{m.rule_id, m.action, m.shadow, m.detail});
  rec.risk = d.risk;
  rec.policy_revision = d.policy_revision;
  if (!req.body.prompt_text.empty()) rec.prompt_sha256 = Sha256Hex(req.body.prompt_text);
  rec.latency_us = (options_.clock->monotonic_ns() - p.start_ns) / 1000;
  TraceContext trace = TraceContextOf(req);
  rec.traceparent = std::move(trace.traceparent);
  rec.tracestate = std::move(trace.tracestate);
  // What cost budgets reserve for it, if it is admitted (Settle keeps it).
  if (d.effect == Effect::kAllow)
    for (const Charge& c : p.charges)
      if (c.tokens == Charge::Tokens::kCost) {
        rec.cost_reserved_nano = c.amount;
        break;
      }
  return rec;
}

// Step 5: what the request counted. A refused request gives back what it
// counted; an admitted one keeps its reservations and leases until its
// usage report or their expiry. Then the periodic sweep and the counters.
void Engine::Settle(Pending& p) {
  Decision& d = p.d;
  const int64_t start_ns = p.start_ns;
  if (!p.charges.empty()) {
    if (d.effect != Effect::kAllow) {
      Refund(*options_.state, p.charges, start_ns);
      counters_.refunds.fetch_add(1, std::memory_order_relaxed);
    } else {
      int64_t hold = 0;
      bool pending = false, priced = false;
      for (Charge& c : p.charges) {
        pending |= c.lease_id != 0 || c.tokens != Charge::Tokens::kNone;
        hold = std::max(hold, c.hold_ns);
        // The request's spend counts once, whatever number of budgets priced it.
        if (c.tokens == Charge::Tokens::kCost && !priced) {
          priced = c.spend = true;
          spend_.AddReserved(c.tier, c.amount);
        }
      }
      if (pending)
        admissions_.Add(d.decision_id, Admission{std::move(p.charges), p.req.inline_proxy,
                                                 d.account_id, d.operation, start_ns + hold});
    }
  }
  if (d.delay_ms > 0) counters_.delayed.fetch_add(1, std::memory_order_relaxed);
  // Expired admissions: their reservations stay counted, their leases go.
  if (int64_t next = next_sweep_ns_.load(std::memory_order_relaxed);
      start_ns >= next &&
      next_sweep_ns_.compare_exchange_strong(next, start_ns + 100'000'000)) {
    std::vector<Charge> expired = admissions_.ExpireSome(start_ns);
    for (const Charge& c : expired)  // no usage came: what was reserved is spent
      if (c.spend) spend_.AddSettled(c.tier, c.amount);
    std::erase_if(expired, [](const Charge& c) { return c.lease_id == 0; });
    Refund(*options_.state, expired, start_ns);
  }

  auto& counter = d.effect == Effect::kDeny       ? counters_.deny
                  : d.effect == Effect::kThrottle ? counters_.throttle
                                                  : counters_.allow;
  counter.fetch_add(1, std::memory_order_relaxed);
}

// resolve account -> evaluate -> combine -> audit record -> settle. Each
// step reads and writes the one Pending; a step that decides early (401,
// internal error) sets `stopped` and the later ones leave the effect alone.
Decision Engine::Decide(const Request& req, AuditRecord* deferred) {
  Pending p(req, snapshot_.load());
  p.start_ns = options_.clock->monotonic_ns();
  p.wall_ms = options_.clock->wall_ms();
  p.seq = NextSequence();
  p.d.decision_id = NewDecisionId(p.wall_ms);
  p.fail_open = p.snap && p.snap->settings.fail_open;

  ResolveStep(p);
  if (!p.stopped) Evaluate(p);
  Combine(p);
  if (options_.audit) {
    if (deferred) {
      *deferred = RecordOf(p);  // the caller submits it and calls AuditOutcome
    } else if (Status s = options_.audit->Submit(RecordOf(p)); !s.ok()) {
      ApplyAuditFailure(&p.d, p.fail_open);
    }
  }
  Settle(p);
  return std::move(p.d);
}

void Refund(StateStore& state, const std::vector<Charge>& charges, int64_t now_ns) {
  for (const Charge& c : charges) {
    if (c.lease_id) state.Release(c.key, c.lease_id);
    else if (c.amount) (void)state.Adjust(c.key, c.meter, c.taken_at_ns, -c.amount, now_ns);
  }
}

AuditRecord Engine::UsageRecord(std::string_view decision_id, const Admission& a,
                                const Usage& usage, int64_t settled_nano) const {
  AuditRecord rec;
  // Its own id, so that looking a decision up by id finds the decision; the
  // prefix names the decision it reports on.
  rec.id = std::string(decision_id) + ".usage";
  rec.time_ms = options_.clock->wall_ms();
  rec.account = a.account;
  rec.operation = a.operation;
  rec.kind = RecordKind::kUsage;
  rec.status = 200;
  rec.reason = "usage-report";
  std::string detail = "decision " + std::string(decision_id) + ": input_tokens ";
  detail += usage.input_tokens >= 0 ? std::to_string(usage.input_tokens) : "not reported";
  detail += ", output_tokens ";
  detail += usage.output_tokens >= 0 ? std::to_string(usage.output_tokens) : "not reported";
  rec.matches.push_back(AuditMatch{"usage-report", Action::kFlag, false, std::move(detail)});
  for (const Charge& c : a.charges)
    if (c.spend) {
      rec.cost_reserved_nano = c.amount;
      rec.cost_settled_nano = settled_nano;
    }
  if (std::shared_ptr<const PolicySnapshot> snap = snapshot_.load())
    rec.policy_revision = snap->revision;
  return rec;
}

namespace {
// What a cost budget prices: the reported counts, estimates where none came.
TokenCounts CountsOf(const Usage& u, int64_t in, int64_t out) {
  TokenCounts t;
  t.input = in;
  t.output = out;
  t.cached_input = std::max<int64_t>(0, u.cached_input_tokens);
  t.cache_write = std::max<int64_t>(0, u.cache_write_tokens);
  t.reasoning = std::max<int64_t>(0, u.reasoning_tokens);
  return t;
}

// What a cost charge settles at: repriced from the counts reported (the
// estimate standing in for a count not reported); with no count at all
// (a stream cut before its usage) exactly what was reserved.
int64_t CostAt(const Charge& c, const Usage& u) {
  if (u.input_tokens < 0 && u.output_tokens < 0) return c.amount;
  const int64_t in = u.input_tokens >= 0 ? u.input_tokens : c.est_input;
  const int64_t out = u.output_tokens >= 0 ? u.output_tokens : c.est_output;
  return CostOf(c.rates, CountsOf(u, in, out));
}
}  // namespace

// The cost the request's counted charge settles at with `usage`; -1 when no
// cost budget priced it.
int64_t Engine::SettledCost(const Admission& a, const Usage& usage) {
  for (const Charge& c : a.charges) {
    if (c.spend) return CostAt(c, usage);
  }
  return -1;
}

Status Engine::ReportUsage(std::string_view decision_id, const Usage& usage, UsageSource source) {
  // -1 is "not reported"; anything else must be a count a response can have.
  for (const int64_t v : {usage.input_tokens, usage.output_tokens, usage.cached_input_tokens,
                         usage.cache_write_tokens, usage.reasoning_tokens}) {
    if (v < -1 || v > kMaxReportedTokens) {
      counters_.usage_reports_refused.fetch_add(1, std::memory_order_relaxed);
      return Status::InvalidArgument("token counts must be from 0 to " +
                                     std::to_string(kMaxReportedTokens));
    }
  }
  const int64_t now = options_.clock->monotonic_ns();
  Admission admission;
  if (Status s = admissions_.Take(decision_id, now, source, &admission); !s.ok()) {
    if (s.code() == Status::Code::kFailedPrecondition)
      counters_.usage_reports_refused.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  // A report from outside the gateway changes what an account is charged:
  // recorded before it counts. Under failure_mode closed a report that
  // cannot be recorded is refused and the reservation stays open for a retry.
  if (source == UsageSource::kExternal && options_.audit) {
    if (Status s = options_.audit->Submit(
            UsageRecord(decision_id, admission, usage, SettledCost(admission, usage)));
        !s.ok()) {
      counters_.audit_failures.fetch_add(1, std::memory_order_relaxed);
      std::shared_ptr<const PolicySnapshot> snap = snapshot_.load();
      if (!snap || !snap->settings.fail_open) {
        admissions_.Add(std::string(decision_id), std::move(admission));
        return Status::Unavailable("the usage report cannot be recorded: " + s.message());
      }
      counters_.fail_open.fetch_add(1, std::memory_order_relaxed);
    }
  }
  counters_.usage_reports.fetch_add(1, std::memory_order_relaxed);
  // What the gateway measured itself is recorded too when it settles a
  // cost (the trail then has the reserved and settled cost of every priced
  // request); a record that cannot be written does not undo the report.
  if (source == UsageSource::kInlineProxy && options_.audit) {
    const int64_t settled = SettledCost(admission, usage);
    if (settled >= 0 &&
        !options_.audit->Submit(UsageRecord(decision_id, admission, usage, settled)).ok())
      counters_.audit_failures.fetch_add(1, std::memory_order_relaxed);
  }
  const int64_t in_tokens = usage.input_tokens, out_tokens = usage.output_tokens;
  for (const Charge& c : admission.charges) {
    if (c.lease_id) {
      options_.state->Release(c.key, c.lease_id);
      continue;
    }
    const int64_t in = in_tokens >= 0 ? in_tokens : c.est_input;
    const int64_t out = out_tokens >= 0 ? out_tokens : c.est_output;
    int64_t actual = c.amount;
    switch (c.tokens) {
      case Charge::Tokens::kNone: continue;
      case Charge::Tokens::kInput: actual = in; break;
      case Charge::Tokens::kOutput: actual = out; break;
      case Charge::Tokens::kTotal: actual = SaturatingAdd(in, out); break;
      case Charge::Tokens::kCost: actual = CostAt(c, usage); break;
    }
    if (c.spend) spend_.AddSettled(c.tier, actual);
    if (actual != c.amount) {
      Status s = options_.state->Adjust(c.key, c.meter, c.taken_at_ns,
                                        SaturatingAdd(actual, -c.amount), now);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status Engine::ReleaseLeases(std::string_view decision_id, UsageSource source) {
  const int64_t now = options_.clock->monotonic_ns();
  Admission admission;
  if (Status s = admissions_.Take(decision_id, now, source, &admission); !s.ok()) return s;
  std::erase_if(admission.charges, [&](const Charge& c) {
    if (c.lease_id) options_.state->Release(c.key, c.lease_id);
    return c.lease_id != 0;
  });
  if (!admission.charges.empty()) admissions_.Add(std::string(decision_id), std::move(admission));
  return Status::Ok();
}

}  // namespace tosgate::engine
