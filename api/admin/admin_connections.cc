// The admin server's connections: an elastic worker pool, a deadline per
// request, a cap per client address (admin_connections.h says why).
#include "api/admin/admin_connections.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>

namespace tosgate::api::admin {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string AddressOf(int fd, bool peer, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
  if (rc != 0 || getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv,
                             sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    *port = 0;
    return "";
  }
  *port = std::atoi(serv);
  return host;
}

// A socket (with TLS when `ssl` is set) that httplib reads requests from
// and writes responses to. Non-blocking underneath: every wait is a poll
// bounded by the operation's timeout and by the request's deadline, in
// slices of at most 100 ms so that a stopping server is noticed.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int fd, SSL* ssl, const ConnectionLimits& limits,
                 const std::function<bool()>& stopping)
      : fd_(fd), ssl_(ssl), limits_(limits), stopping_(stopping) {}

  // A new request starts now: its header and body must be in by the
  // deadline, and its response out within request_timeout of the first
  // byte written.
  void StartRequest() {
    read_deadline_ = SteadyClock::now() + limits_.request_timeout;
    write_deadline_.reset();
  }
  bool missed_deadline() const { return missed_deadline_; }
  bool Handshake();
  // Whether a byte (or TLS data) arrives within `within`, between requests.
  bool WaitForRequest(milliseconds within) {
    if (pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0)) return true;
    return Wait(POLLIN, SteadyClock::now() + within, nullptr);
  }

  bool is_readable() const override {
    if (pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0)) return true;
    return const_cast<DeadlineStream*>(this)->WaitRead();
  }
  bool is_writable() const override { return const_cast<DeadlineStream*>(this)->WaitWrite(); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ == len_) {
      // httplib reads a header a byte at a time: read ahead into the buffer.
      const ssize_t n = RawRead(buf_, sizeof buf_);
      if (n <= 0) return n;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, len_ - pos_);
    std::memcpy(ptr, buf_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!write_deadline_) write_deadline_ = SteadyClock::now() + limits_.request_timeout;
    const int chunk = static_cast<int>(std::min<size_t>(size, INT_MAX));
    for (;;) {
      if (ssl_) {
        const int n = SSL_write(ssl_, ptr, chunk);
        if (n > 0) return n;
        if (!WaitTls(SSL_get_error(ssl_, n), false)) return -1;
        continue;
      }
      const ssize_t n = ::send(fd_, ptr, static_cast<size_t>(chunk), MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !WaitWrite()) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = AddressOf(fd_, true, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = AddressOf(fd_, false, &port);
  }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t RawRead(char* ptr, size_t size) {
    const int chunk = static_cast<int>(std::min<size_t>(size, INT_MAX));
    for (;;) {
      if (ssl_) {
        const int n = SSL_read(ssl_, ptr, chunk);
        if (n > 0) return n;
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        if (!WaitTls(err, true)) return -1;
        continue;
      }
      const ssize_t n = ::recv(fd_, ptr, static_cast<size_t>(chunk), 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !WaitRead()) return -1;
    }
  }

  // TLS wants to read or write (a handshake, a renegotiation) before it can
  // go on; wait for that within the current operation's bounds.
  bool WaitTls(int err, bool reading) {
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
    const short events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return reading
               ? Wait(events, Bound(limits_.read_timeout, read_deadline_), &read_deadline_)
               : Wait(events, Bound(limits_.write_timeout, *write_deadline_), &*write_deadline_);
  }
  bool WaitRead() {
    return Wait(POLLIN, Bound(limits_.read_timeout, read_deadline_), &read_deadline_);
  }
  bool WaitWrite() {
    if (!write_deadline_) write_deadline_ = SteadyClock::now() + limits_.request_timeout;
    return Wait(POLLOUT, Bound(limits_.write_timeout, *write_deadline_), &*write_deadline_);
  }
  static SteadyClock::time_point Bound(milliseconds each, SteadyClock::time_point deadline) {
    return std::min(SteadyClock::now() + each, deadline);
  }

  // Polls for `events` until `until`; false at `until` (and, when it is
  // `*deadline`, the request's deadline was missed), when the server stops,
  // or when the peer is gone.
  bool Wait(short events, SteadyClock::time_point until, const SteadyClock::time_point* deadline) {
    for (;;) {
      if (stopping_()) return false;
      const auto now = SteadyClock::now();
      if (now >= until) {
        if (deadline && now >= *deadline) missed_deadline_ = true;
        return false;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(until - now).count() + 1;
      pollfd p{fd_, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
      if (rc < 0 && errno != EINTR) return false;
      if (rc > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    }
  }

  const int fd_;
  SSL* const ssl_;
  const ConnectionLimits& limits_;
  const std::function<bool()>& stopping_;
  SteadyClock::time_point read_deadline_ = SteadyClock::now();
  std::optional<SteadyClock::time_point> write_deadline_;
  bool missed_deadline_ = false;
  char buf_[4096];
  size_t pos_ = 0, len_ = 0;
};

bool DeadlineStream::Handshake() {
  for (;;) {
    const int rc = SSL_accept(ssl_);
    if (rc == 1) return true;
    if (!WaitTls(SSL_get_error(ssl_, rc), true)) return false;
  }
}

}  // namespace

ElasticPool::ElasticPool(size_t min, size_t max, std::atomic<size_t>* started)
    : max_(std::max<size_t>({1, min, max})), started_(started) {
  engine::MutexLock lock(mu_);
  for (size_t i = 0; i < std::max<size_t>(1, min); ++i) Start();
}

void ElasticPool::Start() {
  threads_.emplace_back([this] { Work(); });
  if (started_) started_->fetch_add(1, std::memory_order_relaxed);
}

ElasticPool::~ElasticPool() { shutdown(); }

void ElasticPool::enqueue(std::function<void()> fn) {
  engine::MutexLock lock(mu_);
  jobs_.push_back(std::move(fn));
  // More waiting than free workers: one more, while under the cap.
  if (jobs_.size() > idle_ && threads_.size() < max_) Start();
  cv_.notify_one();
}

void ElasticPool::shutdown() {
  std::vector<std::thread> threads;
  {
    engine::MutexLock lock(mu_);
    stop_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

void ElasticPool::Work() {
  engine::MutexLock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stop_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.Unlock();
    fn();
    lock.Lock();
  }
}

bool ConnectionGuard::Enter(const std::string& addr) {
  if (limits_.max_per_address == 0) return true;
  engine::MutexLock lock(mu_);
  size_t& n = open_[addr];
  if (n >= limits_.max_per_address) {
    if (n == 0) open_.erase(addr);
    return false;
  }
  ++n;
  return true;
}

void ConnectionGuard::Leave(const std::string& addr) {
  if (limits_.max_per_address == 0) return;
  engine::MutexLock lock(mu_);
  auto it = open_.find(addr);
  if (it != open_.end() && --it->second == 0) open_.erase(it);
}

bool ConnectionGuard::Serve(int fd, void* ssl_ctx, const Handle& handle,
                            const std::function<bool()>& stopping) {
  int port = 0;
  const std::string addr = AddressOf(fd, true, &port);
  auto close_socket = [fd] {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  };
  if (!Enter(addr)) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    // Best effort, never waiting: the answer fits a fresh socket's buffer.
    if (!ssl_ctx && !limits_.over_limit_response.empty())
      (void)::send(fd, limits_.over_limit_response.data(), limits_.over_limit_response.size(),
                   MSG_NOSIGNAL | MSG_DONTWAIT);
    close_socket();
    return false;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  SSL* ssl = nullptr;
  if (ssl_ctx) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx));
    if (ssl) SSL_set_fd(ssl, fd);
  }
  DeadlineStream stream(fd, ssl, limits_, stopping);
  stream.StartRequest();  // the first request's deadline runs from the accept
  bool ok = ssl_ctx ? ssl && stream.Handshake() : true;
  for (size_t left = limits_.keep_alive_max; ok && left > 0 && !stopping(); --left) {
    if (left != limits_.keep_alive_max) {
      if (!stream.WaitForRequest(limits_.keep_alive_timeout)) break;  // idle: close
      stream.StartRequest();
    }
    bool closed = false;
    ok = handle(stream, left == 1, closed);
    // A client that missed its deadline is not kept (httplib may have
    // answered its cut-short header with a 400).
    if (closed || stream.missed_deadline()) break;
  }
  if (stream.missed_deadline()) slow_clients_.fetch_add(1, std::memory_order_relaxed);
  if (ssl) {
    if (ok) SSL_shutdown(ssl);  // one try: a close_notify, not waiting for the peer's
    SSL_free(ssl);
  }
  close_socket();
  Leave(addr);
  return ok;
}

}  // namespace tosgate::api::admin
