// tosgate mock-upstream: a stand-in model API (see tools/mock_upstream/mock_upstream.h)
// for trying tosgate's inline proxy, for tests and for benchmarks.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "tools/mock_upstream/mock_upstream.h"
#include "cli/commands.h"

namespace tosgate::cli {
namespace {

bool Millis(const std::string& text, std::chrono::milliseconds* out) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (...) {
    return false;
  }
  const std::string unit = text.substr(used);
  if (v < 0 || !(unit == "ms" || unit == "s" || unit.empty())) return false;
  *out = std::chrono::milliseconds(unit == "s" ? v * 1000 : v);
  return true;
}

}  // namespace

int RunMockUpstream(const Args& args_in) {
  Args args = args_in;
  bool bad = false;
  api::MockUpstreamOptions o;
  std::string value;
  TakeFlag(&args, "--listen", &o.listen, &bad);
  if (TakeFlag(&args, "--latency", &value, &bad) && !Millis(value, &o.latency)) {
    std::cerr << "tosgate mock-upstream: --latency takes a duration such as 20ms or 1s\n";
    return 2;
  }
  if (TakeFlag(&args, "--chunk-delay", &value, &bad) && !Millis(value, &o.chunk_delay)) {
    std::cerr << "tosgate mock-upstream: --chunk-delay takes a duration such as 5ms\n";
    return 2;
  }
  if (TakeFlag(&args, "--threads", &value, &bad)) o.threads = std::atoi(value.c_str());
  if (bad || !args.empty()) {
    std::cerr << "usage: tosgate mock-upstream [--listen ADDR] [--latency DUR] [--chunk-delay DUR] "
                 "[--threads N]\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the server's threads start
  auto server = api::MockUpstream::Start(o);
  if (!server.ok()) {
    std::cerr << "tosgate mock-upstream: " << server.status().message() << "\n";
    return 1;
  }
  std::fprintf(stderr, "tosgate mock-upstream: listening on %s (port %d)\n", o.listen.c_str(),
               (*server)->port());
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->Stop();
  return 0;
}

}  // namespace tosgate::cli
