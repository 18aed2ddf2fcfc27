// SocketAuditSink and AuditSocketServer (socket_sink.h): blocking I/O on
// Unix stream sockets, a frame at a time.
#include "storage/audit_socket/socket_sink.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tosgate::storage {
namespace {

using engine::AuditRecord;

constexpr uint32_t kMaxFrame = 16u << 20;  // a record is a few KiB; refuse nonsense

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

sockaddr_un Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  return a;
}

}  // namespace

// ---- The engines' side ----

SocketAuditSink::SocketAuditSink(std::string path, std::chrono::milliseconds timeout, Mode mode)
    : path_(std::move(path)), timeout_(timeout), mode_(mode) {
  if (mode_ == Mode::kAsync) sender_ = std::thread([this] { SendLoop(); });
}

SocketAuditSink::~SocketAuditSink() {
  if (sender_.joinable()) {
    {
      std::lock_guard lock(qmu_);
      stop_ = true;
    }
    wake_.notify_all();
    sender_.join();
  }
  Disconnect();
}

Status SocketAuditSink::Connect() {
  if (fd_ >= 0) return Status::Ok();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable(std::string("audit socket: ") + std::strerror(errno));
  // A writer that stops answering must not hold the caller forever.
  timeval tv{static_cast<time_t>(timeout_.count() / 1000),
             static_cast<suseconds_t>(timeout_.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un a = Address(path_);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::Unavailable("audit writer at " + path_ + ": " + std::strerror(err));
  }
  fd_ = fd;
  return Status::Ok();
}

void SocketAuditSink::Disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status SocketAuditSink::Submit(AuditRecord record) {
  if (mode_ == Mode::kAsync) {
    std::unique_lock lock(qmu_);
    if (queue_.size() >= kMaxQueue)
      return Status::Unavailable("audit writer at " + path_ + ": the queue is full");
    const bool was_empty = queue_.empty();
    const size_t before = queue_.size();
    AppendAuditFrame(&queue_, record);
    ++queued_frames_;
    // The sender waits for the first frame, then lingers for a batch.
    const bool wake = was_empty || (before < kBatchBytes && queue_.size() >= kBatchBytes);
    lock.unlock();
    if (wake) wake_.notify_one();
    return Status::Ok();
  }
  thread_local std::string frame;
  frame.clear();
  AppendAuditFrame(&frame, record);
  std::lock_guard lock(mu_);
  if (Status s = Connect(); !s.ok()) return s;
  char answer = 1;
  if (!WriteAll(fd_, frame.data(), frame.size()) || !ReadAll(fd_, &answer, 1)) {
    // Whether the writer kept the record is unknown: it is not acknowledged.
    Disconnect();
    return Status::Unavailable("audit writer at " + path_ + " did not answer");
  }
  if (answer != 0) return Status::Unavailable("audit writer at " + path_ + " refused the record");
  return Status::Ok();
}

bool SocketAuditSink::Flush() {
  if (mode_ != Mode::kAsync) return true;
  std::unique_lock lock(qmu_);
  const uint64_t want = ++flush_wanted_;
  wake_.notify_one();
  // The sender bounds its own waits by the timeout; this waits for it.
  flushed_.wait(lock, [&] { return flush_done_ >= want || stop_; });
  return flush_done_ >= want && flush_ok_;
}

// ---- kAsync: the sender thread ----

void SocketAuditSink::DropConnection() {
  // Frames sent but not answered: whether the writer kept them is unknown.
  lost_.fetch_add(in_flight_, std::memory_order_relaxed);
  in_flight_ = 0;
  Disconnect();
}

// Reads the answers that are there (wait_ms 0), or waits up to wait_ms for
// each next one until none is in flight. False when the connection broke.
bool SocketAuditSink::ReadAnswers(int wait_ms) {
  char buf[4096];
  while (in_flight_ > 0) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return true;  // nothing more yet
    if (r < 0) return false;
    const ssize_t n = ::recv(fd_, buf, std::min<size_t>(sizeof buf, in_flight_), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return false;
    uint64_t refused = 0;
    for (ssize_t i = 0; i < n; ++i) refused += buf[i] != 0;
    in_flight_ -= static_cast<uint64_t>(n);
    refused_.fetch_add(refused, std::memory_order_relaxed);
    acked_.fetch_add(static_cast<uint64_t>(n) - refused, std::memory_order_relaxed);
  }
  return true;
}

// Sends `batch` whole, reading answers whenever the socket is full: the
// writer answers every frame and stops reading while its answers are not
// read, so a sender that only wrote would wait on it forever.
bool SocketAuditSink::SendAll(const std::string& batch) {
  const char* p = batch.data();
  size_t n = batch.size();
  while (n > 0) {
    const ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd pf{fd_, POLLOUT | POLLIN, 0};
    const int r = ::poll(&pf, 1, static_cast<int>(timeout_.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;  // the writer stopped reading
    if ((pf.revents & POLLIN) && !ReadAnswers(0)) return false;
    if ((pf.revents & (POLLERR | POLLHUP)) && !(pf.revents & POLLOUT)) return false;
  }
  return true;
}

void SocketAuditSink::SendLoop() {
  std::string batch;
  for (;;) {
    uint64_t frames = 0, flush = 0;
    bool flushing = false, stopping = false;
    {
      std::unique_lock lock(qmu_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty() || flush_wanted_ != flush_done_; });
      // Linger for a batch, unless asked to send now.
      if (!stop_ && flush_wanted_ == flush_done_)
        wake_.wait_for(lock, kLinger, [&] {
          return stop_ || queue_.size() >= kBatchBytes || flush_wanted_ != flush_done_;
        });
      batch.clear();
      batch.swap(queue_);
      frames = queued_frames_;
      queued_frames_ = 0;
      flush = flush_wanted_;
      flushing = flush_wanted_ != flush_done_;
      stopping = stop_;
    }
    bool sent = true;
    if (!batch.empty()) {
      if (Connect().ok()) {
        in_flight_ += frames;
        if (!SendAll(batch)) DropConnection();
      } else if (stopping) {
        lost_.fetch_add(frames, std::memory_order_relaxed);
      } else {
        // No writer (yet): the frames wait for it, up to kMaxQueue.
        sent = false;
        std::unique_lock lock(qmu_);
        batch.append(queue_);
        queue_.swap(batch);
        queued_frames_ += frames;
        if (!flushing) {
          wake_.wait_for(lock, std::chrono::milliseconds(100),
                         [&] { return stop_ || flush_wanted_ != flush_done_; });
          continue;
        }
      }
    }
    // The answers there are now; before a flush or stop is done, all of them.
    const bool waiting = flushing || stopping;
    if (fd_ >= 0 && !ReadAnswers(waiting ? static_cast<int>(timeout_.count()) : 0))
      DropConnection();
    if (waiting) {
      {
        std::lock_guard lock(qmu_);
        flush_done_ = flush;
        flush_ok_ = sent && in_flight_ == 0;
      }
      flushed_.notify_all();
    }
    if (stopping) return;
  }
}

// ---- The writer's side ----

Result<std::unique_ptr<AuditSocketServer>> AuditSocketServer::Start(std::string path,
                                                                    engine::AuditSink* sink) {
  sockaddr_un a = Address(path);
  if (path.size() >= sizeof(a.sun_path)) return Status::InvalidArgument("socket path too long: " + path);
  ::unlink(path.c_str());  // a socket left by a writer that was killed
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    return Status::Unavailable("audit socket " + path + ": " + std::strerror(err));
  }
  auto server = std::unique_ptr<AuditSocketServer>(new AuditSocketServer(path, fd, sink));
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

AuditSocketServer::AuditSocketServer(std::string path, int listen_fd, engine::AuditSink* sink)
    : path_(std::move(path)), listen_fd_(listen_fd), sink_(sink) {}

AuditSocketServer::~AuditSocketServer() { Stop(); }

uint64_t AuditSocketServer::records() const { return records_.load(std::memory_order_relaxed); }

void AuditSocketServer::AcceptLoop() {
  for (;;) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) < 0 && errno != EINTR) return;
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (!(p.revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    conns_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void AuditSocketServer::Serve(int fd) {
  // Reads what is there, answers every whole frame in it with one write: an
  // async sender's batch costs a few system calls, not three per record. A
  // sync sender has one frame in flight, answered once its Submit returned.
  std::string in, answers;
  size_t at = 0;
  char chunk[64 << 10];
  bool open = true;
  while (open) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in.append(chunk, static_cast<size_t>(n));
    answers.clear();
    while (in.size() - at >= 4) {
      const auto* len = reinterpret_cast<const unsigned char*>(in.data() + at);
      const uint32_t size = len[0] | len[1] << 8 | len[2] << 16 | uint32_t{len[3]} << 24;
      if (size > kMaxFrame) {
        open = false;  // nonsense: the connection is not ours
        break;
      }
      if (in.size() - at - 4 < size) break;  // the rest of it is still coming
      AuditRecord record;
      char answer = 1;
      if (DecodeAuditRecord(std::string_view(in).substr(at + 4, size), &record).ok() &&
          sink_->Submit(std::move(record)).ok()) {
        answer = 0;
        records_.fetch_add(1, std::memory_order_relaxed);
      }
      answers.push_back(answer);
      at += 4 + size;
    }
    if (!answers.empty() && !WriteAll(fd, answers.data(), answers.size())) break;
    if (at == in.size()) {
      in.clear();
      at = 0;
    } else if (at > (1u << 20)) {
      in.erase(0, at);
      at = 0;
    }
  }
  // The worker went away (exit, reload): forget its connection.
  std::lock_guard lock(mu_);
  std::erase(conns_, fd);
  ::close(fd);
}

void AuditSocketServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);  // ends each Serve's read
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& t : threads_) t.join();
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

}  // namespace tosgate::storage
