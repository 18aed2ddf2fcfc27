#include "api/gateway/forward_auth.h"

#include <string_view>

#include "engine/accounts.h"
#include "engine/body_parser.h"

namespace tosgate::api {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - ('a' - 'A')) : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The headers TranslateForwardAuth reads, found in one pass.
struct Known {
  const std::string* original_method = nullptr;
  const std::string* original_uri = nullptr;
  const std::string* forwarded_method = nullptr;
  const std::string* forwarded_uri = nullptr;
  const std::string* forwarded_for = nullptr;
  const std::string* real_ip = nullptr;
  const std::string* authorization = nullptr;
  const std::string* api_key = nullptr;
  const std::string* content_type = nullptr;
  bool partial_body = false;
};

// Headers that carry secrets; they never reach the Request.
bool IsSecret(std::string_view lower) {
  return lower == "authorization" || lower == "x-api-key" || lower == "proxy-authorization";
}

void Remember(std::string_view lower, const std::string& value, Known* k) {
  auto first = [&](const std::string** slot) {
    if (!*slot) *slot = &value;
  };
  if (lower == "x-original-method")
    first(&k->original_method);
  else if (lower == "x-original-uri")
    first(&k->original_uri);
  else if (lower == "x-forwarded-method")
    first(&k->forwarded_method);
  else if (lower == "x-forwarded-uri")
    first(&k->forwarded_uri);
  else if (lower == "x-forwarded-for")
    first(&k->forwarded_for);
  else if (lower == "x-real-ip")
    first(&k->real_ip);
  else if (lower == "authorization")
    first(&k->authorization);
  else if (lower == "x-api-key")
    first(&k->api_key);
  else if (lower == "content-type")
    first(&k->content_type);
  else if (lower == "x-envoy-auth-partial-body")
    k->partial_body = EqualsNoCase(Trim(value), "true");
}

// "https://host:8443/a/b?c" -> "/a/b?c"; origin-form targets pass unchanged.
std::string_view StripAuthority(std::string_view uri) {
  size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos ||
      uri.substr(0, scheme_end).find('/') != std::string_view::npos)
    return uri;
  std::string_view rest = uri.substr(scheme_end + 3);
  size_t path = rest.find_first_of("/?#");
  return path == std::string_view::npos ? std::string_view("/") : rest.substr(path);
}

std::string_view WithoutQuery(std::string_view uri) {
  size_t q = uri.find_first_of("?#");
  return q == std::string_view::npos ? uri : uri.substr(0, q);
}

// The original URI of an Envoy-style check: the target after the prefix.
std::string_view AfterPrefix(std::string_view target, std::string_view prefix) {
  if (prefix.empty() || target.substr(0, prefix.size()) != prefix) return target;
  std::string_view rest = target.substr(prefix.size());
  if (rest.empty() || rest.front() == '?' || rest.front() == '#') return "/";
  if (rest.front() == '/') return rest;
  return target;  // "/v1/checkout" is not under "/v1/check"
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool LooksLikeJson(const std::string* content_type) {
  if (!content_type) return true;
  std::string_view ct = Trim(*content_type);
  if (ct.empty()) return true;
  for (size_t i = 0; i + 4 <= ct.size(); ++i)
    if (EqualsNoCase(ct.substr(i, 4), "json")) return true;
  return false;
}

}  // namespace

std::string NormalizePath(std::string_view path) {
  // Decode what is safe to decode: unreserved characters only, so %2F stays a
  // literal part of a segment rather than becoming a separator.
  std::string decoded;
  decoded.reserve(path.size() + 1);
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%' && i + 2 < path.size()) {
      int hi = HexValue(path[i + 1]), lo = HexValue(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        char d = static_cast<char>(hi * 16 + lo);
        if (IsUnreserved(d)) {
          decoded += d;
        } else {
          decoded += '%';
          decoded += Upper(path[i + 1]);
          decoded += Upper(path[i + 2]);
        }
        i += 2;
        continue;
      }
    }
    decoded += c;
  }

  std::string out;
  out.reserve(decoded.size() + 1);
  size_t pos = 0;
  while (pos <= decoded.size()) {
    size_t end = decoded.find('/', pos);
    if (end == std::string::npos) end = decoded.size();
    std::string_view seg(decoded.data() + pos, end - pos);
    if (seg == "..") {
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
    } else if (!seg.empty() && seg != ".") {
      out += '/';
      out += seg;
    }
    pos = end + 1;
  }
  if (out.empty()) out = "/";
  return out;
}

std::vector<engine::Cidr> LoopbackProxies() {
  std::vector<engine::Cidr> out(2);
  engine::ParseCidr("127.0.0.0/8", &out[0]);
  engine::ParseCidr("::1/128", &out[1]);
  return out;
}

bool CanonicalPath(std::string_view raw, std::string* out) {  // TODO(issue 19): refuse ambiguous forms
  *out = NormalizePath(raw);
  return true;
}

bool Translate(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out,
               Forwarding* fwd, Refusal* refusal) {
  Status s = TranslateForwardAuth(in, cfg, out);
  if (fwd) *fwd = Forwarding{};
  if (s.ok()) return true;
  refusal->status = s.code() == Status::Code::kResourceExhausted ? 413 : 400;
  refusal->type = s.code() == Status::Code::kResourceExhausted ? "body-too-large" : "bad-request-body";
  refusal->detail = s.message();
  return false;
}

Status TranslateForwardAuth(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out) {
  *out = Request{};
  if (in.body.size() > cfg.max_body_bytes)
    return Status::ResourceExhausted("request body is " + std::to_string(in.body.size()) +
                                     " bytes, the limit is " + std::to_string(cfg.max_body_bytes));

  Known known;
  out->headers.reserve(in.headers.size());
  std::string lower;
  for (const auto& [name, value] : in.headers) {
    lower.assign(name);
    for (char& c : lower) c = Lower(c);
    Remember(lower, value, &known);
    if (IsSecret(lower)) continue;
    if (lower == "x-usage-purpose" && out->purpose.empty())
      out->purpose = std::string(Trim(value));
    else if (lower == "x-request-id" && out->request_id.empty())
      out->request_id = std::string(Trim(value));
    out->headers.emplace_back(lower, value);
  }

  // The client's method and URI.
  std::string_view method = known.original_method    ? *known.original_method
                            : known.forwarded_method ? *known.forwarded_method
                                                     : std::string_view(in.method);
  method = Trim(method);
  out->method.resize(method.size());
  for (size_t i = 0; i < method.size(); ++i) out->method[i] = Upper(method[i]);

  std::string_view uri = known.original_uri    ? std::string_view(*known.original_uri)
                         : known.forwarded_uri ? std::string_view(*known.forwarded_uri)
                                               : AfterPrefix(in.target, cfg.path_prefix);
  out->path = NormalizePath(WithoutQuery(StripAuthority(Trim(uri))));

  // The client's address: the proxy tells us, else the proxy is the client.
  std::string_view ip;
  if (known.forwarded_for) {
    std::string_view xff = *known.forwarded_for;
    ip = Trim(xff.substr(0, xff.find(',')));
  }
  if (ip.empty() && known.real_ip) ip = Trim(*known.real_ip);
  out->client_ip = ip.empty() ? in.peer_ip : std::string(ip);

  // Identity: hash the key at once; the secret goes no further.
  std::string_view key;
  if (known.authorization) {
    std::string_view a = Trim(*known.authorization);
    constexpr std::string_view kBearer = "bearer ";
    if (a.size() > kBearer.size() && EqualsNoCase(a.substr(0, kBearer.size()), kBearer))
      key = Trim(a.substr(kBearer.size()));
  }
  if (key.empty() && known.api_key) key = Trim(*known.api_key);
  if (!key.empty()) out->key_id = engine::KeyId(key);

  if (!in.body.empty() && LooksLikeJson(known.content_type)) {
    Status parsed = engine::ParseBody(in.body, &out->body);
    if (!parsed.ok()) {
      out->body = RequestBody{};
      // Envoy cut the body at its limit: what is there is not all of it.
      if (!known.partial_body) return parsed;
    }
  } else if (!in.body.empty() && cfg.unreadable_body == UnreadableBody::kRefuse) {
    return Status::InvalidArgument("the request body is not JSON (content type " +
                                   std::string(known.content_type ? *known.content_type : "") + ")");
  }
  if (out->purpose.empty() && !out->body.metadata_purpose.empty())
    out->purpose = out->body.metadata_purpose;
  return Status::Ok();
}

}  // namespace tosgate::api
