#include "metrics/registry.h"

namespace tosgate::metrics {
namespace {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string EscapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void SampleWriter::Add(Labels labels, uint64_t value) {
  out_->append(name_);
  if (labels.size() > 0) {
    *out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) *out_ += ',';
      first = false;
      out_->append(k);
      *out_ += "=\"" + EscapeLabel(v) + "\"";
    }
    *out_ += '}';
  }
  *out_ += ' ' + std::to_string(value) + '\n';
}

void Registry::Add(Entry e) {
  engine::MutexLock lock(mu_);
  for (const Entry& have : entries_)
    if (have.name == e.name) {
      if (duplicate_.empty()) duplicate_ = e.name;
      return;
    }
  entries_.push_back(std::move(e));
}

void Registry::Counter(std::string name, std::string help, Read read) {
  Family(std::move(name), Type::kCounter, std::move(help),
         [read = std::move(read)](SampleWriter& w) { w.Add({}, read()); });
}

void Registry::Gauge(std::string name, std::string help, Read read) {
  Family(std::move(name), Type::kGauge, std::move(help),
         [read = std::move(read)](SampleWriter& w) { w.Add({}, read()); });
}

void Registry::Family(std::string name, Type type, std::string help, Write write) {
  Add({.name = std::move(name), .help = std::move(help), .type = type, .write = std::move(write)});
}

void Registry::Histogram(std::string name, std::string help, const LatencyHistogram* histogram) {
  Add({.name = std::move(name), .help = std::move(help), .type = Type::kHistogram,
       .write = nullptr, .histogram = histogram});
}

std::string Registry::Render() const {
  engine::MutexLock lock(mu_);
  std::string out;
  for (const Entry& e : entries_) {
    out += "# HELP " + e.name + " " + e.help + "\n# TYPE " + e.name + " " + TypeName(e.type) + "\n";
    if (e.histogram) {
      e.histogram->RenderSamples(e.name, &out);
    } else {
      SampleWriter w(e.name, &out);
      e.write(w);
    }
  }
  return out;
}

Status Registry::status() const {
  engine::MutexLock lock(mu_);
  if (duplicate_.empty()) return Status::Ok();
  return Status::Internal("metric " + duplicate_ + " registered twice");
}

bool Registry::Has(std::string_view name) const {
  engine::MutexLock lock(mu_);
  for (const Entry& e : entries_)
    if (e.name == name) return true;
  return false;
}

}  // namespace tosgate::metrics
