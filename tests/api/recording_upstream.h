// A loopback upstream that records every request it receives, exactly as it
// arrived, and answers each with a small JSON body carrying usage. For tests
// that assert what the inline proxy relayed equals what was decided.
//
// A thread per connection (keep-alive honoured: the gateway pools its
// upstream connections). Content-Length bodies only: the gateway always
// sends one.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

namespace tosgate::test {

struct Received {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case, in order
  std::string body;

  // Every value of the header `lower`, in order.
  std::vector<std::string> all(const std::string& lower) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
      if (k == lower) out.push_back(v);
    return out;
  }
  std::string header(const std::string& lower) const {
    for (const auto& [k, v] : headers)
      if (k == lower) return v;
    return "";
  }
  bool has(const std::string& lower) const { return !all(lower).empty(); }
};

class RecordingUpstream {
 public:
  RecordingUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RecordingUpstream() {
    Release();
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c : open_)
        if (c >= 0) ::shutdown(c, SHUT_RDWR);
    }
    for (std::thread& t : connections_) t.join();
  }
  RecordingUpstream(const RecordingUpstream&) = delete;
  RecordingUpstream& operator=(const RecordingUpstream&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }

  // Answers each request with this JSON body (status 200) instead of the
  // default one; set before any request arrives.
  void AnswerWith(std::function<std::string(const Received&)> answer) { answer_ = std::move(answer); }

  // While held, an answer's header and first body byte are sent and the
  // rest waits for Release(): a stream still running.
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string Trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t");
    const size_t e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
  }

  void Serve() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_.push_back(c);
      }
      // Only this thread touches connections_ until the destructor joins it.
      connections_.emplace_back([this, c] {
        std::string buf;
        while (ServeOne(c, &buf)) {
        }
        std::lock_guard<std::mutex> lock(mu_);
        for (int& o : open_)
          if (o == c) o = -1;
        ::close(c);
      });
    }
  }

  // Reads one request from `c` (bytes left over stay in *buf), records it
  // and answers. False when the connection ended.
  bool ServeOne(int c, std::string* buf) {
    char chunk[4096];
    size_t head_end;
    while ((head_end = buf->find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf->append(chunk, static_cast<size_t>(n));
    }
    Received r;
    const std::string head = buf->substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = request_line.rfind(' ');
    r.method = request_line.substr(0, sp1);
    r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t content_length = 0;
    while (line_end != std::string::npos && line_end < head.size()) {
      const size_t next = head.find("\r\n", line_end + 2);
      const std::string line = head.substr(line_end + 2, next == std::string::npos ? std::string::npos
                                                                                   : next - line_end - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        r.headers.emplace_back(Lower(line.substr(0, colon)), Trim(line.substr(colon + 1)));
        if (r.headers.back().first == "content-length")
          content_length = std::stoul(r.headers.back().second);
      }
      line_end = next;
    }
    buf->erase(0, head_end + 4);
    while (buf->size() < content_length) {
      const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf->append(chunk, static_cast<size_t>(n));
    }
    r.body = buf->substr(0, content_length);
    buf->erase(0, content_length);
    const std::string body =
        answer_ ? answer_(r) : R"({"usage":{"prompt_tokens":3,"completion_tokens":4}})";
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(std::move(r));
    }
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
    const size_t first = answer.size() - body.size() + 1;
    if (::send(c, answer.data(), first, MSG_NOSIGNAL) != static_cast<ssize_t>(first)) return false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !held_; });
    }
    const size_t rest = answer.size() - first;
    return ::send(c, answer.data() + first, rest, MSG_NOSIGNAL) == static_cast<ssize_t>(rest);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> connections_;
  mutable std::mutex mu_;
  std::vector<Received> received_;  // guarded by mu_
  std::vector<int> open_;           // guarded by mu_; -1 once closed
  bool held_ = false;               // guarded by mu_
  std::function<std::string(const Received&)> answer_;
  std::condition_variable cv_;
};

}  // namespace tosgate::test
