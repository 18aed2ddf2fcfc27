// How the engine writes bytes as text. engine::AppendJsonString: what JSON
// requires escaped is escaped, UTF-8 passes as it is, and bytes that are not
// UTF-8 become U+FFFD (a client's path quoted in a log line or a problem
// detail must still parse). AppendHex: the digits of key ids and digests.
#include <doctest/doctest.h>

#include <string>

#include "engine/hex.h"
#include "engine/json_util.h"
#include "engine/sha256.h"

namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  tosgate::engine::AppendJsonString(&out, s);
  return out;
}

}  // namespace

TEST_CASE("json string: escapes, UTF-8 kept, other bytes replaced") {
  CHECK(Quoted("") == "\"\"");
  CHECK(Quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(Quoted("\n\r\t\x01\x1f") == "\"\\n\\r\\t\\u0001\\u001f\"");
  CHECK(Quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(Quoted("a\xff" "b") == "\"a" + fffd + "b\"");             // never UTF-8
  CHECK(Quoted("\xc3") == "\"" + fffd + "\"");                     // cut short
  CHECK(Quoted("\xc0\xaf") == "\"" + fffd + fffd + "\"");          // overlong '/'
  CHECK(Quoted("\xed\xa0\x80") == "\"" + fffd + fffd + fffd + "\"");  // a surrogate
  CHECK(Quoted("\xf4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");  // past U+10FFFF
}

TEST_CASE("json string array") {
  CHECK(tosgate::engine::JsonStringArray({}) == "[]");
  CHECK(tosgate::engine::JsonStringArray({"a", "b\""}) == "[\"a\",\"b\\\"\"]");
}

TEST_CASE("hex: appended after what is there; SHA-256's known answer") {
  std::string s = "id:";
  tosgate::engine::AppendHex(&s, std::string_view("\x00\x7f\x80\xff", 4));
  CHECK(s == "id:007f80ff");
  CHECK(tosgate::engine::ToHex("") == "");
  CHECK(tosgate::engine::Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
