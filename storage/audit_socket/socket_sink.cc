// SocketAuditSink and AuditSocketServer (socket_sink.h): blocking I/O on
// Unix stream sockets, a frame at a time.
#include "storage/audit_socket/socket_sink.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace tosgate::storage {
namespace {

using engine::AuditMatch;
using engine::AuditRecord;
using nlohmann::json;

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

bool ReadFrame(int fd, std::string* out) {
  unsigned char len[4];
  if (!ReadAll(fd, reinterpret_cast<char*>(len), 4)) return false;
  const uint32_t n = len[0] | len[1] << 8 | len[2] << 16 | uint32_t{len[3]} << 24;
  if (n > kMaxFrame) return false;
  out->resize(n);
  return ReadAll(fd, out->data(), n);
}

sockaddr_un Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  return a;
}

}  // namespace

std::string EncodeAuditRecord(const AuditRecord& r) {
  json matches = json::array();
  for (const AuditMatch& m : r.matches)
    matches.push_back({{"rule", m.rule_id}, {"action", static_cast<int>(m.action)},
                       {"shadow", m.shadow}, {"detail", m.detail}});
  json j = {{"id", r.id}, {"time_ms", r.time_ms}, {"request_id", r.request_id},
            {"account", r.account}, {"key_id", r.key_id}, {"org", r.org},
            {"client_ip", r.client_ip}, {"method", r.method}, {"path", r.path},
            {"operation", r.operation}, {"model", r.model}, {"kind", static_cast<int>(r.kind)},
            {"effect", static_cast<int>(r.effect)}, {"enforced", r.enforced},
            {"status", r.status}, {"reason", r.reason}, {"rule_ids", r.rule_ids},
            {"matches", std::move(matches)}, {"risk", r.risk},
            {"policy_revision", r.policy_revision}, {"prompt_sha256", r.prompt_sha256},
            {"latency_us", r.latency_us}};
  // Trace context only when the caller sent one (most records have none).
  if (!r.traceparent.empty()) j["traceparent"] = r.traceparent;
  if (!r.tracestate.empty()) j["tracestate"] = r.tracestate;
  if (r.cost_reserved_nano >= 0) j["cost_reserved_nano"] = r.cost_reserved_nano;
  if (r.cost_settled_nano >= 0) j["cost_settled_nano"] = r.cost_settled_nano;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status DecodeAuditRecord(std::string_view text, AuditRecord* out) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("audit frame: not a JSON object");
  try {
    AuditRecord r;
    j.at("id").get_to(r.id);
    j.at("time_ms").get_to(r.time_ms);
    j.at("request_id").get_to(r.request_id);
    j.at("account").get_to(r.account);
    j.at("key_id").get_to(r.key_id);
    j.at("org").get_to(r.org);
    j.at("client_ip").get_to(r.client_ip);
    j.at("method").get_to(r.method);
    j.at("path").get_to(r.path);
    j.at("operation").get_to(r.operation);
    j.at("model").get_to(r.model);
    r.kind = static_cast<engine::RecordKind>(j.at("kind").get<int>());
    r.effect = static_cast<Effect>(j.at("effect").get<int>());
    j.at("enforced").get_to(r.enforced);
    j.at("status").get_to(r.status);
    j.at("reason").get_to(r.reason);
    j.at("rule_ids").get_to(r.rule_ids);
    for (const json& m : j.at("matches"))
      r.matches.push_back({m.at("rule").get<std::string>(),
                           static_cast<Action>(m.at("action").get<int>()),
                           m.at("shadow").get<bool>(), m.at("detail").get<std::string>()});
    j.at("risk").get_to(r.risk);
    j.at("policy_revision").get_to(r.policy_revision);
    j.at("prompt_sha256").get_to(r.prompt_sha256);
    j.at("latency_us").get_to(r.latency_us);
    r.traceparent = j.value("traceparent", std::string());
    r.tracestate = j.value("tracestate", std::string());
    r.cost_reserved_nano = j.value("cost_reserved_nano", int64_t{-1});
    r.cost_settled_nano = j.value("cost_settled_nano", int64_t{-1});
    *out = std::move(r);
    return Status::Ok();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("audit frame: ") + e.what());
  }
}

// ---- The engines' side ----

SocketAuditSink::SocketAuditSink(std::string path, std::chrono::milliseconds timeout)
    : path_(std::move(path)), timeout_(timeout) {}

SocketAuditSink::~SocketAuditSink() { Disconnect(); }

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
  const std::string body = EncodeAuditRecord(record);
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string frame{static_cast<char>(n & 0xff), static_cast<char>(n >> 8 & 0xff),
                    static_cast<char>(n >> 16 & 0xff), static_cast<char>(n >> 24 & 0xff)};
  frame += body;
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
  std::string frame;
  while (ReadFrame(fd, &frame)) {
    AuditRecord record;
    char answer = 1;
    if (DecodeAuditRecord(frame, &record).ok() && sink_->Submit(std::move(record)).ok()) {
      answer = 0;
      records_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!WriteAll(fd, &answer, 1)) break;
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
