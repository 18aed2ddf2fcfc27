// docs/policy-reference.md is the users' reference: it must name every condition
// field the engine knows and every rule kind the loader accepts.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "engine/field.h"
#include "policies/kinds/kinds.h"

using namespace tosgate;

TEST_CASE("docs/policy-reference.md documents every field and every rule kind") {
  std::ifstream in(TOSGATE_SOURCE_DIR "/docs/policy-reference.md");
  REQUIRE(in.good());
  const std::string doc(std::istreambuf_iterator<char>(in), {});
  for (const std::string& name : engine::AllFieldNames()) {
    CAPTURE(name);
    CHECK(doc.find("| `" + name + "` |") != std::string::npos);
  }
  for (const policies::KindSpec& kind : policies::Kinds()) {
    CAPTURE(kind.name);
    CHECK(doc.find("### kind: " + std::string(kind.name)) != std::string::npos);
  }
}
