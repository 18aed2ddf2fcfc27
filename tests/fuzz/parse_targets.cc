// Fuzz entries for what a client sends: request bodies, forward-auth
// requests and traffic captures.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/request/forward_auth.h"
#include "api/request/request_description.h"
#include "api/request/capture.h"
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

[[noreturn]] void Violated(const char* property, std::string_view target) {
  std::fprintf(stderr, "forward_auth: %s (target \"%.*s\")\n", property,
               static_cast<int>(target.size()), target.data());
  std::abort();
}

// What an accepted request promises: the forwarded target is the classified
// path (then the query), that path is canonical, and no credential carrier
// reached the Request's headers.
void CheckAccepted(const api::IncomingRequest& in, const Request& out, const api::Forwarding& fwd) {
  if (fwd.target.compare(0, out.path.size(), out.path) != 0 ||
      (fwd.target.size() > out.path.size() && fwd.target[out.path.size()] != '?'))
    Violated("the forwarded target is not the classified path", in.target);
  std::string again;
  if (!api::CanonicalPath(out.path, &again) || again != out.path)
    Violated("the classified path is not canonical", in.target);
  if ((fwd.carrier == api::CredentialCarrier::kNone) != out.key_id.empty())
    Violated("a key id without a forwarded credential, or the reverse", in.target);
  for (const auto& [name, value] : out.headers) {
    if (name == "authorization" || name == "x-api-key" || name == "api-key" ||
        name == "x-goog-api-key" || name == "proxy-authorization")
      Violated("a credential header reached the Request", in.target);
    if (!out.peer_trusted && (name.rfind("x-forwarded-", 0) == 0 ||
                              name.rfind("x-original-", 0) == 0 || name == "x-real-ip" ||
                              name == "forwarded"))
      Violated("a forwarding header from an untrusted peer reached the Request", in.target);
  }
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

  const api::ForwardAuthConfig defaults;
  const api::ForwardAuthConfig strict = [] {
    api::ForwardAuthConfig c;
    c.path_prefix = "";
    c.max_body_bytes = 16;
    c.unreadable_body = api::UnreadableBody::kPass;
    c.trusted_proxies.clear();  // no peer trusted
    return c;
  }();
  for (const char* peer : {"127.0.0.1", "10.0.0.1"}) {
    in.peer_ip = peer;
    for (bool inline_mode : {false, true}) {
      in.inline_mode = inline_mode;
      for (const api::ForwardAuthConfig* cfg : {&defaults, &strict}) {
        Request out;
        api::Forwarding fwd;
        api::Refusal refusal;
        if (!api::Translate(in, *cfg, &out, &fwd, &refusal)) {
          if (refusal.type.empty()) Violated("refused without a type", in.target);
          continue;
        }
        CheckAccepted(in, out, fwd);
      }
    }
  }
  Request out;
  (void)api::TranslateForwardAuth(in, defaults, &out);
  (void)api::NormalizePath(in.target);
}

void Capture(const uint8_t* data, size_t size) {
  std::string_view rest = View(data, size);
  while (!rest.empty()) {
    const std::string_view line = NextLine(&rest);
    api::CaptureLine parsed;
    std::string problem;
    if (!api::ParseCaptureLine(line, &parsed, &problem)) continue;
    Request request;
    (void)api::RequestFromDescription(parsed.request, &request);
  }
}

}  // namespace tosgate::fuzz
