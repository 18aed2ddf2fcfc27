// tosgate-audit-writer: owns one SQLite audit store and writes the records
// that engines in other processes send over a Unix socket
// (storage/audit_socket/socket_sink.h has the framing and the guarantee).
//
//   tosgate-audit-writer --socket PATH --audit DB [--durability sync|async]
//
// With sync (the default), a record is acknowledged only once committed
// with synchronous=FULL; records from every connection share commits.
// SIGTERM or SIGINT: stop accepting, commit what is queued, exit 0.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "storage/audit/sqlite/sink.h"
#include "storage/audit_socket/socket_sink.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: tosgate-audit-writer --socket PATH --audit DB [--durability sync|async]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, audit, durability = "sync";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--socket") socket = argv[i + 1];
    else if (flag == "--audit") audit = argv[i + 1];
    else if (flag == "--durability") durability = argv[i + 1];
    else return Usage();
  }
  if (argc % 2 == 0 || socket.empty() || audit.empty() ||
      (durability != "sync" && durability != "async"))
    return Usage();

  // Block the stop signals in every thread; main waits for one below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  tosgate::storage::SqliteAuditOptions opts;
  opts.path = audit;
  opts.durability = durability == "sync" ? tosgate::storage::Durability::kSync
                                         : tosgate::storage::Durability::kAsync;
  opts.synchronous_full = durability == "sync";
  auto sink = tosgate::storage::SqliteAuditSink::Open(opts);
  if (!sink.ok()) {
    std::fprintf(stderr, "tosgate-audit-writer: %s\n", sink.status().message().c_str());
    return 1;
  }
  auto server = tosgate::storage::AuditSocketServer::Start(socket, sink->get());
  if (!server.ok()) {
    std::fprintf(stderr, "tosgate-audit-writer: %s\n", server.status().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "tosgate-audit-writer: %s -> %s (%s)\n", socket.c_str(), audit.c_str(),
               durability.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  (*server)->Stop();
  tosgate::Status closed = (*sink)->Close();
  std::fprintf(stderr, "tosgate-audit-writer: %llu records, %s\n",
               static_cast<unsigned long long>((*server)->records()),
               closed.ok() ? "closed" : closed.message().c_str());
  return closed.ok() ? 0 : 1;
}
