// Cost budgets in the engine: prices and what usage costs, time zones and
// calendar periods in them, reservation and reconciliation of money, and
// exactness under concurrency.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/prices.h"
#include "engine/rules/cost_budget.h"
#include "engine/time_zone.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using engine::CostOf;
using engine::FormatUsd;
using engine::ParseUsd;
using engine::TimeZone;

namespace {

constexpr int64_t kUsd = engine::kNanoUsdPerUsd;

std::shared_ptr<const TimeZone> Zone(const std::string& name) {
  std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  auto z = TimeZone::FromTzif(name, s.str());
  REQUIRE_MESSAGE(z.ok(), z.status().message());
  return *z;
}

engine::ModelPrice Price(std::string pattern, int64_t in_usd_m, int64_t out_usd_m) {
  engine::ModelPrice p;
  p.pattern = std::move(pattern);
  p.rates = {in_usd_m * kUsd, out_usd_m * kUsd, in_usd_m * kUsd / 10, in_usd_m * kUsd * 5 / 4,
             out_usd_m * kUsd};
  return p;
}

}  // namespace

TEST_CASE("prices: exact decimals, formatting, globs, the most specific glob wins") {
  int64_t v = 0;
  CHECK((ParseUsd("2.50", &v) && v == 2'500'000'000));
  CHECK((ParseUsd("0.075", &v) && v == 75'000'000));
  CHECK((ParseUsd("100", &v) && v == 100 * kUsd));
  CHECK((ParseUsd(".5", &v) && v == 500'000'000));
  for (const char* bad : {"", ".", "-1", "1e3", "0.0000000001", "1,5", "99999999999999"})
    CHECK_MESSAGE(!ParseUsd(bad, &v), bad);
  CHECK(FormatUsd(2'500'000'000) == "2.50");
  CHECK(FormatUsd(75'000'000) == "0.075");
  CHECK(FormatUsd(12) == "0.000000012");

  CHECK(engine::GlobMatches("gpt-4o*", "gpt-4o-mini"));
  CHECK(engine::GlobMatches("claude-*-4-*", "claude-sonnet-4-20250514"));
  CHECK(engine::GlobMatches("o?", "o3"));
  CHECK(!engine::GlobMatches("o?", "o3-mini"));
  CHECK(!engine::GlobMatches("gpt-4o*", "xgpt-4o"));

  engine::PriceTable t;
  CHECK(t.Add(Price("gpt-4o*", 2, 10)));
  CHECK(t.Add(Price("gpt-4o-mini*", 1, 4)));
  CHECK(t.Add(Price("gpt-4o", 3, 12)));
  CHECK(!t.Add(Price("gpt-4o", 3, 12)));
  CHECK(t.Find("gpt-4o")->rates.input == 3 * kUsd);         // exact first
  CHECK(t.Find("gpt-4o-mini-2024")->rates.input == 1 * kUsd);  // longest glob
  CHECK(t.Find("gpt-4o-2024")->rates.input == 2 * kUsd);
  CHECK(t.Find("o3") == nullptr);
}

TEST_CASE("prices: cached, cache-written and reasoning tokens are priced at their own rates") {
  // $2.50 in, $10 out, $1.25 cached, $3.125 cache write, $40 reasoning, per million.
  const engine::CostRates r{2'500'000'000, 10 * kUsd, 1'250'000'000, 3'125'000'000, 40 * kUsd};
  // 1M input of which 400k cached and 100k written; 200k output of which 50k reasoning.
  engine::TokenCounts t{1'000'000, 200'000, 400'000, 100'000, 50'000};
  const int64_t expected = 500'000LL * 2'500 + 400'000LL * 1'250 + 100'000LL * 3'125 +
                           150'000LL * 10'000 + 50'000LL * 40'000;  // nano-dollars
  CHECK(CostOf(r, t) == expected);
  // Dropping the cached and reasoning parts (LiteLLM #36168) prices this differently.
  CHECK(CostOf(r, {1'000'000, 200'000, 0, 0, 0}) != expected);
  // A part larger than its whole is clamped, never a negative remainder.
  CHECK(CostOf(r, {10, 10, 50, 50, 50}) == CostOf(r, {10, 10, 10, 0, 10}));
  // $0.075 per million is 75 nano-dollars a token; half a nano-dollar a token
  // rounds up, so a request never costs less than its tokens.
  CHECK(CostOf({75'000'000, 0, 0, 0, 0}, {1, 0, 0, 0, 0}) == 75);
  CHECK(CostOf({500'000, 0, 0, 0, 0}, {1, 0, 0, 0, 0}) == 1);
  CHECK(CostOf({500'000, 0, 0, 0, 0}, {3, 0, 0, 0, 0}) == 2);
  // Huge counts saturate instead of wrapping.
  CHECK(CostOf({INT64_MAX, INT64_MAX, 0, 0, 0}, {1'000'000'000, 1'000'000'000, 0, 0, 0}) ==
        INT64_MAX);
}

TEST_CASE("time zones: TZif transitions, the POSIX footer past them, local midnights") {
  auto berlin = Zone("Europe/Berlin");
  CHECK(berlin->OffsetAt(1798758000) == 3600);             // 2026-12-31T23:00Z, winter
  CHECK(berlin->OffsetAt(1806195600 - 1) == 3600);         // just before 2027-03-28T01:00Z
  CHECK(berlin->OffsetAt(1806195600) == 7200);             // summer time from then
  CHECK(berlin->OffsetAt(2224756800) == 7200);             // 2040-07-01: from the footer rule
  CHECK(berlin->ToUtc(1798761600) == 1798758000);          // local 2027-01-01 00:00 = 23:00Z
  CHECK(berlin->Format(1798758000) == "2027-01-01T00:00:00+01:00");

  auto rule = TimeZone::FromPosix("us-east", "EST5EDT,M3.2.0,M11.1.0");
  REQUIRE(rule.ok());
  auto ny = Zone("America/New_York");
  for (int64_t t : {1793509200LL - 1, 1793509200LL, 1801458000LL, 2224756800LL})
    CHECK((*rule)->OffsetAt(t) == ny->OffsetAt(t));
  CHECK(!TimeZone::FromPosix("x", "nonsense").ok());
  CHECK(!TimeZone::FromTzif("x", "TZif").ok());
}

TEST_CASE("calendar periods: a month ends at local midnight in a non-UTC zone") {
  auto ny = Zone("America/New_York");
  // 2027-02-01T05:00Z is midnight in New York (EST, -5h).
  const int64_t feb1_ms = 1801458000LL * 1000;
  const auto jan = engine::CalendarPeriodOf(engine::LimitKind::kMonthly, ny.get(), feb1_ms - 1);
  const auto feb = engine::CalendarPeriodOf(engine::LimitKind::kMonthly, ny.get(), feb1_ms);
  CHECK(jan.index + 1 == feb.index);
  CHECK(jan.end_ms == feb1_ms);
  CHECK(feb.start_ms == feb1_ms);
  // In UTC the same instant is already February 5 hours earlier.
  const auto utc = engine::CalendarPeriodOf(engine::LimitKind::kMonthly, nullptr, feb1_ms - 1);
  CHECK(utc.index == feb.index);
  // Weeks run Monday to Monday: 2027-02-01 is a Monday.
  const auto week = engine::CalendarPeriodOf(engine::LimitKind::kWeekly, ny.get(), feb1_ms + 3600'000);
  CHECK(week.start_ms == feb1_ms);
  CHECK(week.end_ms == feb1_ms + 7 * 86'400'000);
  // A day that loses an hour to summer time lasts 23 hours.
  const int64_t march14_ny_ms = 1805000400LL * 1000;  // 2027-03-14T05:00Z, local midnight
  const auto short_day = engine::CalendarPeriodOf(engine::LimitKind::kDaily, ny.get(), march14_ny_ms);
  CHECK(short_day.start_ms == march14_ny_ms);
  CHECK(short_day.end_ms - short_day.start_ms == 23 * 3'600'000);
  // Santiago skips its midnight into summer time: 2026-09-06 starts at the
  // jump, 01:00 local (04:00Z).
  auto santiago = Zone("America/Santiago");
  const auto skipped = engine::CalendarPeriodOf(engine::LimitKind::kDaily, santiago.get(),
                                                1788667200LL * 1000 + 3'600'000);
  CHECK(skipped.start_ms == 1788667200LL * 1000);
  CHECK(skipped.end_ms == 1788750000LL * 1000);
}
