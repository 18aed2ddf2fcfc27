// The command line's contract: exit codes and one clear line per problem.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run_support.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

TEST_CASE("validate accepts the shipped default pack") {
  auto r = RunTosgate("validate " TOSGATE_SOURCE_DIR "/policies/packs/default");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(": ok (") != std::string::npos);
}

TEST_CASE("validate reports a missing directory and a bad policy with file:line:column") {
  auto missing = RunTosgate("validate /nonexistent/policies");
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.find("/nonexistent/policies") != std::string::npos);

  std::string dir = TempDir();
  WriteFile(dir + "/p.yaml",
            "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\nrules:\n"
            "  - id: r1\n    kind: attribute\n    when: {field: request.purpose, eq: x}\n"
            "    colour: red\n");
  auto bad = RunTosgate("validate " + dir);
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find(dir + "/p.yaml:8:5:") != std::string::npos);
  CHECK(bad.out.find("colour") != std::string::npos);
}

TEST_CASE("serve refuses a configuration with an unknown key, naming where it is") {
  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml", "listen:\n  gateway: 127.0.0.1:0\n  admn: 127.0.0.1:0\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/c.yaml:3:3: listen.admn: unknown key") != std::string::npos);
}

TEST_CASE("serve refuses malformed YAML and policies with errors before listening") {
  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml", "listen: {gateway: [\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/c.yaml:") != std::string::npos);

  auto p = RunTosgate("serve --policies /nonexistent/policies");
  CHECK(p.exit_code == 2);
  CHECK(p.out.find("/nonexistent/policies") != std::string::npos);
}

TEST_CASE("serve stops with one line when the audit path cannot be written") {
  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml",
            "listen: {gateway: 127.0.0.1:0, admin: 127.0.0.1:0}\naudit: {path: /proc/nope/audit.db}\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("audit store") != std::string::npos);
  CHECK(r.out.find("/proc/nope") != std::string::npos);
}

TEST_CASE("serve stops with one line when its port is in use") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(fd, 1) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml", "listen: {gateway: 127.0.0.1:" + std::to_string(port) +
                                 ", admin: 127.0.0.1:0}\naudit: {path: " + dir + "/a.db}\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  close(fd);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("serve refuses bad gateway control and trust settings, naming each where it is") {
  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml",
            "gateway:\n"
            "  trusted_proxies: [10.0.0.0/8, 10.0.0.0/33, proxy.local]\n"
            "  control_listen: 127.0.0.1\n"
            "  control_token_sha256: secret\n"
            "  unreadable_body: ignore\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/c.yaml:2:33: gateway.trusted_proxies[1]: \"10.0.0.0/33\" is not a CIDR") !=
        std::string::npos);
  CHECK(r.out.find(dir + "/c.yaml:2:46: gateway.trusted_proxies[2]: \"proxy.local\" is not a CIDR") !=
        std::string::npos);
  CHECK(r.out.find("c.yaml:3:19: gateway.control_listen: expected host:port") != std::string::npos);
  CHECK(r.out.find("c.yaml:4:25: gateway.control_token_sha256: must be the 64 hex digits") !=
        std::string::npos);
  CHECK(r.out.find("c.yaml:5:20: gateway.unreadable_body: must be one of refuse, pass") != std::string::npos);
}

TEST_CASE("serve in inline mode says where checks and usage reports go: the control listener") {
  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml", "listen: {gateway: 127.0.0.1:0, admin: 127.0.0.1:0}\n"
                             "audit: {path: " + dir + "/a.db}\nadmin: {db: " + dir + "/admin.db}\n"
                             "upstream: {url: http://127.0.0.1:1}\n");
  // Started, read until its banner is out (at most 10 s), stopped.
  auto run = [&](const std::string& flags) {
    const std::string out = dir + "/out.txt";
    return RunTosgate("serve --config " + dir + "/c.yaml " + flags + " >" + out + " 2>&1 & p=$!; " +
                      "for i in $(seq 200); do grep -q 'Try it' " + out + " && break; sleep 0.05; done; " +
                      "kill $p; wait $p; cat " + out + "; echo");
  };
  auto r = run("--control-listen 127.0.0.1:0");
  CHECK(r.out.find("inline proxy on http://127.0.0.1:") != std::string::npos);
  const size_t check = r.out.find("forward-auth on http://127.0.0.1:");
  const size_t usage = r.out.find("usage reports on http://127.0.0.1:");
  REQUIRE(check != std::string::npos);
  REQUIRE(usage != std::string::npos);
  // Both on the control port, which is not the client port.
  const std::string inline_port = r.out.substr(r.out.find("inline proxy on http://127.0.0.1:") + 33, 5);
  CHECK(r.out.substr(check + 33, 5) != inline_port);
  CHECK(r.out.substr(check + 33, 5) == r.out.substr(usage + 34, 5));

  auto off = run("--control-listen off");
  CHECK(off.out.find("no control listener") != std::string::npos);
  CHECK(off.out.find("forward-auth on") == std::string::npos);
}

TEST_CASE("check explains a denial of logit_bias with logprobs on the values it saw") {
  std::string dir = TempDir();
  WriteFile(dir + "/req.json",
            R"({"method": "POST", "path": "/v1/chat/completions", "client_ip": "203.0.113.7",
                "headers": {"authorization": "Bearer sk-test-1"},
                "body": {"model": "m", "logprobs": true, "logit_bias": {"50256": -100},
                         "messages": [{"role": "user", "content": "hi"}]}})");
  auto r = RunTosgate("check --request " + dir + "/req.json --explain");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("decision deny") != std::string::npos);
  CHECK(r.out.find("extraction.logit-bias-with-logprobs") != std::string::npos);
  CHECK(r.out.find("body.logit_bias_count = 1 (gt 0)") != std::string::npos);
  CHECK(r.out.find("sk-test-1") == std::string::npos);

  auto j = RunTosgate("check --request " + dir + "/req.json --json");
  CHECK(j.out.find("\"effect\": \"deny\"") != std::string::npos);
}

TEST_CASE("unknown commands and flags are usage errors") {
  CHECK(RunTosgate("frobnicate").exit_code == 2);
  CHECK(RunTosgate("serve --bogus").exit_code == 2);
  CHECK(RunTosgate("check").exit_code == 2);
}

TEST_CASE("check refuses a request file that is not JSON, naming it") {
  std::string dir = TempDir();
  WriteFile(dir + "/req.json", "method: POST\n");
  auto r = RunTosgate("check --request " + dir + "/req.json");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/req.json: not a JSON object") != std::string::npos);
}

TEST_CASE("check refuses a member of the wrong type, naming it, instead of aborting") {
  std::string dir = TempDir();
  WriteFile(dir + "/req.json", R"({"path": 5})");
  auto r = RunTosgate("check --request " + dir + "/req.json");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/req.json: \"path\" must be a string") != std::string::npos);
  WriteFile(dir + "/req.json", R"({"headers": ["x"]})");
  r = RunTosgate("check --request " + dir + "/req.json");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("\"headers\" must be an object") != std::string::npos);
}

TEST_CASE("validate prints warnings, and fails on them only with --strict") {
  std::string dir = TempDir();
  WriteFile(dir + "/p.yaml",
            "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\nrules:\n"
            "  - id: r1\n    kind: attribute\n    when: {field: request.purpose, eq: x}\n"
            "  - id: r2\n    kind: attribute\n    when: {field: request.purpose, eq: x}\n");
  auto lax = RunTosgate("validate " + dir);
  CHECK(lax.exit_code == 0);
  CHECK(lax.out.find("warning: " + dir + "/p.yaml:") != std::string::npos);
  CHECK(lax.out.find("r1") != std::string::npos);
  auto strict = RunTosgate("validate --strict " + dir);
  CHECK(strict.exit_code == 1);
}
