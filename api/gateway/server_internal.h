// The data plane's internals shared by the server (gateway_server.cc) and
// its connections (session.cc): Beast types, so included by those two only.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api/gateway/gateway_server.h"
#include "api/gateway/inline_proxy.h"
#include "api/request/batch_ledger.h"
#include "engine/thread_annotations.h"

namespace tosgate::api::gateway_internal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using proxy::Executor;
using proxy::Stream;
using Socket = net::basic_stream_socket<tcp, Executor>;

struct Counters {
  std::atomic<uint64_t> requests{0}, checks{0}, bad_requests{0}, internal_errors{0};
  std::atomic<uint64_t> connections{0}, open_connections{0}, delayed{0};
  std::atomic<uint64_t> refused_connections{0}, read_timeouts{0};
};

// What every connection of one server shares. Outlives all sessions.
struct Shared {
  GatewayServerOptions options;
  engine::Engine& engine;
  Counters counters;
  std::atomic<bool> stopping{false};
  std::optional<proxy::Upstream> upstream;  // inline proxy mode when set
  // The translation settings of the inline proxy's own requests: those of
  // forward auth without the check's path prefix. Built once at start.
  ForwardAuthConfig inline_auth;
  proxy::ProxyCounters proxy_counters;
  // Batch files and batches between their steps (inline proxy mode).
  BatchLedger batches;
};

class Session;

// One thread with its own io_context. `sessions` is touched only on that
// thread; it is declared before `ioc` so that it outlives the handlers (and
// the sessions they hold) that the io_context destroys.
struct Worker {
  std::unordered_set<Session*> sessions;
  // Synchronous durability: commits of this worker's records, handed over by
  // the audit writer's thread. Only the record that finds the list empty
  // posts to the io_context, so one wake-up answers a whole batch.
  engine::Mutex audit_mu;
  std::vector<std::pair<Session*, Status>> audited GUARDED_BY(audit_mu);
  std::vector<std::pair<Session*, Status>> audited_batch;  // this thread's, swapped with `audited`
  net::io_context ioc{1};
  // After ioc: its connections must go before the io_context does.
  std::unique_ptr<proxy::ConnectionPool> pool;
  std::optional<net::executor_work_guard<Executor>> guard;
  std::thread thread;
};

inline void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

// Which listening socket a connection came in on: what it may ask for
// differs (gateway_server.h).
enum class Listener : uint8_t { kClient, kControl };

// Starts serving an accepted connection on worker `w` (posted to its thread).
void StartSession(Socket socket, Shared* shared, Worker* w, Listener listener);
// Stop(): an idle connection closes now, a busy one after its response.
void ShutdownSession(Session* session);
// After the threads are joined: lets go of the sessions whose commit came
// in too late to be answered.
void ReleaseAudited(Worker* w);

}  // namespace tosgate::api::gateway_internal
