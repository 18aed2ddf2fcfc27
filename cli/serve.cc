// tosgate serve: the gateway process. Works with no configuration at all.
// This file takes the flags and prints; server/server.h builds the process.
#include <signal.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "engine/engine.h"
#include "server/audit_backend.h"
#include "server/config.h"
#include "server/logging.h"
#include "server/sd_notify.h"
#include "server/server.h"

namespace tosgate::cli {
namespace {

using server::ServeConfig;

// "http://host:port" for a listen address and the port it was bound to.
std::string BaseUrl(const std::string& listen, int port) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty()) host = "0.0.0.0";
  return "http://" + host + ":" + std::to_string(port);
}

void PrintBanner(const ServeConfig& cfg, const server::Server& srv) {
  const int gateway_port = srv.gateway_port(), control_port = srv.control_port();
  const std::string control_listen = server::EffectiveControlListen(cfg);
  const engine::PolicySnapshot& snap = *srv.engine().snapshot();
  const std::string base = BaseUrl(cfg.gateway_listen, gateway_port);
  const std::string control = control_port > 0 ? BaseUrl(control_listen, control_port) : "";
  const bool inline_mode = !cfg.upstream_url.empty();
  std::string admin_host = cfg.admin_listen.substr(0, cfg.admin_listen.rfind(':'));
  std::cout << "tosgate: policies " << (cfg.policies_dir.empty() ? "(built-in default pack)" : cfg.policies_dir)
            << ", " << snap.rules.size() << " rules, revision " << snap.revision << "\n"
            << "tosgate: audit " << server::DescribeAuditBackend(cfg) << "\n";
  // Where checks and usage reports go (docs/inline-proxy.md, "Control
  // endpoints"): in inline mode never the client port.
  const std::string check_base = inline_mode ? control : base;
  const std::string usage_base = inline_mode || !control.empty() ? control : base;
  const std::string token = cfg.control_token_sha256.empty() ? "" : " (X-Tos-Control-Token required)";
  if (inline_mode) std::cout << "tosgate: inline proxy on " << base << " -> " << cfg.upstream_url << "\n";
  if (!check_base.empty()) std::cout << "tosgate: forward-auth on " << check_base << cfg.path_prefix << "\n";
  if (!usage_base.empty()) std::cout << "tosgate: usage reports on " << usage_base << "/v1/usage" << token << "\n";
  if (control.empty() && inline_mode)
    std::cout << "tosgate: no control listener (gateway.control_listen: off): checks and usage reports "
                 "are not served\n";
  std::cout << "tosgate: admin on " << (cfg.admin_tls_cert.empty() ? "http://" : "https://") << admin_host
            << ":" << srv.admin_port() << " (/healthz, /readyz, /metrics, /v1/admin/...; "
            << cfg.admin_tokens.size() << " tokens)\n";
  std::cout << "\nTry it:\n";
  if (inline_mode)
    std::cout << "  # through the inline proxy to the upstream: 200\n"
              << "  curl -s " << base << "/v1/chat/completions -H 'Authorization: Bearer sk-demo-1'"
              << " -H 'Content-Type: application/json' -d '{\"model\": \"m\", \"max_tokens\": 8, \"messages\": [{\"role\": \"user\", "
                 "\"content\": \"hello\"}]}'\n";
  if (!check_base.empty()) {
    const std::string check = check_base + cfg.path_prefix;
    std::cout << "  # checks as a proxy would send them; allowed: 200\n"
              << "  curl -i " << check
              << " -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions'"
                 " -H 'Authorization: Bearer sk-demo-1'\n"
              << "  # denied, training a competing model is a declared purpose: 403\n"
              << "  curl -i " << check
              << " -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions'"
                 " -H 'Authorization: Bearer sk-demo-1' -H 'X-Usage-Purpose: model-training'\n"
              << "  # throttled, the free tier allows 20 requests a minute: 20 x 200, then 429\n"
              << "  for i in $(seq 21); do curl -s -o /dev/null -w '%{http_code} ' " << check
              << " -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions'"
                 " -H 'Authorization: Bearer sk-demo-2'; done; echo\n";
  }
  std::cout << std::endl;
}

// The banner's facts as one event, for the JSON log (no "Try it" lines).
void LogServing(const ServeConfig& cfg, const server::Server& srv) {
  const engine::PolicySnapshot& snap = *srv.engine().snapshot();
  server::LogEvent(server::LogLevel::kInfo, "server", "serving",
                   {{"gateway", BaseUrl(cfg.gateway_listen, srv.gateway_port())},
                    {"upstream", cfg.upstream_url},
                    {"control", srv.control_port() > 0
                                    ? BaseUrl(server::EffectiveControlListen(cfg), srv.control_port())
                                    : ""},
                    {"admin_port", std::to_string(srv.admin_port()), true},
                    {"policies", cfg.policies_dir.empty() ? "(built-in default pack)" : cfg.policies_dir},
                    {"rules", std::to_string(snap.rules.size()), true},
                    {"revision", snap.revision},
                    {"audit", server::DescribeAuditBackend(cfg)}});
}

// The configuration file, then the flags over it. False after saying why
// on stderr (exit 2).
bool ReadServeArgs(const Args& in, ServeConfig* cfg) {
  Args args = in;
  bool bad = false;
  std::string config_path, policies_dir, accounts_file, accounts_db, upstream, control_listen, log_format;
  const bool have_config = TakeFlag(&args, "--config", &config_path, &bad);
  const bool have_policies = TakeFlag(&args, "--policies", &policies_dir, &bad);
  const bool have_accounts = TakeFlag(&args, "--accounts", &accounts_file, &bad);
  const bool have_accounts_db = TakeFlag(&args, "--accounts-db", &accounts_db, &bad);
  const bool have_upstream = TakeFlag(&args, "--upstream", &upstream, &bad);
  const bool have_control = TakeFlag(&args, "--control-listen", &control_listen, &bad);
  const bool watch = TakeSwitch(&args, "--watch");
  const bool have_log_format = TakeFlag(&args, "--log-format", &log_format, &bad);
  if (have_log_format && log_format != "text" && log_format != "json") {
    std::cerr << "tosgate serve: --log-format must be text or json\n";
    return false;
  }
  if (bad) return false;
  if (!args.empty()) {
    std::cerr << "tosgate serve: unexpected argument '" << args[0] << "'\n";
    return false;
  }
  if (have_config) {
    const std::vector<server::ConfigError> errors = server::LoadServeConfig(config_path, cfg);
    for (const server::ConfigError& e : errors) std::cerr << e.ToString() << "\n";
    if (!errors.empty()) return false;
  }
  if (have_policies) cfg->policies_dir = policies_dir;
  if (have_accounts) cfg->accounts_file = accounts_file;
  if (have_accounts_db) cfg->accounts_db = accounts_db;
  if (!cfg->accounts_file.empty() && !cfg->accounts_db.empty()) {
    std::cerr << "tosgate serve: give an accounts file or an accounts registry (db), not both\n";
    return false;
  }
  if (watch) cfg->policies_watch = true;
  if (have_log_format) cfg->log_format = log_format == "json" ? server::LogFormat::kJson : server::LogFormat::kText;
  if (have_upstream) cfg->upstream_url = upstream;
  if (have_control) cfg->control_listen = control_listen == "off" ? "" : control_listen;
  if (cfg->policies_watch && cfg->policies_dir.empty()) {
    std::cerr << "tosgate serve: --watch needs a policy directory (--policies DIR)\n";
    return false;
  }
  return true;
}

}  // namespace

int RunServe(const Args& args) {
  ServeConfig cfg;
  if (!ReadServeArgs(args, &cfg)) return 2;
  // Signals are taken by sigtimedwait below, so no other thread may receive
  // them: blocked before the server starts any.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Every line of the server's progress is one log event (server/logging.h);
  // in the text format exactly the line it always was.
  server::ConfigureLog(cfg.log_format, cfg.log_level);
  std::unique_ptr<std::ostream> log = server::LogLineStream("server");
  auto srv = server::Server::Start(cfg, *log);
  if (!srv.ok()) return srv.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  if (cfg.log_format == server::LogFormat::kText) PrintBanner(cfg, **srv);
  else LogServing(cfg, **srv);
  // Under systemd (Type=notify): started once the listeners are up and the
  // audit store is open, which Start returning means. A failure to tell it
  // is said, not fatal: systemd then times the start out by itself.
  auto notify = [&log](std::string_view state) {
    if (Status s = server::SdNotify(state); !s.ok()) *log << "tosgate: " << s.message() << "\n";
  };
  notify("READY=1\nSTATUS=serving");
  for (;;) {
    timespec tick{0, 250'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGHUP) {
      notify("RELOADING=1\nSTATUS=reloading policies");
      (*srv)->Reload("SIGHUP");
      notify("READY=1\nSTATUS=serving");
    } else if (sig == SIGINT || sig == SIGTERM) {
      *log << "tosgate: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", draining\n";
      notify("STOPPING=1\nSTATUS=draining");
      break;
    } else {
      (*srv)->Tick();
    }
  }
  return (*srv)->Stop().ok() ? 0 : 1;
}

}  // namespace tosgate::cli
