// `tosgate validate` and `tosgate test` on content rules: the prohibited-use
// pack passes its own tests, and bad patterns, list files and field scopes
// are reported as file:line:column with the reason.
#include <doctest/doctest.h>

#include <filesystem>

#include "run_support.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

namespace {
const std::string kHead = "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n";
}  // namespace

TEST_CASE("the prohibited-use pack validates and passes its policy tests") {
  auto v = RunTosgate("validate " TOSGATE_SOURCE_DIR "/policies/packs/prohibited-use");
  CHECK(v.exit_code == 0);
  CHECK(v.out.find(": ok (15 rules") != std::string::npos);
  auto t = RunTosgate("test " TOSGATE_SOURCE_DIR "/policies/packs/prohibited-use");
  INFO(t.out);
  CHECK(t.exit_code == 0);
  CHECK(t.out.find(" 0 failed") != std::string::npos);
  CHECK(t.out.find("all 15 rules covered") != std::string::npos);
}

TEST_CASE("validate names file:line:column for a rejected regex, a bad scope and bad list files") {
  const std::string dir = TempDir();
  WriteFile(dir + "/p.yaml", kHead +
                                 "lists:\n"
                                 "  empty: {file: empty.txt}\n"
                                 "  junk: {file: junk.txt}\n"
                                 "  gone: {file: gone.txt}\n"
                                 "rules:\n"
                                 "  - id: c\n"
                                 "    kind: content\n"
                                 "    fields: [user, tools]\n"
                                 "    patterns:\n"
                                 "      - {id: bad, regex: 'a{2,1}'}\n");
  WriteFile(dir + "/empty.txt", "# nothing yet\n");
  WriteFile(dir + "/junk.txt", "ricin\n--\n");
  auto r = RunTosgate("validate " + dir);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find(dir + "/p.yaml:5:17: lists.empty.file: list file \"empty.txt\" has no entries") !=
        std::string::npos);
  CHECK(r.out.find(dir + "/junk.txt:2:1: list entry \"--\" is empty once normalized") !=
        std::string::npos);
  CHECK(r.out.find(dir + "/p.yaml:7:16: lists.gone.file: list file \"gone.txt\" not found") !=
        std::string::npos);
  CHECK(r.out.find(dir + "/p.yaml:11:20: rules[0].fields[1]: expected all, system or user, got \"tools\"") !=
        std::string::npos);
  CHECK(r.out.find(dir + "/p.yaml:13:26: rules[0].patterns[0].regex: regex \"a{2,1}\" is rejected: ") !=
        std::string::npos);
}
