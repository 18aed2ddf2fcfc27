#include "bench/sim/traffic.h"

#include <algorithm>
#include <cmath>

#include "bench/sim/rng.h"

namespace tosgate::sim {
namespace {

constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;

constexpr std::string_view kNames[kPersonas] = {
    "chat-user",       "coding-assistant", "classification-pipeline",
    "support-bot",     "batch-summarizer", "eval-logprobs",
    "benign-hard-tutoring", "benign-hard-eval-harness", "benign-hard-longform-writer",
    "benign-hard-reasoning-user",
    "bulk-harvest",    "cluster-rotation", "cot-elicitation",
    "logprob-harvest", "low-and-slow", "cot-paraphrase",
    "reasoning-reconstruction", "implicit-harvest", "rubric-grading",
    "rewrite-harvest", "high-volume-varied", "low-and-slow-blended",
};

struct Country {
  std::string_view code;
  int tz;
};
constexpr Country kCountries[] = {{"US", -5}, {"US", -8}, {"DE", 1}, {"IN", 5},
                                  {"BR", -3}, {"JP", 9},  {"GB", 0}, {"FR", 1},
                                  {"CA", -5}, {"AU", 10}, {"NG", 1}, {"KR", 9}};

// How likely a person is to start a session at each local hour.
constexpr double kDiurnal[24] = {1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 4.5,
                                 4.0, 4.5, 4.5, 4.0, 4.0, 4.0, 4.5, 5.0, 5.0, 4.5, 3.5, 2.0};

int DiurnalHour(Rng& r) {
  double total = 0;
  for (double w : kDiurnal) total += w;
  double x = r.Uniform(0, total);
  for (int h = 0; h < 24; ++h) {
    if (x < kDiurnal[h]) return h;
    x -= kDiurnal[h];
  }
  return 23;
}

// A public-looking address outside the ranges the cluster campaign uses.
std::string RandomIp(Rng& r) {
  int64_t a;
  do a = r.Int(11, 223);
  while (a == 127 || a == 198 || a == 172 || a == 192 || a == 100 || a == 169);
  return std::to_string(a) + "." + std::to_string(r.Int(0, 255)) + "." +
         std::to_string(r.Int(0, 255)) + "." + std::to_string(r.Int(1, 254));
}

struct Span {
  int64_t start, end;
};

// Sessions as people have them: a few a day at diurnal hours of their local
// time, each a run of requests with irregular, heavy-tailed gaps.
void HumanSessions(Rng& r, const SimAccount& a, Span span, int days, double p_day, int sessions_lo,
                   int sessions_hi, double len_median, double gap_median_s,
                   std::vector<int64_t>* out) {
  for (int d = 0; d < days; ++d) {
    if (!r.Chance(p_day)) continue;
    const int64_t sessions = r.Int(sessions_lo, sessions_hi);
    for (int64_t s = 0; s < sessions; ++s) {
      const int hour = ((DiurnalHour(r) - a.tz_hours) % 24 + 24) % 24;
      int64_t t = span.start + d * kDay + hour * kHour + r.Int(0, kHour - 1);
      const int64_t len = std::clamp<int64_t>(std::llround(r.LogNormal(len_median, 0.8)), 1, 200);
      for (int64_t k = 0; k < len; ++k) {
        out->push_back(t);
        t += std::max<int64_t>(2 * kSecond, std::llround(r.LogNormal(gap_median_s, 0.9) * kSecond));
      }
    }
  }
}

// A machine job: from `t`, `count` requests `period_s` apart with some jitter.
void Steady(Rng& r, int64_t t, int64_t count, double period_s, double jitter,
            std::vector<int64_t>* out) {
  for (int64_t k = 0; k < count; ++k) {
    out->push_back(t);
    t += std::max<int64_t>(50,
                           std::llround(period_s * kSecond * (1.0 + r.Uniform(-jitter, jitter))));
  }
}

// Random arrivals at `mean_gap_s` on average from `t` to `until`.
void Poisson(Rng& r, int64_t t, int64_t until, double mean_gap_s, int64_t min_gap_ms,
             std::vector<int64_t>* out) {
  for (t += std::llround(r.Exp(mean_gap_s) * kSecond); t < until;
       t += std::max<int64_t>(min_gap_ms, std::llround(r.Exp(mean_gap_s) * kSecond)))
    out->push_back(t);
}

int64_t Scaled(double n, double scale) { return std::max<int64_t>(1, std::llround(n * scale)); }

}  // namespace

std::string_view PersonaName(Persona p) { return kNames[static_cast<int>(p)]; }
bool IsCampaign(Persona p) { return static_cast<int>(p) >= static_cast<int>(Persona::kHarvest); }
bool IsHardNegative(Persona p) {
  return static_cast<int>(p) >= static_cast<int>(Persona::kTutoring) && !IsCampaign(p);
}
bool CampaignByName(std::string_view name, Persona* out) {
  for (int i = static_cast<int>(Persona::kHarvest); i < kPersonas; ++i)
    if (kNames[i] == name) {
      *out = static_cast<Persona>(i);
      return true;
    }
  return false;
}

Simulation::Simulation(const Options& o) : o_(o) {
  AddAccounts();
  for (uint32_t i = 0; i < accounts_.size(); ++i) Schedule(i);
  std::sort(events_.begin(), events_.end(), [](const Event& x, const Event& y) {
    if (x.ts_ms != y.ts_ms) return x.ts_ms < y.ts_ms;
    if (x.account != y.account) return x.account < y.account;
    return x.seq < y.seq;
  });
}

void Simulation::AddAccounts() {
  Rng r(Derive(o_.seed, 0xACC0));
  auto add = [&](Persona p, int variant) -> SimAccount& {
    SimAccount a;
    const size_t n = accounts_.size() + 1;
    a.id = "acct_" + std::to_string(n);
    a.org = "org_" + std::to_string(n);
    a.persona = p;
    a.variant = variant;
    const Country& c = r.Pick(kCountries);
    a.country = c.code;
    a.tz_hours = c.tz;
    a.payment = "pf_" + r.Hex(12);
    a.device = "dev_" + r.Hex(12);
    a.key = "sk-sim-" + r.Hex(32);
    a.created_ms = o_.start_ms - r.Int(30, 400) * kDay - r.Int(0, kDay - 1);
    a.tier = "pro";
    a.model = r.Chance(0.6) ? "m-large" : "m-small";
    a.anthropic = r.Chance(0.35);
    accounts_.push_back(std::move(a));
    return accounts_.back();
  };

  // Benign personas, in fixed shares of --benign-accounts; every persona gets
  // at least one account once there are enough to go round.
  struct Share {
    Persona p;
    double share;
  };
  constexpr Share kShares[] = {{Persona::kCoding, 0.20},
                               {Persona::kClassify, 0.015},
                               {Persona::kSupport, 0.025},
                               {Persona::kSummarize, 0.015},
                               {Persona::kEval, 0.01},
                               {Persona::kTutoring, 0.002},
                               {Persona::kHarness, 0.002},
                               {Persona::kLongform, 0.01},
                               {Persona::kReasoner, 0.03}};
  int rest = o_.benign_accounts;
  std::vector<std::pair<Persona, int>> counts;
  for (const Share& s : kShares) {
    int n = static_cast<int>(std::lround(o_.benign_accounts * s.share));
    if (n == 0 && o_.benign_accounts >= 12) n = 1;
    n = std::min(n, rest);
    counts.emplace_back(s.p, n);
    rest -= n;
  }
  counts.insert(counts.begin(), {Persona::kChat, rest});
  int org_group = 0;
  for (auto [p, n] : counts) {
    for (int i = 0; i < n; ++i) {
      SimAccount& a = add(p, i);
      a.ips.push_back(RandomIp(r));
      switch (p) {
        case Persona::kChat:
          a.tier = r.Chance(0.7) ? "free" : "pro";
          if (r.Chance(0.4)) a.ips.push_back(RandomIp(r));  // phone and laptop
          break;
        case Persona::kCoding:
          // Teams: a few accounts of one company share an org and its card.
          if (i % 4 != 0) {
            const SimAccount& lead = accounts_[accounts_.size() - 2];
            a.org = lead.org;
            a.payment = lead.payment;
          }
          break;
        case Persona::kLongform:
          a.model = "m-large";
          break;
        case Persona::kReasoner:
          a.model = "m-reason";
          if (r.Chance(0.4)) a.ips.push_back(RandomIp(r));
          break;
        default:
          a.tier = r.Chance(0.5) ? "enterprise" : "pro";
          if (p == Persona::kHarness) a.model = "m-reason";
          a.model = p == Persona::kClassify ? "m-small" : a.model;
          a.org = "org_b" + std::to_string(++org_group);
      }
    }
  }

  // Campaigns.
  auto wanted = [&](Persona p) {
    if (o_.no_campaigns) return false;
    return o_.campaigns.empty() ||
           std::find(o_.campaigns.begin(), o_.campaigns.end(), p) != o_.campaigns.end();
  };
  if (wanted(Persona::kHarvest)) {
    SimAccount& a = add(Persona::kHarvest, 0);
    a.model = "m-large";
    a.anthropic = false;
    a.ips = {RandomIp(r)};
  }
  if (wanted(Persona::kCluster)) {
    std::string payment, device;
    for (int i = 0; i < o_.cluster_accounts; ++i) {
      SimAccount& a = add(Persona::kCluster, i % 3);
      a.tier = "free";
      a.model = "m-large";
      a.created_ms = o_.start_ms - r.Int(1, 14) * kDay - r.Int(0, kDay - 1);
      if (i % 10 == 0) payment = a.payment;  // one card per ten accounts
      a.payment = payment;
      if (i % 20 == 0) device = a.device;  // a few machines run them all
      a.device = device;
    }
  }
  if (wanted(Persona::kCot)) {
    for (int i = 0; i < 3; ++i) {
      SimAccount& a = add(Persona::kCot, i);
      a.model = "m-large";
      a.created_ms = o_.start_ms - r.Int(5, 90) * kDay;
      a.ips = {RandomIp(r)};
    }
  }
  if (wanted(Persona::kLogprob)) {
    for (int i = 0; i < 3; ++i) {
      SimAccount& a = add(Persona::kLogprob, i);
      a.anthropic = false;  // logprobs are an OpenAI-shape feature
      a.created_ms = o_.start_ms - r.Int(5, 90) * kDay;
      a.ips = {RandomIp(r)};
    }
  }
  if (wanted(Persona::kLowSlow)) {
    for (int i = 0; i < 8; ++i) {
      SimAccount& a = add(Persona::kLowSlow, i % 2);
      a.tier = r.Chance(0.5) ? "free" : "pro";
      a.ips = {RandomIp(r)};
    }
  }
  // Single accounts of their own (own address, card, device, months old),
  // `count` of each.
  auto singles = [&](Persona p, int count, const char* model) {
    for (int i = 0; i < count; ++i) {
      SimAccount& a = add(p, i);
      if (model) a.model = model;
      a.created_ms = o_.start_ms - r.Int(20, 300) * kDay - r.Int(0, kDay - 1);
      a.ips = {RandomIp(r)};
      if (p == Persona::kBlended) {
        a.tier = r.Chance(0.6) ? "free" : "pro";
        a.campaign = Derive(o_.seed, 0xB1E);  // one operator, one instruction text
        if (r.Chance(0.3)) a.ips.push_back(RandomIp(r));
      }
    }
  };
  if (wanted(Persona::kCotParaphrase)) singles(Persona::kCotParaphrase, 4, "m-large");
  if (wanted(Persona::kReconstruct)) singles(Persona::kReconstruct, 3, "m-large");
  if (wanted(Persona::kImplicit)) singles(Persona::kImplicit, 5, "m-reason");
  if (wanted(Persona::kRubric)) singles(Persona::kRubric, 3, nullptr);
  if (wanted(Persona::kRewrite)) singles(Persona::kRewrite, 3, nullptr);
  if (wanted(Persona::kVolume)) singles(Persona::kVolume, 1, "m-reason");
  if (wanted(Persona::kBlended)) singles(Persona::kBlended, 10, nullptr);
}

void Simulation::Schedule(uint32_t index) {
  const SimAccount& a = accounts_[index];
  Rng r(Derive(o_.seed, 0x71AE, index));
  const Span span{o_.start_ms, o_.start_ms + o_.days * kDay};
  const double s = o_.scale;
  std::vector<int64_t> times;
  auto local_hour = [&](int d, double h) {
    return span.start + d * kDay + static_cast<int64_t>((h - a.tz_hours) * kHour);
  };
  switch (a.persona) {
    case Persona::kChat:
      HumanSessions(r, a, span, o_.days, 0.6, 1, 3, 5, 45, &times);
      break;
    case Persona::kCoding:
      HumanSessions(r, a, span, o_.days, 0.8, 1, 3, 25, 20, &times);
      break;
    case Persona::kLowSlow:
      HumanSessions(r, a, span, o_.days, 0.9, 2, 5, 12 * s, 60, &times);
      break;
    case Persona::kCotParaphrase:
      HumanSessions(r, a, span, o_.days, 0.95, 2, 5, 15 * s, 40, &times);
      break;
    case Persona::kLongform:
      HumanSessions(r, a, span, o_.days, 0.7, 1, 2, 4, 240, &times);
      break;
    case Persona::kReasoner:
      HumanSessions(r, a, span, o_.days, 0.7, 1, 3, 6, 90, &times);
      break;
    case Persona::kBlended: {
      // 20-45 requests in all, whatever the length of the capture, in short
      // human sessions on random days.
      const int64_t n = r.Int(20, 45);
      while (static_cast<int64_t>(times.size()) < n) {
        const int d = static_cast<int>(r.Int(0, o_.days - 1));
        const int hour = ((DiurnalHour(r) - a.tz_hours) % 24 + 24) % 24;
        int64_t t = span.start + d * kDay + hour * kHour + r.Int(0, kHour - 1);
        for (int64_t k = r.Int(1, 6); k > 0 && static_cast<int64_t>(times.size()) < n; --k) {
          times.push_back(std::min(t, span.end - 1));
          t += std::max<int64_t>(5 * kSecond, std::llround(r.LogNormal(70, 0.9) * kSecond));
        }
      }
      break;
    }
    case Persona::kTutoring: {
      const double gap = 60.0 / r.Uniform(0.5, 2.0) / s;
      for (int d = 0; d < o_.days; ++d)
        Poisson(r, local_hour(d, 8), local_hour(d, 21), gap, 1000, &times);
      break;
    }
    case Persona::kHarness: {
      const int64_t runs = r.Int(1, 3);
      for (int64_t k = 0; k < runs; ++k)
        Steady(r, span.start + r.Int(0, span.end - span.start - 1),
               Scaled(static_cast<double>(r.Int(300, 2000)), s), r.Uniform(1.0, 4.0), 0.3, &times);
      break;
    }
    case Persona::kReconstruct:
    case Persona::kImplicit:
    case Persona::kRubric:
    case Persona::kRewrite: {
      const double gap = (a.persona == Persona::kImplicit ? 40.0 : 30.0) / s;
      for (int d = 0; d < o_.days; ++d) {
        const int64_t from = span.start + d * kDay + r.Int(0, 8) * kHour;
        Poisson(r, from, from + r.Int(8, 14) * kHour, gap, 1000, &times);
      }
      break;
    }
    case Persona::kVolume: {
      const int64_t t =
          span.start + static_cast<int64_t>(r.Uniform(0.05, 0.3) * (span.end - span.start));
      const int64_t n = Scaled(8000, s);
      for (int64_t k = 0, at = t; k < n;
           ++k, at += std::max<int64_t>(50, std::llround(r.Exp(0.6) * kSecond)))
        times.push_back(at);
      break;
    }
    case Persona::kClassify: {
      const double period = r.Uniform(3, 10);
      for (int d = 0; d < o_.days; ++d) {
        if (!r.Chance(0.9)) continue;
        const double hours = r.Uniform(0.5, 3.0);
        Steady(r, span.start + d * kDay + r.Int(0, 20) * kHour, Scaled(hours * 3600 / period, s),
               period, 0.05, &times);
      }
      break;
    }
    case Persona::kSupport: {
      const double gap = 60.0 / r.Uniform(0.2, 1.0) / s;
      for (int d = 0; d < o_.days; ++d)
        Poisson(r, local_hour(d, 8), local_hour(d, 18), gap, 1000, &times);
      break;
    }
    case Persona::kSummarize: {
      const double period = r.Uniform(5, 15);
      for (int d = 0; d < o_.days; ++d)
        Steady(r, local_hour(d, 1 + r.Uniform(0, 1)), Scaled(r.Uniform(1, 2) * 3600 / period, s),
               period, 0.3, &times);
      break;
    }
    case Persona::kEval: {
      const int64_t runs = r.Int(1, 2);
      for (int64_t k = 0; k < runs; ++k)
        Steady(r, span.start + r.Int(0, span.end - span.start - 1),
               Scaled(static_cast<double>(r.Int(200, 1000)), s), r.Uniform(0.5, 2.0), 0.2, &times);
      break;
    }
    case Persona::kHarvest: {
      const int64_t t =
          span.start + static_cast<int64_t>(r.Uniform(0.05, 0.3) * (span.end - span.start));
      const int64_t n = Scaled(20000, s);
      for (int64_t k = 0, at = t; k < n;
           ++k, at += std::max<int64_t>(20, std::llround(r.Exp(0.3) * kSecond)))
        times.push_back(at);
      break;
    }
    case Persona::kCluster:
      // Driven by one operator: all accounts work the same UTC hours, each a
      // few dozen requests a day at gaps that keep it far under any limit.
      for (int d = 0; d < o_.days; ++d) {
        if (!r.Chance(0.9)) continue;
        int64_t t = span.start + d * kDay + r.Int(6, 14) * kHour + r.Int(0, kHour - 1);
        const int64_t n = Scaled(static_cast<double>(r.Int(15, 45)), s);
        for (int64_t k = 0; k < n;
             ++k, t += std::max<int64_t>(5 * kSecond, std::llround(r.Exp(240) * kSecond)))
          times.push_back(t);
      }
      break;
    case Persona::kCot:
      for (int d = 0; d < o_.days; ++d) {
        const int64_t from = span.start + d * kDay + r.Int(0, 8) * kHour;
        Poisson(r, from, from + r.Int(10, 16) * kHour, 30.0 / s, 1000, &times);
      }
      break;
    case Persona::kLogprob: {
      const double period = r.Uniform(15, 25) / s;
      for (int d = 0; d < o_.days; ++d) {
        const double hours = r.Uniform(8, 12);
        Steady(r, span.start + d * kDay + r.Int(0, 10) * kHour, std::llround(hours * 3600 / period),
               period, 0.1, &times);
      }
      break;
    }
  }
  std::sort(times.begin(), times.end());
  uint32_t seq = 0;
  for (int64_t t : times)
    if (t >= span.start && t < span.end) events_.push_back({t, index, seq++});
}

}  // namespace tosgate::sim
