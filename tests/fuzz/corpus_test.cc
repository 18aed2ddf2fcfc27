// Every seed and every input a fuzzer once crashed on, through the fuzz
// entries in the ordinary build (and in CI's sanitizer build), so what was
// fixed stays fixed without clang or libFuzzer.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace tosgate::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs every file of `dir`; returns how many there were.
size_t RunAll(const Target& t, const fs::path& dir) {
  const std::vector<fs::path> files = FilesUnder(dir);
  for (const fs::path& p : files) {
    CAPTURE(p.string());
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    t.entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return files.size();
}

const fs::path kRoot = fs::path(TOSGATE_SOURCE_DIR) / "tests" / "fuzz";

TEST_CASE("every fuzz target has a seed corpus, and every seed runs through it") {
  for (const Target& t : kTargets) {
    CAPTURE(t.name);
    CHECK(RunAll(t, kRoot / "corpus" / t.name) >= 3);
  }
}

TEST_CASE("every input a fuzzer found runs through its target without a crash") {
  for (const Target& t : kTargets) {
    CAPTURE(t.name);
    RunAll(t, kRoot / "regressions" / t.name);
  }
  // A regression folder for a target that does not exist would never run.
  for (const fs::path& dir : {kRoot / "regressions", kRoot / "corpus"}) {
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.front() == '.') continue;
      CAPTURE(name);
      CHECK(std::any_of(std::begin(kTargets), std::end(kTargets),
                        [&](const Target& t) { return name == t.name; }));
    }
  }
}

TEST_CASE("the entries take empty and binary input") {
  const std::string odd("\0\xff\xfe{\"a\n\r\n\0", 10);
  for (const Target& t : kTargets) {
    CAPTURE(t.name);
    t.entry(nullptr, 0);
    t.entry(reinterpret_cast<const uint8_t*>(odd.data()), odd.size());
  }
}

}  // namespace
}  // namespace tosgate::fuzz
