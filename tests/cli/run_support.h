// Runs the tosgate binary as a child and captures its exit code and output.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tosgate::test {

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

inline std::string TempDir() {
  char tmpl[] = "/tmp/tosgate-cli-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

// Runs `tosgate <args>` through the shell with stdin closed.
inline RunResult RunTosgate(const std::string& args) {
  std::string cmd = std::string(TOSGATE_BINARY) + " " + args + " </dev/null 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace tosgate::test
