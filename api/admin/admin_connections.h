// How the admin server holds its connections, so that slow clients cannot
// starve it (health probes included). cpp-httplib gives each connection a
// worker thread for its whole life and times out each recv on its own, so a
// client that trickles its request a byte at a time keeps a worker as long
// as it likes, and a handful of them took the whole pool of 4. Here:
//  - ElasticPool: `threads` workers kept ready, more started while every one
//    holds a connection, up to `max_threads`;
//  - a deadline per request (request_timeout) for its header and body,
//    from the connection's start or, on a kept-alive one, from its first
//    byte: a trickling client is closed then, counted;
//  - at most `max_per_address` connections from one client address; one
//    more is answered 503 too-many-connections and closed, counted.
// GuardedServer runs httplib's request handling (Server::process_request)
// over DeadlineStream, our own socket stream, in place of httplib's.
//
// Included by admin_server.cc and admin_connections.cc only: it includes
// httplib.h, whose compile switches admin_server.cc documents.
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/thread_annotations.h"

namespace tosgate::api::admin {

// A task queue that grows: `min` workers from the start, one more whenever
// a connection waits and none is free, up to `max` (then connections wait
// their turn). Workers are kept once started: an admin server's threads
// spend their time blocked in poll().
class ElasticPool final : public httplib::TaskQueue {
 public:
  // `started`, when given, counts the workers started (for tests and
  // /metrics); it must outlive the pool.
  ElasticPool(size_t min, size_t max, std::atomic<size_t>* started = nullptr);
  ~ElasticPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs what is queued, then joins the workers

 private:
  void Work();
  void Start() REQUIRES(mu_);  // one more worker
  const size_t max_;
  std::atomic<size_t>* const started_;
  mutable engine::Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_ GUARDED_BY(mu_);
  size_t idle_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
};

struct ConnectionLimits {
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds read_timeout{5000};   // each read, within the request's deadline
  std::chrono::milliseconds write_timeout{5000};  // each write; a response within request_timeout
  std::chrono::milliseconds keep_alive_timeout{2000};
  size_t keep_alive_max = 100;
  size_t max_per_address = 16;  // 0: no limit
  // Sent whole to a connection over max_per_address (plain HTTP only).
  std::string over_limit_response;
};

// Per-address counts and what was refused or cut, shared by the workers.
class ConnectionGuard {
 public:
  explicit ConnectionGuard(ConnectionLimits limits) : limits_(std::move(limits)) {}

  // Serves one accepted socket to its end and closes it. `ssl_ctx` null:
  // plain HTTP. `handle` is Server::process_request; `stopping` says the
  // server is stopping (waits end within 100 ms of it).
  using Handle = std::function<bool(httplib::Stream&, bool close_connection, bool& closed)>;
  bool Serve(int fd, void* ssl_ctx, const Handle& handle, const std::function<bool()>& stopping);

  uint64_t slow_clients() const { return slow_clients_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  bool Enter(const std::string& addr);
  void Leave(const std::string& addr);

  const ConnectionLimits limits_;
  engine::Mutex mu_;
  std::unordered_map<std::string, size_t> open_ GUARDED_BY(mu_);
  std::atomic<uint64_t> slow_clients_{0}, refused_{0};
};

// An httplib server (Server or SSLServer) whose connections ConnectionGuard
// serves.
template <class Base>
class GuardedServer final : public Base {
 public:
  template <class... A>
  explicit GuardedServer(ConnectionGuard* guard, A&&... args)
      : Base(std::forward<A>(args)...), guard_(guard) {}

 private:
  bool process_and_close_socket(socket_t sock) override {
    void* ctx = nullptr;
    if constexpr (std::is_base_of_v<httplib::SSLServer, Base>) ctx = this->ssl_context();
    return guard_->Serve(
        sock, ctx,
        [this](httplib::Stream& s, bool close, bool& closed) {
          return this->process_request(s, close, closed, nullptr);
        },
        [this] { return this->svr_sock_ == INVALID_SOCKET; });
  }

  ConnectionGuard* guard_;
};

}  // namespace tosgate::api::admin
