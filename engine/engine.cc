#include "engine/engine.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>

#include "engine/content/index.h"
#include "engine/hex.h"
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
  unsigned char random[kDecisionIdRandomBytes];
  RandomBytes(random, sizeof random);
  // The low 48 bits of the clock, big-endian: 6 bytes, 12 digits.
  char time[6];
  const uint64_t t = static_cast<uint64_t>(wall_ms);
  for (int i = 0; i < 6; ++i) time[i] = static_cast<char>((t >> (8 * (5 - i))) & 0xff);
  std::string id;
  id.reserve(kDecisionIdLength);
  AppendHex(&id, std::string_view(time, sizeof time));
  AppendHex(&id, std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  return id;
}

namespace {

void AppendRateLimitHeaders(Decision* d) {
  if (d->rate_limits.empty()) return;
  std::string policy, state;
  for (const RateLimitItem& r : d->rate_limits) {
    if (!policy.empty()) policy += ", ", state += ", ";
    policy += "\"" + r.name + "\";q=" + std::to_string(r.quota) + ";w=" + std::to_string(r.window_s);
    if (!r.unit.empty()) policy += ";qu=\"" + r.unit + "\"";
    state += "\"" + r.name + "\";r=" + std::to_string(r.remaining) + ";t=" + std::to_string(r.reset_s);
  }
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

std::string RulesJson(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(&out, ids[i]);
  }
  return out + "]";
}

std::string MatchesJson(const std::vector<RuleMatch>& matches) {
  std::string out = "[";
  for (size_t i = 0; i < matches.size(); ++i) {
    const RuleMatch& m = matches[i];
    if (i) out += ',';
    out += "{\"rule\":";
    AppendJsonString(&out, m.rule_id);
    out += ",\"action\":";
    AppendJsonString(&out, ActionName(m.action));
    out += m.shadow ? ",\"shadow\":true" : ",\"shadow\":false";
    out += ",\"detail\":";
    AppendJsonString(&out, m.detail);
    out += '}';
  }
  return out + "]";
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

Decision Engine::Decide(const Request& req, AuditRecord* deferred) {
  const int64_t start_ns = options_.clock->monotonic_ns();
  const int64_t wall_ms = options_.clock->wall_ms();
  std::shared_ptr<const PolicySnapshot> snap = snapshot_.load();

  Decision d;
  const uint64_t seq = NextSequence();
  d.decision_id = NewDecisionId(wall_ms);

  bool fail_open = snap && snap->settings.fail_open;
  // An internal error is never a silent allow: failure_mode decides, counted.
  auto internal_error = [&](std::string rule_id, const Status& s) -> bool {
    counters_.internal_errors.fetch_add(1, std::memory_order_relaxed);
    if (fail_open) {
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
  };

  Account scratch;
  std::shared_ptr<const Account> held;
  const Account* account = nullptr;
  std::string_view operation = req.operation;
  bool stopped = false;
  std::vector<Charge> charges;  // what stateful rules counted for this request
  bool unclassified = false;    // settings.unmatched_operation refuses it

  if (!snap) {
    stopped = internal_error("policy", Status::Unavailable("no policy is loaded"));
  } else {
    d.policy_revision = snap->revision;
    if (operation.empty()) {
      operation = snap->OperationFor(req.method, req.path);
      unclassified = operation.empty() && snap->RefusesUnmatched(req.method, req.path);
    }
    if (!ResolveAccount(req, *snap, options_.accounts, &scratch, &held, &account)) {
      d.effect = Effect::kDeny;
      d.status = 401;
      d.reason = req.key_id.empty() ? "missing-key" : "unknown-key";
      d.rule_ids = {"identity.unknown_keys"};
      d.matches.push_back(RuleMatch{"identity.unknown_keys", Action::kDeny, false, d.reason,
                                    "the policy denies keys the registry does not know", 0});
      stopped = true;
    }
  }
  // Flags raised after earlier decisions (async guard verdicts) count as
  // the account's own; one relaxed load while there are none.
  Account marked;
  if (account && !marks_->empty()) {
    std::vector<std::string> raised;
    if (marks_->AppendLive(account->id, wall_ms, &raised)) {
      marked = *account;
      for (std::string& f : raised)
        if (std::find(marked.flags.begin(), marked.flags.end(), f) == marked.flags.end())
          marked.flags.push_back(std::move(f));
      account = &marked;
    }
  }
  if (account) d.account_id = account->id;
  d.operation = std::string(operation);

  if (!stopped) {
    const EvalContext eval{req, *account, operation, wall_ms, start_ns};
    ContentScans content_scans;  // each prompt scope scanned once, whatever reads it
    const RuleContext rctx{eval,      *options_.state, (id_salt_ + seq) | 1, &content_scans,
                           behavior_, options_.feature_log, options_.guard, &marks_};
    const bool all_shadow = snap->settings.mode == RuleMode::kShadow;
    Effect enforced = Effect::kAllow;
    Effect shadowed = Effect::kAllow;
    int64_t retry_ms = 0;
    std::vector<std::string> flags;
    std::string watermark;

    // A request no operation classifies would pass every operation-scoped
    // rule unseen: refused like a deny rule (the pure rules still run and
    // are recorded; limits do not count it), or only recorded in shadow mode.
    if (unclassified) {
      d.matches.push_back(RuleMatch{std::string(kUnmatchedOperationRule), Action::kDeny,
                                    all_shadow, "unclassified-operation",
                                    "no operation of the policy covers " + req.method +
                                        " on this path (settings.unmatched_operation)",
                                    0});
      if (all_shadow) {
        counters_.shadow_matches.fetch_add(1, std::memory_order_relaxed);
        shadowed = Effect::kDeny;
      } else {
        enforced = Effect::kDeny;
      }
    }

    // Pure rules first; stateful ones only while the request is admissible.
    for (int pass = 0; pass < 2 && !stopped; ++pass) {
      if (pass == 1 && enforced == Effect::kDeny) break;
      for (const auto& rule : snap->rules) {
        // Once a request is refused, later limits do not count it.
        if (pass == 1 && enforced != Effect::kAllow) break;
        if (rule->stateful() != (pass == 1)) continue;
        const RuleCommon& rc = rule->common();
        if (!rc.match.Applies(eval)) continue;
        RuleOutcome out;
        Status s = rule->Evaluate(rctx, &out);
        if (!s.ok()) {
          if ((stopped = internal_error(rc.id, s))) break;
          continue;
        }
        for (RateLimitItem& item : out.rate_limits) d.rate_limits.push_back(std::move(item));
        for (Charge& c : out.charges) charges.push_back(std::move(c));
        const bool shadow = all_shadow || rc.mode == RuleMode::kShadow;
        d.risk = std::max(d.risk, out.risk);
        if (!shadow && !out.watermark.empty())
          watermark += (watermark.empty() ? "" : ", ") + out.watermark;
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
        Effect e = EffectOf(action);
        if (shadow) {
          counters_.shadow_matches.fetch_add(1, std::memory_order_relaxed);
          shadowed = std::max(shadowed, e);
          continue;
        }
        // Watermark and review are flags too: recorded, admitted, marked.
        if (e == Effect::kAllow) flags.push_back(rc.id);
        enforced = std::max(enforced, e);
        if (e == Effect::kThrottle) retry_ms = std::max(retry_ms, out.retry_after_ms);
      }
    }
    if (!stopped) {
      d.effect = enforced;
      d.enforced = shadowed <= enforced;
      d.status = StatusFor(enforced);
      if (enforced != Effect::kAllow) {
        for (const RuleMatch& m : d.matches) {
          if (m.shadow || m.delay_ms > 0 || EffectOf(m.action) != enforced) continue;
          if (d.reason.empty()) d.reason = m.reason;
          d.rule_ids.push_back(m.rule_id);
        }
      }
      if (enforced == Effect::kThrottle) {
        d.retry_after_s = std::max<int64_t>(1, (retry_ms + 999) / 1000);
        d.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
      }
      if (!flags.empty()) {
        std::string v;
        for (const std::string& f : flags) v += (v.empty() ? "" : ", ") + f;
        d.headers.emplace_back("X-Tos-Flag", std::move(v));
      }
      // For the upstream, not the client: it may watermark its output.
      if (!watermark.empty() && enforced == Effect::kAllow)
        d.headers.emplace_back("X-Tos-Watermark", std::move(watermark));
    }
  }
  if (d.effect != Effect::kAllow) d.delay_ms = 0;
  AppendRateLimitHeaders(&d);

  if (options_.audit) {
    AuditRecord rec;
    rec.id = d.decision_id;
    rec.time_ms = wall_ms;
    rec.request_id = req.request_id;
    rec.account = d.account_id;
    rec.key_id = req.key_id;
    if (account) rec.org = account->org;
    rec.client_ip = req.client_ip;
    rec.method = req.method;
    rec.path = req.path;
    rec.operation = d.operation;
    rec.model = req.body.model;
    rec.effect = std::string(EffectName(d.effect));
    rec.enforced = d.enforced;
    rec.status = d.status;
    rec.reason = d.reason;
    rec.rule_ids = RulesJson(d.rule_ids);
    rec.matches = MatchesJson(d.matches);
    rec.risk = d.risk;
    rec.policy_revision = d.policy_revision;
    if (!req.body.prompt_text.empty()) rec.prompt_sha256 = Sha256Hex(req.body.prompt_text);
    rec.latency_us = (options_.clock->monotonic_ns() - start_ns) / 1000;
    if (deferred) {
      *deferred = std::move(rec);  // the caller submits it and calls AuditOutcome
    } else if (Status s = options_.audit->Submit(std::move(rec)); !s.ok()) {
      ApplyAuditFailure(&d, fail_open);
    }
  }

  // A refused request gives back what it counted; an admitted one keeps its
  // reservations and leases until its usage report or their expiry.
  if (!charges.empty()) {
    if (d.effect != Effect::kAllow) {
      Refund(*options_.state, charges, start_ns);
      counters_.refunds.fetch_add(1, std::memory_order_relaxed);
    } else {
      int64_t hold = 0;
      bool pending = false;
      for (const Charge& c : charges) {
        pending |= c.lease_id != 0 || c.tokens != Charge::Tokens::kNone;
        hold = std::max(hold, c.hold_ns);
      }
      if (pending)
        admissions_.Add(d.decision_id, Admission{std::move(charges), req.inline_proxy, d.account_id,
                                                 d.operation, start_ns + hold});
    }
  }
  if (d.delay_ms > 0) counters_.delayed.fetch_add(1, std::memory_order_relaxed);
  // Expired admissions: their reservations stay counted, their leases go.
  if (int64_t next = next_sweep_ns_.load(std::memory_order_relaxed);
      start_ns >= next &&
      next_sweep_ns_.compare_exchange_strong(next, start_ns + 100'000'000)) {
    std::vector<Charge> expired = admissions_.ExpireSome(start_ns);
    std::erase_if(expired, [](const Charge& c) { return c.lease_id == 0; });
    Refund(*options_.state, expired, start_ns);
  }

  auto& counter = d.effect == Effect::kDeny       ? counters_.deny
                  : d.effect == Effect::kThrottle ? counters_.throttle
                                                  : counters_.allow;
  counter.fetch_add(1, std::memory_order_relaxed);
  return d;
}

void Refund(StateStore& state, const std::vector<Charge>& charges, int64_t now_ns) {
  for (const Charge& c : charges) {
    if (c.lease_id) state.Release(c.key, c.lease_id);
    else if (c.amount) (void)state.Adjust(c.key, c.meter, c.taken_at_ns, -c.amount, now_ns);
  }
}

AuditRecord Engine::UsageRecord(std::string_view decision_id, const Admission& a,
                                const Usage& usage) const {
  AuditRecord rec;
  // Its own id, so that looking a decision up by id finds the decision; the
  // prefix names the decision it reports on.
  rec.id = std::string(decision_id) + ".usage";
  rec.time_ms = options_.clock->wall_ms();
  rec.account = a.account;
  rec.operation = a.operation;
  rec.effect = "usage";
  rec.status = 200;
  rec.reason = "usage-report";
  rec.rule_ids = "[]";
  std::string detail = "decision " + std::string(decision_id) + ": input_tokens ";
  detail += usage.input_tokens >= 0 ? std::to_string(usage.input_tokens) : "not reported";
  detail += ", output_tokens ";
  detail += usage.output_tokens >= 0 ? std::to_string(usage.output_tokens) : "not reported";
  rec.matches = MatchesJson({RuleMatch{"usage-report", Action::kFlag, false, "usage-report",
                                       std::move(detail), 0}});
  if (std::shared_ptr<const PolicySnapshot> snap = snapshot_.load())
    rec.policy_revision = snap->revision;
  return rec;
}

Status Engine::ReportUsage(std::string_view decision_id, const Usage& usage, UsageSource source) {
  // -1 is "not reported"; anything else must be a count a response can have.
  for (const int64_t v : {usage.input_tokens, usage.output_tokens}) {
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
    if (Status s = options_.audit->Submit(UsageRecord(decision_id, admission, usage)); !s.ok()) {
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
    }
    if (actual != c.amount) {
      Status s = options_.state->Adjust(c.key, c.meter, c.taken_at_ns,
                                        SaturatingAdd(actual, -c.amount), now);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

std::string ProblemJson(const Decision& d) {
  const bool throttle = d.effect == Effect::kThrottle;
  std::string out = "{\"type\":";
  AppendJsonString(&out, throttle ? "https://tosgate.dev/problems/quota-exceeded"
                                  : "https://tosgate.dev/problems/" +
                                        (d.reason.empty() ? std::string("denied") : d.reason));
  out += ",\"title\":";
  AppendJsonString(&out, throttle ? "Too many requests" : d.status == 503 ? "Service unavailable"
                                : d.status == 401                      ? "Unauthorized"
                                                                       : "Request denied by policy");
  out += ",\"status\":" + std::to_string(d.status);
  out += ",\"detail\":";
  std::string detail = "Denied by " + (d.rule_ids.empty() ? std::string("policy") : d.rule_ids[0]);
  if (throttle) detail = "Rate limit exceeded; retry after " + std::to_string(d.retry_after_s) + "s";
  AppendJsonString(&out, detail);
  out += ",\"reason\":";
  AppendJsonString(&out, d.reason);
  out += ",\"rules\":" + RulesJson(d.rule_ids);
  out += ",\"decision_id\":";
  AppendJsonString(&out, d.decision_id);
  if (throttle) {
    out += ",\"violated_policies\":" + RulesJson(d.rule_ids);
    out += ",\"retry_after\":" + std::to_string(d.retry_after_s);
  }
  out += "}";
  return out;
}

}  // namespace tosgate::engine
