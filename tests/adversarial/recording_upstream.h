// RecordingUpstream: a stand-in model API on loopback that writes down every
// request exactly as it arrived (method, target, every header in order with
// duplicates, body bytes), so that a test can compare what the upstream
// received with what tosgate decided.
//
// It answers every request 200 with a small chat.completion JSON carrying a
// usage block. A request with the header `x-test-hold: 1` is answered as a
// server-sent-event stream whose head and first event go out at once and
// whose end waits for Release(): a stream still running, for the tests of
// usage reports sent while it runs.
//
// Blocking sockets, one thread per connection; Stop() (and the destructor)
// unblocks and joins them all. Thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tosgate::test {

struct ReceivedRequest {
  std::string method;
  std::string target;  // as on the request line, query included
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
  std::string body;                                          // de-chunked

  // Every value of the header `lower`.
  std::vector<std::string> all(std::string_view lower) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
      if (k == lower) out.push_back(v);
    return out;
  }
  std::string header(std::string_view lower) const {
    for (const auto& [k, v] : headers)
      if (k == lower) return v;
    return "";
  }
  bool has(std::string_view lower) const { return !all(lower).empty(); }
  std::string path() const { return target.substr(0, target.find('?')); }
  std::string query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? "" : target.substr(q + 1);
  }
};

class RecordingUpstream {
 public:
  RecordingUpstream() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 128) != 0)
      std::abort();  // loopback with a free port: cannot fail on a working host
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~RecordingUpstream() { Stop(); }
  RecordingUpstream(const RecordingUpstream&) = delete;
  RecordingUpstream& operator=(const RecordingUpstream&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<ReceivedRequest> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return received_.size();
  }
  // Waits (at most 10 s, so a broken gateway fails the test rather than
  // hanging it) until `n` requests have arrived.
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return received_.size() >= n; });
  }
  // Lets every held stream finish, now and later.
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      released_ = true;
      cv_.notify_all();
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (accept_.joinable()) accept_.join();
    ::close(listen_fd_);
    std::vector<std::thread> conns;
    {
      std::lock_guard lock(mu_);
      conns.swap(conns_);
    }
    for (std::thread& t : conns) t.join();
  }

  // The answer to an ordinary request.
  static constexpr std::string_view kAnswer =
      R"({"id":"chatcmpl-rec","object":"chat.completion","model":"m","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;  // Stop() shut the socket
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      conn_fds_.push_back(fd);
      conns_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

  // Reads until `buf` holds `delim`; false on EOF or error.
  static bool FillUntil(int fd, std::string* buf, std::string_view delim) {
    while (buf->find(delim) == std::string::npos) {
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf->append(tmp, static_cast<size_t>(n));
    }
    return true;
  }
  static bool FillTo(int fd, std::string* buf, size_t size) {
    while (buf->size() < size) {
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf->append(tmp, static_cast<size_t>(n));
    }
    return true;
  }
  static bool SendAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One request off `buf` (refilled from fd); false when the peer is gone.
  static bool ReadRequest(int fd, std::string* buf, ReceivedRequest* out) {
    if (!FillUntil(fd, buf, "\r\n\r\n")) return false;
    const size_t head_end = buf->find("\r\n\r\n");
    const std::string head = buf->substr(0, head_end);
    buf->erase(0, head_end + 4);
    size_t eol = head.find("\r\n");
    const std::string line = head.substr(0, eol);
    const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) return false;
    out->method = line.substr(0, sp1);
    out->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    size_t length = 0;
    bool chunked = false;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string h = head.substr(pos, e - pos);
      pos = e + 2;
      const size_t colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string name = h.substr(0, colon);
      for (char& c : name) c = Lower(c);
      size_t v = h.find_first_not_of(" \t", colon + 1);
      std::string value = v == std::string::npos ? "" : h.substr(v);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      if (name == "content-length") length = std::strtoul(value.c_str(), nullptr, 10);
      if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) chunked = true;
      out->headers.emplace_back(std::move(name), std::move(value));
    }
    if (!chunked) {
      if (!FillTo(fd, buf, length)) return false;
      out->body = buf->substr(0, length);
      buf->erase(0, length);
      return true;
    }
    for (;;) {
      if (!FillUntil(fd, buf, "\r\n")) return false;
      const size_t e = buf->find("\r\n");
      const size_t size = std::strtoul(buf->substr(0, e).c_str(), nullptr, 16);
      buf->erase(0, e + 2);
      if (!FillTo(fd, buf, size + 2)) return false;
      out->body.append(*buf, 0, size);
      buf->erase(0, size + 2);
      if (size == 0) return true;
    }
  }

  static std::string Chunk(std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return std::string(size) + std::string(data) + "\r\n";
  }

  void Serve(int fd) {
    std::string buf;
    for (;;) {
      ReceivedRequest r;
      if (!ReadRequest(fd, &buf, &r)) break;
      const bool hold = r.header("x-test-hold") == "1";
      {
        std::lock_guard lock(mu_);
        received_.push_back(std::move(r));
        cv_.notify_all();
      }
      if (!hold) {
        std::string res = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(kAnswer.size()) + "\r\n\r\n" + std::string(kAnswer);
        if (!SendAll(fd, res)) break;
        continue;
      }
      std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
          "chunked\r\n\r\n" +
          Chunk("data: {\"choices\":[{\"delta\":{\"content\":\"o\"}}]}\n\n");
      if (!SendAll(fd, head)) break;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(20), [&] { return released_; });
      }
      std::string tail =
          Chunk(
              "data: "
              "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":900}}\n\n") +
          Chunk("data: [DONE]\n\n") + "0\r\n\r\n";
      if (!SendAll(fd, tail)) break;
    }
    {
      // Forgotten before it is closed, so that Stop() never shuts down a
      // descriptor number reused by something else.
      std::lock_guard lock(mu_);
      std::erase(conn_fds_, fd);
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> received_;
  std::vector<std::thread> conns_;
  std::vector<int> conn_fds_;
  bool released_ = false;
  bool stopping_ = false;
};

}  // namespace tosgate::test
