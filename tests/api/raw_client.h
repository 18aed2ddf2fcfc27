// A tiny blocking HTTP/1.1 client over a loopback socket, for tests that need
// to control bytes and connections exactly (keep-alive, garbage, pipelining).
// Reads time out after 10 s so that a broken server fails a test, not hangs it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tosgate::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? "" : it->second;
  }
  bool has(const std::string& lower) const { return headers.count(lower) > 0; }
};

inline std::string HttpRequest(std::string_view method, std::string_view target,
                               std::vector<std::pair<std::string, std::string>> headers = {},
                               std::string_view body = "") {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r.append(body);
  return r;
}

class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one whole response (Content-Length framed). False on EOF, reset or
  // timeout before it is complete.
  bool Read(RawResponse* out) {
    *out = RawResponse{};
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!Fill()) return false;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return false;
    out->status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        out->headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = e + 2;
    }
    if (out->header("transfer-encoding") == "chunked") return ReadChunks(&out->body);
    size_t length = out->has("content-length") ? std::stoul(out->header("content-length")) : 0;
    while (buf_.size() < length)
      if (!Fill()) return false;
    out->body = buf_.substr(0, length);
    buf_.erase(0, length);
    return true;
  }

  // Sends a request and reads its response.
  bool RoundTrip(const std::string& request, RawResponse* out) {
    return Send(request) && Read(out);
  }

  // True when the server has closed the connection (orderly or by reset).
  bool Closed() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 1) buf_.push_back(c);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  // A chunked body, de-chunked into *body (chunk extensions and trailers ignored).
  bool ReadChunks(std::string* body) {
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos)
        if (!Fill()) return false;
      const size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
      buf_.erase(0, eol + 2);
      while (buf_.size() < size + 2)
        if (!Fill()) return false;
      body->append(buf_, 0, size);
      buf_.erase(0, size + 2);
      if (size == 0) return true;
    }
  }

  bool Fill() {
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// Bounded wait (about 5 s at most) for a condition a real loopback server's
// own threads make true, e.g. a closed connection's stream count dropping to
// 0: there is no clock to advance, only another thread to let run. Decisions
// never depend on this; rules and limits run on a FakeClock.
template <typename F>
bool WaitUntil(F done) {
  for (int i = 0; i < 5000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace tosgate::test
