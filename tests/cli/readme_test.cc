// README.md is executable, as docs/tutorial.md is: the test plays the part
// of ./scripts/run.sh (a mock model API and `tosgate serve` with no policy
// configuration, the built-in default pack) on free loopback ports, then
// runs every ```sh block of the README, in order, in one shell, against it,
// and checks that every ```console block (a transcript: what a command
// printed) appears in what they printed.
//
// The README is written for run.sh's addresses (127.0.0.1:8080 for clients,
// :8081 for checks, :9090 admin, :8000 the mock), build/tosgate and
// var/tosgate.db; the test puts its own in the script and maps them back in
// the output. Lines running ./scripts/run.sh or ./scripts/test.sh (which
// build everything) are not run: the files must exist. In a transcript,
// `…` stands for any text (a decision id, a time).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "run_support.h"
#include "tests/integration/process_support.h"

namespace {

namespace fs = std::filesystem;

struct Readme {
  std::string script;                              // the ```sh blocks
  std::vector<std::vector<std::string>> consoles;  // the ```console blocks' lines
};

Readme ParseReadme() {
  std::ifstream in(TOSGATE_SOURCE_DIR "/README.md");
  REQUIRE(in);
  Readme r;
  std::string line, kind;
  while (std::getline(in, line)) {
    if (kind.empty() && (line == "```sh" || line == "```console")) {
      kind = line.substr(3);
      if (kind == "console") r.consoles.emplace_back();
    } else if (!kind.empty() && line == "```") {
      kind.clear();
    } else if (kind == "sh") {
      // Building everything is run.sh's and test.sh's job, not this test's.
      if (line.find("./scripts/run.sh") != std::string::npos || line.find("./scripts/test.sh") != std::string::npos)
        continue;
      r.script += line + "\n";
    } else if (kind == "console") {
      r.consoles.back().push_back(line);
    }
  }
  return r;
}

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s->find(from, at)) != std::string::npos; at += to.size()) s->replace(at, from.size(), to);
}

// A transcript line as a regex over one output line: literal text, `…` any.
std::regex LinePattern(const std::string& line) {
  std::string re;
  const std::string ellipsis = "\xE2\x80\xA6";
  for (size_t i = 0; i < line.size();) {
    if (line.compare(i, ellipsis.size(), ellipsis) == 0) {
      re += ".*";
      i += ellipsis.size();
      continue;
    }
    const char c = line[i++];
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) re += '\\';
    re += c;
  }
  return std::regex(re);
}

TEST_CASE("every command of the README runs against the gateway run.sh starts, and prints what it shows") {
  using tosgate::test::ChildProcess;
  const Readme readme = ParseReadme();
  REQUIRE(readme.consoles.size() >= 3);
  for (const char* script : {"scripts/run.sh", "scripts/test.sh", "scripts/demo.sh"})
    CHECK_MESSAGE(fs::exists(fs::path(TOSGATE_SOURCE_DIR) / script), script);
  const fs::path dir = tosgate::test::MakeTempDir("tosgate-readme");
  const std::vector<int> ports = tosgate::test::FreeLoopbackPorts(4);  // clients, control, admin, mock
  const std::string gw = "127.0.0.1:" + std::to_string(ports[0]), control = "127.0.0.1:" + std::to_string(ports[1]),
                    admin = "127.0.0.1:" + std::to_string(ports[2]), mock = "127.0.0.1:" + std::to_string(ports[3]);
  // Only the addresses differ from run.sh's gateway: no policies, accounts
  // or limits configured.
  tosgate::test::WriteFile(dir / "ports.yaml", "listen: {gateway: " + gw + ", admin: " + admin +
                                                   "}\ngateway: {control_listen: " + control + "}\n");
  ChildProcess upstream({TOSGATE_BINARY, "mock-upstream", "--listen", mock}, dir / "mock.out", dir / "mock.err");
  ChildProcess serve({"/bin/sh", "-c",
                      "cd " + dir.string() + " && exec " + TOSGATE_BINARY +
                          " serve --config ports.yaml --upstream http://" + mock},
                     dir / "serve.out", dir / "serve.err");
  REQUIRE_MESSAGE(serve.WaitUntil([&] {
    return tosgate::test::CanConnect(ports[0]) && tosgate::test::CanConnect(ports[1]) &&
           tosgate::test::CanConnect(ports[2]) && tosgate::test::CanConnect(ports[3]);
  }),
                  tosgate::test::ReadFile(dir / "serve.err"));

  const std::string db = (dir / "var/tosgate.db").string();
  std::string script = readme.script;
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"127.0.0.1:8080", gw}, {"127.0.0.1:8081", control}, {"127.0.0.1:9090", admin}, {"127.0.0.1:8000", mock},
           {"build/tosgate", TOSGATE_BINARY}, {"var/tosgate.db", db},
           {"./scripts/demo.sh", std::string(TOSGATE_SOURCE_DIR "/scripts/demo.sh")}})
    ReplaceAll(&script, from, to);
  const std::string bin_dir = fs::path(TOSGATE_BINARY).parent_path().string();
  tosgate::test::WriteFile((dir / "readme.sh").string(), "set -eu\n" + script);
  const std::string cmd = "cd " + dir.string() + " && PATH=" + bin_dir + ":$PATH PROXY=http://" + gw +
                          " CONTROL=http://" + control + " DB=" + db + " TOSGATE=" + TOSGATE_BINARY +
                          " bash readme.sh 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {gw, "127.0.0.1:8080"}, {control, "127.0.0.1:8081"}, {admin, "127.0.0.1:9090"}, {mock, "127.0.0.1:8000"},
           {TOSGATE_BINARY, "build/tosgate"}, {db, "var/tosgate.db"}})
    ReplaceAll(&out, from, to);
  INFO(out);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // Each transcript's lines appear in the output in order (other lines may
  // come between: a transcript may leave some out).
  std::vector<std::string> lines;
  {
    std::istringstream s(out);
    for (std::string l; std::getline(s, l);) lines.push_back(l);
  }
  size_t at = 0;
  for (const auto& console : readme.consoles) {
    for (const std::string& want : console) {
      if (want.empty()) continue;
      const std::regex re = LinePattern(want);
      size_t i = at;
      while (i < lines.size() && !std::regex_match(lines[i], re)) ++i;
      CHECK_MESSAGE(i < lines.size(), "not printed (in this order): " << want);
      if (i < lines.size()) at = i + 1;
    }
  }
}

}  // namespace
