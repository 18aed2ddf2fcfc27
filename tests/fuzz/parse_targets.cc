// Fuzz entries for what a client sends: request bodies, forward-auth
// requests and traffic captures.
#include <string>
#include <string_view>

#include "api/gateway/forward_auth.h"
#include "api/gateway/request_description.h"
#include "cli/capture.h"
#include "engine/body_parser.h"
#include "tests/fuzz/fuzz_targets.h"

namespace tosgate::fuzz {
namespace {

std::string_view View(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Cuts the next line (without its "\n" or "\r\n") off the front of *rest.
std::string_view NextLine(std::string_view* rest) {
  const size_t nl = rest->find('\n');
  std::string_view line = rest->substr(0, nl);
  *rest = nl == std::string_view::npos ? std::string_view() : rest->substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

void BodyParser(const uint8_t* data, size_t size) {
  const std::string_view json = View(data, size);
  RequestBody body;
  (void)engine::ParseBody(json, &body);
  // A shallow limit takes the depth check's other branches.
  (void)engine::ParseBody(json, &body, engine::BodyLimits{.max_depth = 3});
}

void ForwardAuth(const uint8_t* data, size_t size) {
  std::string_view rest = View(data, size);
  api::IncomingRequest in;
  const std::string_view request_line = NextLine(&rest);
  const size_t sp = request_line.find(' ');
  in.method = std::string(request_line.substr(0, sp));
  if (sp != std::string_view::npos) in.target = std::string(request_line.substr(sp + 1));
  while (!rest.empty()) {
    const std::string_view line = NextLine(&rest);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    std::string_view value =
        colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    in.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  in.body = std::string(rest);
  in.peer_ip = "10.0.0.1";

  Request out;
  (void)api::TranslateForwardAuth(in, api::ForwardAuthConfig{}, &out);
  api::ForwardAuthConfig strict;
  strict.path_prefix = "";
  strict.max_body_bytes = 16;
  strict.unreadable_body = api::UnreadableBody::kPass;
  (void)api::TranslateForwardAuth(in, strict, &out);
  (void)api::NormalizePath(in.target);
}

void Capture(const uint8_t* data, size_t size) {
  std::string_view rest = View(data, size);
  while (!rest.empty()) {
    const std::string_view line = NextLine(&rest);
    cli::CaptureLine parsed;
    std::string problem;
    if (!cli::ParseCaptureLine(line, &parsed, &problem)) continue;
    Request request;
    (void)api::RequestFromDescription(parsed.request, &request);
  }
}

}  // namespace tosgate::fuzz
