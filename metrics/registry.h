// The Prometheus registry of a process: each component registers its stats
// once, at start-up (a name, a help text, and a callback that reads the
// value when /metrics is asked, or a histogram it owns), and Render() writes
// them all in the text exposition format 0.0.4, in registration order.
// Nothing is looked up by name per request; the callbacks read counters the
// components keep anyway.
//
// A name registered twice is a programmer error: the second registration is
// dropped and status() says which name it was, so a program checks status()
// once after wiring (server/ does, at start-up) and a test can too.
//
// Thread-safety: Render may run on any thread, concurrently with itself and
// with registrations; the callbacks must be safe to call from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/thread_annotations.h"
#include "metrics/histogram.h"
#include "tosgate/status.h"

namespace tosgate::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Receives the samples of a labelled family while it is rendered.
class SampleWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  // One sample: name{k="v",...} value. Label values are escaped here.
  void Add(Labels labels, uint64_t value);

 private:
  friend class Registry;
  SampleWriter(std::string_view name, std::string* out) : name_(name), out_(out) {}
  std::string_view name_;
  std::string* out_;
};

class Registry {
 public:
  using Read = std::function<uint64_t()>;
  using Write = std::function<void(SampleWriter&)>;

  // One unlabelled value, read when rendered.
  void Counter(std::string name, std::string help, Read read);
  void Gauge(std::string name, std::string help, Read read);
  // A family with labels: `write` adds its samples (none is fine: the HELP
  // and TYPE lines are still written).
  void Family(std::string name, Type type, std::string help, Write write);
  // A histogram that outlives the registry.
  void Histogram(std::string name, std::string help, const LatencyHistogram* histogram);

  std::string Render() const;

  // Ok, or the first name that was registered twice.
  Status status() const;
  bool Has(std::string_view name) const;

 private:
  struct Entry {
    std::string name, help;
    Type type;
    Write write;                           // counters, gauges, families
    const LatencyHistogram* histogram = nullptr;
  };
  void Add(Entry e);

  mutable engine::Mutex mu_;
  std::vector<Entry> entries_ GUARDED_BY(mu_);
  std::string duplicate_ GUARDED_BY(mu_);
};

// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabel(std::string_view value);

}  // namespace tosgate::metrics
