// tosgate-extauthz: Envoy's gRPC ext_authz (envoy.service.auth.v3.Authorization)
// deciding through libtosgate, for Envoy, Istio, Envoy Gateway and Envoy AI
// Gateway (docs/deploy-envoy.md).
//
//   tosgate-extauthz --listen 127.0.0.1:9191 --policies DIR
//                    [--accounts FILE] [--audit DB] [--audit-socket PATH]
//                    [--api callback|sync]
//
// --api: gRPC's callback API (the default: a check is decided on the thread
// that read it) or its synchronous one (a hand-over to a pool per call).
//
// SIGTERM or SIGINT: stop taking calls, finish those in flight, flush the
// audit store, exit 0.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "api/extauthz/service.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: tosgate-extauthz --listen ADDR --policies DIR [--accounts FILE] "
               "[--audit DB] [--audit-socket PATH] [--api callback|sync]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, policies, accounts, audit, audit_socket, api = "callback";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--listen") listen = argv[i + 1];
    else if (flag == "--policies") policies = argv[i + 1];
    else if (flag == "--accounts") accounts = argv[i + 1];
    else if (flag == "--audit") audit = argv[i + 1];
    else if (flag == "--audit-socket") audit_socket = argv[i + 1];
    else if (flag == "--api") api = argv[i + 1];
    else return Usage();
  }
  if (argc % 2 == 0 || listen.empty() || policies.empty() || (api != "callback" && api != "sync"))
    return Usage();

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  tosgate_config* config = tosgate_config_create();
  tosgate_config_set_policy_dir(config, policies.c_str());
  tosgate_config_set_accounts_file(config, accounts.c_str());
  tosgate_config_set_audit(config, audit.c_str(), 1);
  tosgate_config_set_audit_socket(config, audit_socket.c_str());
  char* error = nullptr;
  tosgate_engine* engine = tosgate_engine_create(config, &error);
  tosgate_config_destroy(config);
  if (!engine) {
    std::fprintf(stderr, "tosgate-extauthz: %s\n", error);
    tosgate_free_string(error);
    return 1;
  }
  tosgate::extauthz::Service sync_service(engine);
  tosgate::extauthz::CallbackService callback_service(engine);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  if (api == "sync")
    builder.RegisterService(&sync_service);
  else
    builder.RegisterService(&callback_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "tosgate-extauthz: cannot listen on %s\n", listen.c_str());
    tosgate_engine_destroy(engine);
    return 1;
  }
  std::fprintf(stderr, "tosgate-extauthz: listening on %s (port %d, %s API)\n", listen.c_str(),
               port, api.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown();
  tosgate_engine_destroy(engine);
  return 0;
}
