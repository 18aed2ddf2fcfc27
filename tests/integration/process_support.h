// Child processes and loopback helpers for the integration tests.
//
// A ChildProcess runs in a process group of its own and is killed, group and
// all, when it goes out of scope, so a failing test leaves nothing running.
// It also dies with the test (PR_SET_PDEATHSIG) if the test itself crashes.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tosgate::test {

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

inline std::filesystem::path MakeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  const char* d = mkdtemp(tmpl.data());
  return d ? std::filesystem::path(d) : std::filesystem::path();
}

// `n` distinct ports that were free on 127.0.0.1 a moment ago: all are bound
// at once (so they differ), then released for the servers to take.
inline std::vector<int> FreeLoopbackPorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      break;
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) close(fd);
  return ports;
}

// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class ChildProcess {
 public:
  // Starts argv[0] (a path) with stdin from /dev/null and stdout, stderr to
  // the given files.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& out,
               const std::filesystem::path& err) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Everything the child needs is prepared here: after fork only
    // async-signal-safe calls are allowed.
    int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t parent = getpid();
    if (in_fd >= 0 && out_fd >= 0 && err_fd >= 0) {
      pid_ = fork();
      if (pid_ == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);  // the test died before prctl
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(args[0], args.data());
        _exit(127);
      }
      if (pid_ > 0) setpgid(pid_, pid_);  // also here, so Kill() cannot race it
    }
    for (int fd : {in_fd, out_fd, err_fd})
      if (fd >= 0) close(fd);
  }

  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }

  // Whether the child is still running (reaps it when it is not).
  bool Running() {
    if (pid_ <= 0 || status_) return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      KillGroup();  // e.g. nginx workers left by their master
      return false;
    }
    return true;
  }

  // Polls `ready` while the child is starting: at most `attempts` times,
  // `pause` apart. Returns false at once if the child exits.
  bool WaitUntil(const std::function<bool()>& ready, int attempts = 400,
                 std::chrono::milliseconds pause = std::chrono::milliseconds(25)) {
    for (int i = 0; i < attempts; ++i) {
      if (!Running()) return false;
      if (ready()) return true;
      std::this_thread::sleep_for(pause);
    }
    return false;
  }

  // Sends `sig` and waits for the child to exit, at most `timeout`. Returns
  // its wait status, or nothing if it is still running.
  std::optional<int> Stop(int sig, std::chrono::milliseconds timeout) {
    if (!Running()) return status_;
    kill(pid_, sig);
    // A pidfd becomes readable when the process exits: no polling loop.
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      poll(&p, 1, static_cast<int>(timeout.count()));
      close(pidfd);
    }
    int st = 0;
    if (waitpid(pid_, &st, pidfd >= 0 ? WNOHANG : 0) == pid_) {
      status_ = st;
      KillGroup();
    }
    return status_;
  }

  // Kills the child and its process group and reaps it. Idempotent.
  void Kill() {
    if (pid_ <= 0) return;
    if (!status_) {
      KillGroup();
      int st = 0;
      if (waitpid(pid_, &st, 0) == pid_) status_ = st;
    }
    pid_ = -1;
  }

 private:
  void KillGroup() {
    if (pid_ > 0) kill(-pid_, SIGKILL);
  }

  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace tosgate::test
