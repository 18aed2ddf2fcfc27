// The data plane's connections as the server sees them (server_internal.h):
// start one, shut one down, let go of those a late audit commit held.
#include "api/gateway/session.h"

namespace tosgate::api::gateway_internal {

void StartSession(Socket socket, Shared* shared, Worker* w, Listener listener) {
  // The session moves into the posted handler, so its last reference is
  // dropped on its own worker's thread, never on the acceptor's.
  auto session = std::make_shared<Session>(std::move(socket), shared, w, listener);
  net::post(w->ioc, [s = std::move(session)] { s->Start(); });
}

void ShutdownSession(Session* session) { session->Shutdown(); }

void ReleaseAudited(Worker* w) {
  std::vector<std::pair<Session*, Status>> late;
  {
    engine::MutexLock lock(w->audit_mu);
    late.swap(w->audited);
  }
  for (auto& [s, status] : late) s->DropAuditHold();
}

}  // namespace tosgate::api::gateway_internal
