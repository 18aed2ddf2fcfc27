// docs/threat-model.md names, for every attack, the test that proves its
// defence: each name it quotes must be a test of this suite, and each test
// of this suite must be named there, so that neither drifts from the other.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace tosgate::test {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool HasSuiteprefix(const std::string& name) {
  static const char* kPrefixes[] = {
      "body: ",  "path: ",  "credentials: ", "control: ", "trusted proxies: ",
      "texts: ", "audit: ", "state: ",       "admin: "};
  for (const char* p : kPrefixes)
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

// Every "..." in `text` that starts with one of the suite's prefixes.
std::set<std::string> QuotedNames(const std::string& text) {
  std::set<std::string> out;
  size_t pos = 0;
  while ((pos = text.find('"', pos)) != std::string::npos) {
    const size_t end = text.find('"', pos + 1);
    if (end == std::string::npos) break;
    const std::string name = text.substr(pos + 1, end - pos - 1);
    if (HasSuiteprefix(name)) out.insert(name);
    pos = end + 1;
  }
  return out;
}

// The name of every TEST_CASE("...") in `source`, the name possibly on the
// next line (clang-format breaks long ones there).
std::set<std::string> TestNames(const std::string& source) {
  std::set<std::string> out;
  size_t pos = 0;
  while ((pos = source.find("TEST_CASE(", pos)) != std::string::npos) {
    size_t start = source.find_first_not_of(" \n", pos + 10);
    pos += 10;
    if (start == std::string::npos || source[start] != '"') continue;
    const size_t end = source.find('"', start + 1);
    if (end == std::string::npos) break;
    const std::string name = source.substr(start + 1, end - start - 1);
    if (HasSuiteprefix(name)) out.insert(name);
  }
  return out;
}

TEST_CASE("threat model: every test it names exists, and every adversarial test is named") {
  namespace fs = std::filesystem;
  const std::string doc = ReadFile(fs::path(TOSGATE_SOURCE_DIR) / "docs" / "threat-model.md");
  REQUIRE(!doc.empty());
  std::set<std::string> tests;
  for (const auto& e :
       fs::directory_iterator(fs::path(TOSGATE_SOURCE_DIR) / "tests" / "adversarial"))
    if (e.path().extension() == ".cc")
      for (const std::string& n : TestNames(ReadFile(e.path()))) tests.insert(n);
  REQUIRE(tests.size() > 20);
  const std::set<std::string> named = QuotedNames(doc);
  for (const std::string& n : named)
    CHECK_MESSAGE(tests.count(n) == 1, "docs/threat-model.md names a missing test: " << n);
  for (const std::string& t : tests)
    CHECK_MESSAGE(named.count(t) == 1, "docs/threat-model.md does not name: " << t);
}

}  // namespace
}  // namespace tosgate::test
