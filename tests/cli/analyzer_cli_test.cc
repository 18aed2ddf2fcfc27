// The analyzer's configuration keys and replay's --analyzer-every flag.
#include <doctest/doctest.h>

#include "run_support.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

TEST_CASE("serve checks the analyzer section: bounds and unknown keys, with where they are") {
  std::string dir = TempDir();
  WriteFile(dir + "/c.yaml", "analyzer:\n  window: 40\n  min_samples: 50\n  intervall: 5\n");
  auto r = RunTosgate("serve --config " + dir + "/c.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(dir + "/c.yaml:4:3: analyzer.intervall: unknown key") != std::string::npos);
  CHECK(r.out.find("analyzer.window: must be at most 32") != std::string::npos);
  CHECK(r.out.find("analyzer.min_samples: must be at most window") != std::string::npos);
}

TEST_CASE("replay takes --analyzer-every as whole seconds and refuses anything else") {
  std::string dir = TempDir();
  WriteFile(dir + "/capture.jsonl", "");
  auto bad = RunTosgate("replay --policies " TOSGATE_SOURCE_DIR "/policies/packs/distillation --capture " +
                        dir + "/capture.jsonl --analyzer-every soon");
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("--analyzer-every SECONDS") != std::string::npos);
  auto ok = RunTosgate("replay --policies " TOSGATE_SOURCE_DIR "/policies/packs/distillation --capture " +
                       dir + "/capture.jsonl --analyzer-every 0");
  CHECK(ok.exit_code == 0);
}
