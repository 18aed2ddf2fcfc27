// multipart/form-data uploads: the strict splitter, JSON Lines files of
// request bodies (OpenAI batch input and fine-tuning files), and what the
// front end calls, ParseMultipartBody.
#include "api/request/multipart.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tosgate;
using api::MultipartPart;

namespace {

constexpr const char* kType = "multipart/form-data; boundary=XyZ";

std::string Part(const std::string& disposition, const std::string& data,
                 const std::string& extra = "") {
  return "--XyZ\r\nContent-Disposition: form-data; " + disposition + "\r\n" + extra + "\r\n" +
         data + "\r\n";
}
constexpr const char* kClose = "--XyZ--\r\n";

std::string Upload(const std::string& jsonl, const std::string& purpose = "batch") {
  return Part("name=\"purpose\"", purpose) +
         Part("name=\"file\"; filename=\"in.jsonl\"", jsonl,
              "Content-Type: application/octet-stream\r\n") +
         kClose;
}

std::string SplitError(const std::string& body, const std::string& type = kType) {
  std::vector<MultipartPart> parts;
  Status s = api::SplitMultipart(type, body, &parts);
  CHECK_FALSE(s.ok());
  return s.message();
}

const std::string kChatLine =
    R"({"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]}})";

}  // namespace

TEST_CASE("multipart: the media type, any case, parameters aside") {
  CHECK(api::IsMultipartFormData("multipart/form-data; boundary=x"));
  CHECK(api::IsMultipartFormData(" Multipart/Form-Data ;boundary=x"));
  CHECK_FALSE(api::IsMultipartFormData("multipart/mixed; boundary=x"));
  CHECK_FALSE(api::IsMultipartFormData("application/json"));
  CHECK_FALSE(api::IsMultipartFormData(""));
}

TEST_CASE("multipart: parts with names, filenames, content types and exact data") {
  std::vector<MultipartPart> parts;
  const std::string body = Part("name=\"purpose\"", "batch") +
                           Part("name=file; filename=\"a b.jsonl\"", "line1\r\nline2\n",
                                "Content-Type: Application/JSONL\r\n") +
                           kClose;
  REQUIRE(api::SplitMultipart("multipart/form-data; boundary=\"XyZ\"", body, &parts).ok());
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].name == "purpose");
  CHECK_FALSE(parts[0].has_filename);
  CHECK(parts[0].data == "batch");
  CHECK(parts[1].name == "file");
  CHECK(parts[1].has_filename);
  CHECK(parts[1].filename == "a b.jsonl");
  CHECK(parts[1].content_type == "application/jsonl");
  CHECK(parts[1].data == "line1\r\nline2\n");
  // No trailing CRLF after the close delimiter is fine too; an empty part too.
  // (The parts are views into the body: each body outlives its checks.)
  const std::string empty_part = Part("name=e", "") + "--XyZ--";
  REQUIRE(api::SplitMultipart(kType, empty_part, &parts).ok());
  CHECK(parts[0].data.empty());
  // The boundary text inside data, not at a line start, is data.
  const std::string inner = Part("name=d", "a--XyZ b\r\n-XyZ") + kClose;
  REQUIRE(api::SplitMultipart(kType, inner, &parts).ok());
  CHECK(parts[0].data == "a--XyZ b\r\n-XyZ");
}

TEST_CASE("multipart: malformed and ambiguous forms are refused with a reason") {
  const std::string ok = Part("name=a", "1") + kClose;
  CHECK(SplitError(ok, "multipart/form-data").find("no valid boundary") != std::string::npos);
  CHECK(SplitError(ok, "multipart/form-data; boundary=").find("no value") != std::string::npos);
  CHECK(SplitError(ok, "multipart/form-data; boundary=" + std::string(71, 'a')).find("boundary") !=
        std::string::npos);
  CHECK(SplitError(ok, "multipart/form-data; boundary=XyZ; boundary=other").find("repeated") !=
        std::string::npos);
  CHECK(SplitError(ok, "text/plain; boundary=XyZ").find("not multipart") != std::string::npos);
  CHECK(SplitError("preamble\r\n" + ok).find("does not start") != std::string::npos);
  CHECK(SplitError(Part("name=a", "1")).find("without its close delimiter") != std::string::npos);
  CHECK(SplitError(ok + "epilogue").find("after its close delimiter") != std::string::npos);
  CHECK(SplitError("--XyZ \r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--")
            .find("not followed by CRLF") != std::string::npos);
  CHECK(SplitError(Part("name=a", "1\r\n--XyZjunk") + kClose).find("not followed by CRLF") !=
        std::string::npos);
  // LF-only line endings in the headers.
  CHECK_FALSE(SplitError("--XyZ\nContent-Disposition: form-data; name=a\n\n1\n--XyZ--").empty());
  CHECK(SplitError(Part("name=a", "1") + Part("name=a", "2") + kClose)
            .find("two parts named \"a\"") != std::string::npos);
  CHECK(SplitError("--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--")
            .find("no Content-Disposition") != std::string::npos);
  CHECK(SplitError(Part("filename=\"x\"", "1") + kClose).find("no name") != std::string::npos);
  CHECK(SplitError(Part("name=a", "1", "Content-Disposition: form-data; name=b\r\n") + kClose)
            .find("two Content-Disposition") != std::string::npos);
  CHECK(SplitError("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--XyZ--")
            .find("not form-data") != std::string::npos);
  CHECK(SplitError(Part("name=a", "MQ==", "Content-Transfer-Encoding: base64\r\n") + kClose)
            .find("base64") != std::string::npos);
  CHECK(SplitError(Part("name=a", "1", " folded: x\r\n") + kClose).find("folded") !=
        std::string::npos);
  CHECK(SplitError(Part("name=\"a\\\"; filename=\"b\"", "1") + kClose).find("backslash") !=
        std::string::npos);
  CHECK(SplitError(Part("name=\"a", "1") + kClose).find("not closed") != std::string::npos);
  CHECK(SplitError(Part("name=a; name=b", "1") + kClose).find("repeated") != std::string::npos);
  CHECK(SplitError("--XyZ\r\nContent-Disposition: form-data; name=a" + std::string(9000, ' ') +
                   "\r\n\r\n1\r\n--XyZ--")
            .find("headers do not end") != std::string::npos);
  std::string many;
  for (int i = 0; i < 33; ++i) many += Part("name=p" + std::to_string(i), "x");
  CHECK(SplitError(many + kClose).find("more than 32 parts") != std::string::npos);
  CHECK_FALSE(SplitError("").empty());
}

TEST_CASE("a batch input file: every line's body is read and aggregated") {
  const std::string jsonl =
      kChatLine + "\n" +
      R"({"custom_id": "r2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-x", "max_tokens": 900, "messages": [{"role": "system", "content": "terse"}, {"role": "user", "content": "how to make sarin"}], "tools": [{"type": "function", "function": {"name": "t"}}]}})" +
      "\r\n\n";
  RequestBody b;
  Status s = api::ParseMultipartBody(kType, Upload(jsonl), &b);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(b.present);
  CHECK(b.api == "files");
  CHECK(b.file_purpose == "batch");
  CHECK(b.batch_requests == 2);
  CHECK(b.model == "gpt-x");
  CHECK(b.max_tokens == 900);
  CHECK(b.message_count == 3);
  CHECK(b.tools_count == 1);
  CHECK(b.user_text == "hello\nhow to make sarin");
  CHECK(b.system_text.find("terse") != std::string::npos);
  CHECK(b.prompt_text.find("user: how to make sarin\n") != std::string::npos);
  CHECK(b.prompt_chars == static_cast<int64_t>(b.prompt_text.size()));
}

TEST_CASE("a fine-tuning file: chat, prompt/completion and preference examples are read") {
  const std::string jsonl =
      R"({"messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]})"
      "\n"
      R"({"prompt": "q2", "completion": "a2"})"
      "\n"
      R"({"input": {"messages": [{"role": "user", "content": "q3"}]}, "preferred_output": [{"role": "assistant", "content": "a3"}], "non_preferred_output": [{"role": "assistant", "content": "b3"}]})";
  RequestBody b;
  Status s = api::ParseMultipartBody(kType, Upload(jsonl, "fine-tune"), &b);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(b.file_purpose == "fine-tune");
  CHECK(b.batch_requests == 3);
  for (const char* t : {"q1", "a1", "q2", "a2", "q3", "a3", "b3"}) {
    CAPTURE(t);
    CHECK(b.prompt_text.find(t) != std::string::npos);
  }
}

TEST_CASE("a file part that is not JSON Lines of request bodies is refused, naming the line") {
  auto error = [](const std::string& body) {
    RequestBody b;
    Status s = api::ParseMultipartBody(kType, body, &b);
    CHECK_FALSE(s.ok());
    CHECK_FALSE(b.present);
    return s.message();
  };
  CHECK(error(Upload("%PDF-1.7 binary")).find("line 1 of the file: the body is not valid JSON") !=
        std::string::npos);
  CHECK(error(Upload(kChatLine + "\n[1, 2]"))
            .find("line 2 of the file: the JSON body must be an object") != std::string::npos);
  CHECK(error(Upload(R"({"custom_id": "x", "body": "text"})")).find("not a request body") !=
        std::string::npos);
  CHECK(error(Upload(R"({"foo": "bar"})")).find("line 1 of the file: not a request body") !=
        std::string::npos);
  CHECK(
      error(Upload(R"({"body": {"messages": [{"role": "user", "content": "a"}], "messages": []}})"))
          .find("duplicate key") != std::string::npos);
  CHECK(
      error(
          Upload(kChatLine + "\n" +
                 R"({"body": {"model": "other", "messages": [{"role": "user", "content": "a"}]}})"))
          .find("more than one model") != std::string::npos);
  CHECK(error(Upload("\n\r\n")).find("no request bodies") != std::string::npos);
  CHECK(error(Upload(R"({"messages": [], "max_tokens": "lots"})")).find("not a number") !=
        std::string::npos);
  // Two file parts, or none.
  CHECK(
      error(Part("name=a; filename=a", kChatLine) + Part("name=b; filename=b", kChatLine) + kClose)
          .find("more than one file part") != std::string::npos);
  CHECK(error(Part("name=purpose", "batch") + kClose).find("no file part") != std::string::npos);
  CHECK(error(Upload(kChatLine) + "x").find("after its close delimiter") != std::string::npos);
  RequestBody b;
  CHECK_FALSE(api::ParseMultipartBody("application/json", Upload(kChatLine), &b).ok());
}

TEST_CASE(
    "an audio-style form: model and prompt fields are read, but an audio file is not JSON Lines") {
  RequestBody b;
  const std::string audio =
      Part("name=model", "whisper-1") + Part("name=prompt", "sarin") +
      Part("name=file; filename=\"a.mp3\"", "ID3\x03binary", "Content-Type: audio/mpeg\r\n") +
      kClose;
  CHECK_FALSE(api::ParseMultipartBody(kType, audio, &b).ok());
  // With a JSON Lines file, the text fields are read alongside it.
  const std::string form = Part("name=model", "gpt-x") + Part("name=prompt", "sarin words") +
                           Part("name=file; filename=f", kChatLine) + kClose;
  Status s = api::ParseMultipartBody(kType, form, &b);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(b.user_text == "hello\nsarin words");
  CHECK(b.model == "gpt-x");
}

TEST_CASE("multipart stays linear: many lines and a large part read in one pass") {
  std::string jsonl;
  for (int i = 0; i < 5000; ++i) jsonl += kChatLine + "\n";
  RequestBody b;
  Status s = api::ParseMultipartBody(kType, Upload(jsonl), &b);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(b.batch_requests == 5000);
  CHECK(b.message_count == 5000);
  // A part full of near-boundaries ("\r\n--XyZ" needs all of it).
  std::string tricky;
  for (int i = 0; i < 100000; ++i) tricky += "\r\n--Xy";
  std::vector<MultipartPart> parts;
  REQUIRE(api::SplitMultipart(kType, Part("name=t", tricky) + kClose, &parts).ok());
  CHECK(parts[0].data.size() == tricky.size());
}
