// tosgate doctor [--config FILE]: checks a `serve` configuration and the
// machine it is to run on, and says what to fix. Each check prints one line,
// "ok", "warn" or "FAIL", with the fix after a FAIL or warn:
//
//   config     the file loads (every error as file:line:column)
//   policies   the policy set loads and compiles
//   ports      each listener's address is free to bind
//   stores     the audit store, admin database and accounts registry can be
//              written where the configuration puts them
//   files      the signing key, TLS certificate and key can be read
//   redis      with state.backend redis: reachable, password and script ok
//   postgres   with audit.backend postgres: reachable and an audit trail
//   clock      the wall clock is plausible and synchronised (NTP)
//   limits     open files allowed cover gateway.max_connections
//
// Exit 0 when nothing failed (warnings allowed), 1 when a check failed, 2
// for bad usage or a configuration file that does not load.
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "server/config.h"
#include "server/policy_source.h"
#include "storage/audit/postgres/query.h"
#include "storage/redis/state_store.h"

namespace tosgate::cli {
namespace {

using server::ServeConfig;

class Report {
 public:
  void Ok(const std::string& what, const std::string& detail) { Line("ok  ", what, detail, ""); }
  void Warn(const std::string& what, const std::string& detail, const std::string& fix) {
    ++warnings;
    Line("warn", what, detail, fix);
  }
  void Fail(const std::string& what, const std::string& detail, const std::string& fix) {
    ++failures;
    Line("FAIL", what, detail, fix);
  }
  int failures = 0, warnings = 0;

 private:
  static void Line(const char* mark, const std::string& what, const std::string& detail, const std::string& fix) {
    std::cout << mark << "  " << what << ": " << detail << "\n";
    if (!fix.empty()) std::cout << "      fix: " << fix << "\n";
  }
};

// Binds host:port as the server would (SO_REUSEADDR, as Asio and httplib
// do), then lets go. Empty when free; else why not.
std::string TryBind(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return "not host:port";
  std::string host = addr.substr(0, colon);
  const std::string port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (port == "0") return "";
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (int e = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res); e != 0)
    return std::string("cannot resolve: ") + gai_strerror(e);
  std::string why;
  const int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0) why = std::strerror(errno);
  else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
           bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 1) != 0)
    why = std::strerror(errno);
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  return why;
}

void CheckPorts(const ServeConfig& cfg, Report& r) {
  const std::pair<std::string, std::string> listeners[] = {
      {"listen.gateway", cfg.gateway_listen},
      {"listen.admin", cfg.admin_listen},
      {"gateway.control_listen", server::EffectiveControlListen(cfg)}};
  for (const auto& [key, addr] : listeners) {
    if (addr.empty()) continue;
    const std::string why = TryBind(addr);
    if (why.empty()) {
      r.Ok("port", key + " " + addr + " is free");
      continue;
    }
    const std::string port = addr.substr(addr.rfind(':') + 1);
    r.Fail("port", key + " " + addr + ": " + why,
           why.find("in use") != std::string::npos
               ? "stop what holds it (ss -ltnp 'sport = :" + port + "' names it), or set " + key +
                     " to another port"
               : "set " + key + " to an address of this machine (ip -br addr), e.g. 127.0.0.1:" + port);
  }
}

// Whether a store's file can be created or written at `path`: the file if
// it exists, else the nearest folder that exists on its way.
void CheckWritable(const std::string& key, const std::string& path, Report& r) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (access(path.c_str(), R_OK | W_OK) == 0) return r.Ok("store", key + " " + path + " is writable");
    return r.Fail("store", key + " " + path + " exists but this user cannot write it",
                  "chown it to the user the gateway runs as (the package's: tosgate), or run as its owner");
  }
  fs::path dir = fs::absolute(path, ec).parent_path();
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.root_path()) dir = dir.parent_path();
  if (!fs::is_directory(dir, ec))
    return r.Fail("store", key + " " + path + ": " + dir.string() + " is not a folder",
                  "set " + key + " to a path in a folder (the package's: /var/lib/tosgate)");
  if (access(dir.c_str(), W_OK | X_OK) == 0)
    return r.Ok("store", key + " " + path + " can be created (in " + dir.string() + ")");
  r.Fail("store", key + " " + path + ": cannot create files in " + dir.string(),
         "create the folder writable by the gateway's user (the package's /var/lib/tosgate is), or set " + key +
             " to a path under one");
}

void CheckReadable(const std::string& key, const std::string& path, Report& r) {
  if (path.empty()) return;
  if (access(path.c_str(), R_OK) == 0) return r.Ok("file", key + " " + path + " is readable");
  r.Fail("file", key + " " + path + ": " + std::strerror(errno),
         "make it readable by the gateway's user, or correct " + key);
}

void CheckStores(const ServeConfig& cfg, Report& r) {
  if (cfg.audit_backend == server::AuditBackendKind::kSqlite) CheckWritable("audit.path", cfg.audit_path, r);
  CheckWritable("admin.db", cfg.admin_db, r);
  if (!cfg.accounts_db.empty()) CheckWritable("accounts.db", cfg.accounts_db, r);
  if (!cfg.audit_anchor.empty()) CheckWritable("audit.anchor", cfg.audit_anchor, r);
  CheckReadable("accounts.file", cfg.accounts_file, r);
  CheckReadable("audit.signing_key", cfg.audit_signing_key, r);
  CheckReadable("admin.tls.cert", cfg.admin_tls_cert, r);
  CheckReadable("admin.tls.key", cfg.admin_tls_key, r);
}

void CheckPolicies(const ServeConfig& cfg, Report& r) {
  policies::LoadResult loaded = server::LoadPolicySource(cfg.policies_dir);
  const std::string what = cfg.policies_dir.empty() ? "the built-in default pack" : cfg.policies_dir;
  if (loaded.snapshot && loaded.errors.empty()) {
    return r.Ok("policies", what + ": " + std::to_string(loaded.snapshot->rules.size()) + " rules, revision " +
                                loaded.snapshot->revision);
  }
  std::ostringstream errors;
  server::ReportPolicyErrors(loaded, errors);
  r.Fail("policies", what + " does not load:\n" + errors.str(),
         "correct the files named above (`tosgate validate " + what + "` repeats them)");
}

void CheckRedis(const ServeConfig& cfg, Report& r) {
  if (cfg.state_backend != server::StateBackendKind::kRedis) return;
  storage::RedisStateOptions o;
  o.url = cfg.state_url;
  o.prefix = cfg.state_prefix;
  o.connections = 1;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.command_timeout = std::chrono::milliseconds(2000);
  auto opened = storage::RedisStateStore::Open(o);
  if (opened.ok()) return r.Ok("redis", "state.url answers (password and script accepted)");
  r.Fail("redis", "state.url: " + opened.status().message(),
         "start Redis or correct state.url (redis://[:password@]host:port[/db]); `redis-cli -u URL ping` "
         "checks it by hand");
}

void CheckPostgres(const ServeConfig& cfg, Report& r) {
  if (cfg.audit_backend != server::AuditBackendKind::kPostgres) return;
  auto opened = storage::PostgresAuditQuery::Open(cfg.audit_dsn);
  if (opened.ok()) return r.Ok("postgres", "audit.dsn answers");
  r.Fail("postgres", "audit.dsn: " + opened.status().message(),
         "start PostgreSQL or correct audit.dsn; `psql \"DSN\" -c 'select 1'` checks it by hand (the password "
         "belongs in PGPASSWORD or ~/.pgpass)");
}

// Decision times, rate windows and checkpoint times all come from the wall
// clock: one far off, or drifting without NTP, skews every one of them.
void CheckClock(Report& r) {
  using namespace std::chrono;
  const auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  constexpr int64_t k2025 = 1735689600, k2100 = 4102444800;
  if (now < k2025 || now > k2100)
    return r.Fail("clock", "the wall clock reads " + std::to_string(now) + " seconds since 1970, not a date now",
                  "set the time (timedatectl set-ntp true, or date -s)");
  timex tx{};
  const int state = adjtimex(&tx);
  if (state == TIME_ERROR)
    return r.Warn("clock", "the wall clock is not synchronised (the kernel reports no NTP discipline)",
                  "enable time synchronisation: timedatectl set-ntp true (systemd-timesyncd, chrony)");
  r.Ok("clock", "the wall clock is plausible and synchronised");
}

void CheckLimits(const ServeConfig& cfg, Report& r) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  // Each client connection is a descriptor, and another to the upstream in
  // inline mode; 256 more for stores, listeners and the admin server.
  const uint64_t per = cfg.upstream_url.empty() ? 1 : 2;
  const uint64_t need = cfg.max_connections * per + 256;
  const std::string have = lim.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(lim.rlim_cur);
  if (cfg.max_connections == 0 || lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need)
    return r.Ok("limits", "open files " + have + " cover gateway.max_connections " +
                              std::to_string(cfg.max_connections));
  r.Warn("limits",
         "open files " + have + " < " + std::to_string(need) + " needed for gateway.max_connections " +
             std::to_string(cfg.max_connections),
         "raise LimitNOFILE= (tosgate.service has 65536) or ulimit -n, or lower gateway.max_connections");
}

}  // namespace

int RunDoctor(const Args& in) {
  Args args = in;
  if (TakeSwitch(&args, "--help") || TakeSwitch(&args, "-h")) {
    std::cout << "usage: tosgate doctor [--config FILE]\n"
                 "  checks a serve configuration (none: the built-in defaults) and this machine:\n"
                 "  the file, the policies, free ports, writable stores, readable keys, Redis and\n"
                 "  PostgreSQL when configured, the clock and the open-files limit; says what to fix.\n"
                 "  Exit 0: nothing failed (warnings allowed); 1: a check failed; 2: bad usage.\n";
    return 0;
  }
  bool bad = false;
  std::string config_path;
  const bool have_config = TakeFlag(&args, "--config", &config_path, &bad);
  if (bad) return 2;
  if (!args.empty()) {
    std::cerr << "tosgate doctor: unexpected argument '" << args[0] << "'\n";
    return 2;
  }
  ServeConfig cfg;
  Report r;
  if (have_config) {
    const std::vector<server::ConfigError> errors = server::LoadServeConfig(config_path, &cfg);
    if (!errors.empty()) {
      std::string all;
      for (const server::ConfigError& e : errors) all += "\n      " + e.ToString();
      r.Fail("config", config_path + " does not load:" + all, "correct the keys named above (docs/cli.md)");
      std::cout << "tosgate doctor: 1 failed; the other checks need a configuration that loads\n";
      return 2;
    }
    r.Ok("config", config_path + " loads");
  } else {
    r.Ok("config", "no --config: the built-in defaults");
  }
  CheckPolicies(cfg, r);
  CheckPorts(cfg, r);
  CheckStores(cfg, r);
  CheckRedis(cfg, r);
  CheckPostgres(cfg, r);
  CheckClock(r);
  CheckLimits(cfg, r);
  std::cout << "tosgate doctor: " << r.failures << " failed, " << r.warnings << " warnings\n";
  return r.failures ? 1 : 0;
}

}  // namespace tosgate::cli
