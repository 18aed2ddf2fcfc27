// A real redis-server on a free loopback port for one test, with nothing
// saved to disk; stopped (and restartable on the same port) by the test.
// Missing redis-server: the test is skipped, or fails when
// TOSGATE_REQUIRE_PROXIES=1 (scripts/test.sh and CI set it).
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/process_support.h"

namespace tosgate::test {

inline std::string RedisServerPath() {
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

// Whether a test needing redis-server may run; fails the test when the
// server is required but missing.
inline bool RedisAvailable() {
  if (!RedisServerPath().empty()) return true;
  const char* v = std::getenv("TOSGATE_REQUIRE_PROXIES");
  REQUIRE_MESSAGE(!(v && std::string(v) == "1"), "redis-server is not installed");
  MESSAGE("redis-server is not installed: skipped");
  return false;
}

class RedisServer {
 public:
  explicit RedisServer(std::string password = "") : password_(std::move(password)) {
    dir_ = MakeTempDir("tosgate-redis");
    port_ = FreeLoopbackPorts(1).at(0);
    Start();
  }
  ~RedisServer() {
    proc_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Start() {
    std::vector<std::string> argv{RedisServerPath(), "--port", std::to_string(port_),
                                  "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                  "--dir", dir_.string()};
    if (!password_.empty()) argv.insert(argv.end(), {"--requirepass", password_});
    proc_.emplace(argv, dir_ / "redis.out", dir_ / "redis.err");
    REQUIRE(proc_->started());
    const int port = port_;
    REQUIRE_MESSAGE(proc_->WaitUntil([port] { return CanConnect(port); }),
                    "redis-server did not start: " << ReadFile(dir_ / "redis.out"));
  }
  void Stop() { proc_.reset(); }

  int port() const { return port_; }
  std::string url() const {
    return "redis://" + (password_.empty() ? "" : ":" + password_ + "@") + "127.0.0.1:" +
           std::to_string(port_);
  }

 private:
  std::string password_;
  std::filesystem::path dir_;
  int port_ = 0;
  std::optional<ChildProcess> proc_;
};

}  // namespace tosgate::test
