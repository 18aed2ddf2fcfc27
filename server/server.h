// The gateway process (`tosgate serve`), built from its typed configuration:
// the policy versions store and the policies to serve, the accounts, the
// audit and state backends, the engine and its decision observer, the
// traffic analyzer, the gateway and admin servers, policy reload and watch,
// and one metrics registry every component registers its stats in.
//
// The engine's audit sink and the gateway's durable_audit are wired here
// from one pointer (DecisionSink): with audit.durability sync the gateway
// waits on the very sink the engine records into, and GatewayServer::Start
// refuses any other.
//
// Thread-safety: Start, Reload, Tick and Stop are called from one thread
// (cli/serve.cc's signal loop); the servers serve on their own threads.
#pragma once

#include <memory>
#include <ostream>
#include <string_view>

#include "server/config.h"
#include "tosgate/status.h"

namespace tosgate::engine {
class Engine;
}
namespace tosgate::metrics {
class Registry;
}

namespace tosgate::server {

class Server {
 public:
  // Opens, wires and starts everything `cfg` names. Progress and, on
  // failure, why (one line, or every policy diagnostic) go to `log`. The
  // status is InvalidArgument when the configuration or the files it names
  // are at fault (serve exits 2), another code when the system refused
  // (a port in use, a database that cannot be reached: exit 1).
  static Result<std::unique_ptr<Server>> Start(const ServeConfig& cfg, std::ostream& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int gateway_port() const;
  int control_port() const;  // 0 without a control listener
  int admin_port() const;
  const engine::Engine& engine() const;
  const metrics::Registry& metrics() const;

  // Reloads the policies now ("SIGHUP"); errors keep the active set.
  void Reload(std::string_view why);
  // Every quarter second or so: with policies.watch, notices changes and
  // loads them once they have settled (server/policy_reload.h).
  void Tick();
  // Stops taking connections, lets in-flight requests finish, stops the
  // analyzer and flushes the audit store; logs a summary. The audit store's
  // Close status (not Ok: serve exits 1).
  Status Stop();

 private:
  struct Parts;
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> p_;
};

}  // namespace tosgate::server
