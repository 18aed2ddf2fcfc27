// A real PostgreSQL on a free loopback port for one test: a fresh cluster
// (initdb, no fsync) in a temp directory, superuser `tosgate`, database
// `postgres`; trust authentication, or scram-sha-256 with a password. The
// test can Stop() and Start() it again (same port, same data) for outages.
// PostgreSQL refuses to run as root: when the test runs as root (CI does)
// initdb and postgres run as the `postgres` OS user (setpriv), which owns
// the temp directory. Missing PostgreSQL: the test is skipped, or fails when
// TOSGATE_REQUIRE_PROXIES=1 (scripts/test.sh and CI set it).
//
// Note: a server started through setpriv loses the parent-death signal
// (the kernel clears it on a change of uid), so if the test process itself
// crashes the server outlives it; a normal end, failed REQUIRE included,
// stops it.
#pragma once

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/process_support.h"

namespace tosgate::test {

// The bin directory of the newest PostgreSQL installed the Debian way
// (/usr/lib/postgresql/<major>/bin), or "".
inline std::filesystem::path PostgresBinDir() {
  std::filesystem::path best;
  int best_major = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    const int major = std::atoi(name.c_str());
    const auto bin = e.path() / "bin";
    if (major > best_major && std::filesystem::exists(bin / "initdb") &&
        std::filesystem::exists(bin / "postgres")) {
      best = bin;
      best_major = major;
    }
  }
  return best;
}

// Whether a test needing PostgreSQL may run; fails the test when it is
// required but missing (or, as root, when there is no `postgres` user).
inline bool PostgresAvailable() {
  std::string missing;
  if (PostgresBinDir().empty()) missing = "PostgreSQL (initdb, postgres) is not installed";
  else if (geteuid() == 0 && !getpwnam("postgres"))
    missing = "running as root and there is no `postgres` user to run PostgreSQL as";
  else if (geteuid() == 0 && !std::filesystem::exists("/usr/bin/setpriv"))
    missing = "running as root and setpriv (util-linux) is missing";
  if (missing.empty()) return true;
  const char* v = std::getenv("TOSGATE_REQUIRE_PROXIES");
  REQUIRE_MESSAGE(!(v && std::string(v) == "1"), missing);
  MESSAGE(missing << ": skipped");
  return false;
}

class PostgresServer {
 public:
  explicit PostgresServer(std::string password = "") : password_(std::move(password)) {
    dir_ = MakeTempDir("tosgate-pg");
    REQUIRE(!dir_.empty());
    port_ = FreeLoopbackPorts(1).at(0);
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      REQUIRE(pw != nullptr);
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      REQUIRE(chown(dir_.c_str(), uid_, gid_) == 0);
    }
    InitDb();
    Start();
  }
  ~PostgresServer() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void Start() {
    proc_.emplace(AsOwner({(PostgresBinDir() / "postgres").string(), "-D", (dir_ / "data").string(),
                           "-p", std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-k",
                           dir_.string(), "-c", "fsync=off", "-c", "full_page_writes=off"}),
                  dir_ / "postgres.out", dir_ / "postgres.log");
    REQUIRE(proc_->started());
    // A connect attempt each time: the port opens before the server admits.
    const std::string dsn = Dsn();
    REQUIRE_MESSAGE(proc_->WaitUntil([&dsn] { return PQping(dsn.c_str()) == PQPING_OK; }, 200,
                                     std::chrono::milliseconds(10)),
                    "postgres did not start: " << ReadFile(dir_ / "postgres.log"));
  }

  // Fast shutdown (SIGINT: clients are disconnected at once), then the
  // process group is killed in case it lingers.
  void Stop() {
    if (!proc_) return;
    (void)proc_->Stop(SIGINT, std::chrono::seconds(5));
    proc_.reset();
  }

  int port() const { return port_; }
  const std::string& password() const { return password_; }

  // A key=value DSN for this server, with its password if it has one.
  std::string Dsn() const { return DsnWithPassword(password_); }
  std::string DsnWithPassword(const std::string& password) const {
    std::string dsn = "host=127.0.0.1 port=" + std::to_string(port_) +
                      " dbname=postgres user=tosgate connect_timeout=2";
    if (!password.empty()) dsn += " password=" + password;
    return dsn;
  }

 private:
  // `argv` run as the `postgres` user when we are root, else as is.
  std::vector<std::string> AsOwner(std::vector<std::string> argv) const {
    if (geteuid() != 0) return argv;
    std::vector<std::string> out{"/usr/bin/setpriv", "--reuid=" + std::to_string(uid_),
                                 "--regid=" + std::to_string(gid_), "--clear-groups", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  void InitDb() {
    std::vector<std::string> argv{(PostgresBinDir() / "initdb").string(), "-D",
                                  (dir_ / "data").string(), "-U", "tosgate", "-E", "UTF8",
                                  "--locale=C", "--no-sync", "--no-instructions"};
    if (password_.empty()) {
      argv.push_back("--auth=trust");
    } else {
      const auto pwfile = dir_ / "pwfile";
      WriteFile(pwfile, password_ + "\n");
      if (geteuid() == 0) REQUIRE(chown(pwfile.c_str(), uid_, gid_) == 0);
      argv.insert(argv.end(), {"--auth=scram-sha-256", "--pwfile=" + pwfile.string()});
    }
    ChildProcess initdb(AsOwner(argv), dir_ / "initdb.out", dir_ / "initdb.err");
    REQUIRE(initdb.started());
    // Wait for it to exit (at most 20 s on a loaded machine), then read its status.
    (void)initdb.WaitUntil([] { return false; }, 2000, std::chrono::milliseconds(10));
    const std::optional<int> st = initdb.Stop(SIGKILL, std::chrono::milliseconds(0));
    REQUIRE_MESSAGE((st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0),
                    "initdb failed: " << ReadFile(dir_ / "initdb.err"));
  }

  std::string password_;
  std::filesystem::path dir_;
  int port_ = 0;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::optional<ChildProcess> proc_;
};

}  // namespace tosgate::test
