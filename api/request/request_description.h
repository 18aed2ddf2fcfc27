// A request described as data (a policy test, a capture line, a check file)
// turned into the engine's Request by the gateway's own translation
// (api::Translate), so tests and replays see what production sees: the
// description is the client's request line from a trusted peer, so its
// path is canonicalized (an ambiguous one is an error), its credentials
// must agree, and its X-Forwarded-For names the client.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policies/test_file.h"
#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::api {

struct RequestDescription {
  std::string method = "POST";
  std::string path = "/";
  std::string client_ip = "127.0.0.1";
  std::string key;  // when set: "Authorization: Bearer <key>"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON text; empty for no body
};

Status RequestFromDescription(const RequestDescription& d, Request* out);

struct IncomingRequest;  // api/request/forward_auth.h
// The translation RequestFromDescription ends with, for a caller that built
// the IncomingRequest itself (the C API, from a proxy's buffers without a
// second copy): `in` in inline mode, its peer trusted to name the client,
// without a Content-Length and with a Content-Type when it has a body.
Status RequestFromIncoming(const IncomingRequest& in, Request* out);

// A policy test's request, built the same way: the policies::RequestBuilder of
// `tosgate test` and of every other runner of test files.
Status RequestFromTest(const policies::TestRequest& t, Request* out);

// Reads the JSON object `tosgate check --request FILE` and tosgate_check_json
// take: {"method", "path", "client_ip", "headers": {name: value}, "body": {...}},
// every member optional. A member of the wrong type is an error naming it.
Status DescriptionFromJson(std::string_view json, RequestDescription* out);

}  // namespace tosgate::api
