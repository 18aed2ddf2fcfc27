// W3C traceparent / tracestate as the engine reads them from a request
// (engine/trace_context.h): what is recorded, and what is ignored.
#include <doctest/doctest.h>

#include "engine/trace_context.h"

namespace tosgate::engine {
namespace {

constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Request With(std::vector<std::pair<std::string, std::string>> headers) {
  Request r;
  r.headers = std::move(headers);
  return r;
}

TEST_CASE("traceparent: the spec's example and what the spec rejects") {
  CHECK(ValidTraceparent(kParent));
  CHECK(TraceIdOf(kParent) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK_FALSE(ValidTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));  // upper case
  CHECK_FALSE(ValidTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));  // zero trace
  CHECK_FALSE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));  // zero parent
  CHECK_FALSE(ValidTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));  // version ff
  CHECK_FALSE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));  // 00 is exact
  CHECK(ValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));  // later version
  CHECK_FALSE(ValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));
  CHECK_FALSE(ValidTraceparent(""));
  CHECK(TraceIdOf("garbage").empty());
}

TEST_CASE("trace context of a request: recorded when valid, tracestate only with it") {
  TraceContext t = TraceContextOf(With({{"traceparent", kParent}, {"tracestate", "congo=t61rcWkgMzE"},
                                        {"tracestate", "rojo=00f067aa0ba902b7"}}));
  CHECK(t.traceparent == kParent);
  CHECK(t.tracestate == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");  // several headers joined

  t = TraceContextOf(With({{"traceparent", "nonsense"}, {"tracestate", "congo=t61rcWkgMzE"}}));
  CHECK(t.traceparent.empty());
  CHECK(t.tracestate.empty());
  // Two traceparents conflict: neither is recorded.
  t = TraceContextOf(With({{"traceparent", kParent}, {"traceparent", kParent}}));
  CHECK(t.traceparent.empty());
  // An oversized or unprintable tracestate is dropped; the traceparent stays.
  t = TraceContextOf(With({{"traceparent", kParent}, {"tracestate", std::string(kTraceStateMax + 1, 'a')}}));
  CHECK(t.traceparent == kParent);
  CHECK(t.tracestate.empty());
  t = TraceContextOf(With({{"traceparent", kParent}, {"tracestate", "a=b\nc"}}));
  CHECK(t.tracestate.empty());
  CHECK(TraceContextOf(With({})).traceparent.empty());
}

}  // namespace
}  // namespace tosgate::engine
