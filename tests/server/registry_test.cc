// metrics::Registry: one writer for every component's stats.
#include <doctest/doctest.h>

#include <atomic>

#include "metrics/registry.h"
#include "tests/server/metrics_text.h"

namespace tosgate::test {
namespace {

TEST_CASE("registry: counters, gauges and families are read when rendered, in registration order") {
  metrics::Registry r;
  std::atomic<uint64_t> hits{0};
  r.Counter("t_hits_total", "Hits.", [&hits] { return hits.load(); });
  r.Gauge("t_open", "Open things.", [] { return uint64_t{3}; });
  r.Family("t_by_kind_total", metrics::Type::kCounter, "By kind.", [](metrics::SampleWriter& w) {
    w.Add({{"kind", "a\"b"}, {"x", "1"}}, 7);
  });
  hits = 5;
  const std::string text = r.Render();
  CHECK(text ==
        "# HELP t_hits_total Hits.\n# TYPE t_hits_total counter\nt_hits_total 5\n"
        "# HELP t_open Open things.\n# TYPE t_open gauge\nt_open 3\n"
        "# HELP t_by_kind_total By kind.\n# TYPE t_by_kind_total counter\n"
        "t_by_kind_total{kind=\"a\\\"b\",x=\"1\"} 7\n");
  hits = 6;
  CHECK(MetricValue(r.Render(), "t_hits_total") == 6);
  CHECK(r.status().ok());
}

TEST_CASE("registry: a histogram renders cumulative buckets, sum and count") {
  metrics::Registry r;
  metrics::LatencyHistogram h;
  h.Observe(7'000);          // 7us: in the 1e-05 bucket
  h.Observe(2'000'000'000);  // 2s: only +Inf
  r.Histogram("t_latency_seconds", "Latency.", &h);
  const std::string text = r.Render();
  CHECK(text.find("# TYPE t_latency_seconds histogram\n") != std::string::npos);
  CHECK(MetricValue(text, "t_latency_seconds_bucket{le=\"5e-06\"}") == 0);
  CHECK(MetricValue(text, "t_latency_seconds_bucket{le=\"1e-05\"}") == 1);
  CHECK(MetricValue(text, "t_latency_seconds_bucket{le=\"1\"}") == 1);
  CHECK(MetricValue(text, "t_latency_seconds_bucket{le=\"+Inf\"}") == 2);
  CHECK(MetricValue(text, "t_latency_seconds_count") == 2);
}

TEST_CASE("registry: a name registered twice is refused and reported, the first kept") {
  metrics::Registry r;
  r.Counter("t_total", "First.", [] { return uint64_t{1}; });
  r.Gauge("t_total", "Second.", [] { return uint64_t{2}; });
  CHECK_FALSE(r.status().ok());
  CHECK(r.status().message().find("t_total") != std::string::npos);
  CHECK(MetricValue(r.Render(), "t_total") == 1);
  CHECK(r.Render().find("Second.") == std::string::npos);
}

}  // namespace
}  // namespace tosgate::test
