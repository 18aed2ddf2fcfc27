// docs/tutorial.md is executable: every ```sh block runs, in order, in one
// shell, and each must succeed.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_support.h"

TEST_CASE("every command of the tutorial runs and succeeds") {
  std::ifstream in(TOSGATE_SOURCE_DIR "/docs/tutorial.md");
  REQUIRE(in);
  std::string script = "set -eu\n";
  std::string line;
  bool in_block = false;
  int blocks = 0;
  while (std::getline(in, line)) {
    if (!in_block && line == "```sh") {
      in_block = true;
      ++blocks;
    } else if (in_block && line == "```") {
      in_block = false;
    } else if (in_block) {
      script += line + "\n";
    }
  }
  REQUIRE(blocks >= 5);
  const std::string dir = tosgate::test::TempDir();
  tosgate::test::WriteFile(dir + "/tutorial.sh", script);
  const std::string bin_dir = std::filesystem::path(TOSGATE_BINARY).parent_path().string();
  const std::string cmd = "cd " + dir + " && PATH=" + bin_dir + ":$PATH sh tutorial.sh 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  INFO(out);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // What the tutorial promises the reader sees.
  CHECK(out.find("my-policies: ok") != std::string::npos);
  CHECK(out.find("2 passed, 0 failed") != std::string::npos);
  CHECK(out.find("because request.purpose = \"distillation\"") != std::string::npos);
  std::ifstream decisions(dir + "/decisions.jsonl");
  std::string all((std::istreambuf_iterator<char>(decisions)), {});
  CHECK(std::count(all.begin(), all.end(), '\n') == 8);
  size_t throttles = 0;
  for (size_t at = 0; (at = all.find("\"effect\":\"throttle\"", at)) != std::string::npos; ++at) ++throttles;
  CHECK(throttles == 3);
}
