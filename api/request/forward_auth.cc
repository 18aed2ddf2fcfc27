// api::Translate: headers, credentials, the URI and the body, in that order.
// The path is forward_auth_path.cc's, the client address
// forward_auth_client.cc's.
#include "api/request/forward_auth.h"

#include <string_view>

#include "api/request/forward_auth_internal.h"
#include "api/request/multipart.h"
#include "engine/accounts.h"
#include "engine/body_parser.h"

namespace tosgate::api {
namespace {

using internal::EqualsNoCase;
using internal::Lower;
using internal::StartsWithNoCase;
using internal::Trim;

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - ('a' - 'A')) : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A query component as an upstream's form decoder reads it: %XX decoded,
// '+' a space; a '%' without two hex digits stays as it is.
std::string FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool Refuse(Refusal* r, int status, const char* type, std::string detail) {
  r->status = status;
  r->type = type;
  r->detail = std::move(detail);
  return false;
}

const char* CarrierName(CredentialCarrier c) {
  switch (c) {
    case CredentialCarrier::kAuthorization: return "Authorization";
    case CredentialCarrier::kXApiKey: return "x-api-key";
    case CredentialCarrier::kApiKey: return "api-key";
    case CredentialCarrier::kXGoogApiKey: return "x-goog-api-key";
    case CredentialCarrier::kQueryKey: return "the key query parameter";
    case CredentialCarrier::kNone: break;
  }
  return "none";
}

// The headers Translate reads, by lower-case name.
enum class Hdr : uint8_t {
  kOther,
  kOriginalMethod,
  kOriginalUri,
  kForwardedMethod,
  kForwardedUri,
  kForwardedFor,
  kForwarded,
  kRealIp,
  kForwardedOther,  // X-Forwarded-Host, -Proto, X-Original-Forwarded-For, ...: trusted-only, not read
  kAuthorization,
  kXApiKey,
  kApiKey,
  kXGoogApiKey,
  kProxyAuthorization,
  kContentType,
  kContentLength,
  kPartialBody,
  kPurpose,
  kRequestId,
};

Hdr Classify(std::string_view n) {
  if (n.substr(0, 12) == "x-forwarded-") {
    const std::string_view rest = n.substr(12);
    if (rest == "for") return Hdr::kForwardedFor;
    if (rest == "method") return Hdr::kForwardedMethod;
    if (rest == "uri") return Hdr::kForwardedUri;
    return Hdr::kForwardedOther;
  }
  if (n.substr(0, 11) == "x-original-") {
    const std::string_view rest = n.substr(11);
    if (rest == "method") return Hdr::kOriginalMethod;
    if (rest == "uri") return Hdr::kOriginalUri;
    return Hdr::kForwardedOther;
  }
  if (n == "x-real-ip") return Hdr::kRealIp;
  if (n == "forwarded") return Hdr::kForwarded;
  if (n == "authorization") return Hdr::kAuthorization;
  if (n == "x-api-key") return Hdr::kXApiKey;
  if (n == "api-key") return Hdr::kApiKey;
  if (n == "x-goog-api-key") return Hdr::kXGoogApiKey;
  if (n == "proxy-authorization") return Hdr::kProxyAuthorization;
  if (n == "content-type") return Hdr::kContentType;
  if (n == "content-length") return Hdr::kContentLength;
  if (n == "x-envoy-auth-partial-body") return Hdr::kPartialBody;
  if (n == "x-usage-purpose") return Hdr::kPurpose;
  if (n == "x-request-id") return Hdr::kRequestId;
  return Hdr::kOther;
}

bool IsForwarding(Hdr h) {
  return h == Hdr::kOriginalMethod || h == Hdr::kOriginalUri || h == Hdr::kForwardedMethod ||
         h == Hdr::kForwardedUri || h == Hdr::kForwardedFor || h == Hdr::kForwarded ||
         h == Hdr::kRealIp || h == Hdr::kForwardedOther;
}

// The one credential of a request. Views point into the request's headers
// or into `query_value`, which outlive it.
class CredentialSet {
 public:
  // False, remembering the carrier, when `value` differs from a credential
  // already seen.
  bool Add(CredentialCarrier carrier, std::string_view value, std::string_view forward) {
    if (value.empty()) return true;  // an empty carrier names no key
    if (carrier_ == CredentialCarrier::kNone) {
      Set(carrier, value, forward);
      return true;
    }
    if (value != value_) {
      conflict_ = carrier;
      return false;
    }
    // One credential in several carriers: forwarded in the first carrier of
    // the enum's order, whatever order the headers came in.
    if (static_cast<int>(carrier) < static_cast<int>(carrier_)) Set(carrier, value, forward);
    return true;
  }

  CredentialCarrier carrier() const { return carrier_; }
  std::string_view value() const { return value_; }
  std::string_view forward() const { return forward_; }

  bool Refused(Refusal* refusal) const {
    return Refuse(refusal, 400, "ambiguous-credentials",
                  std::string("the request carries two different credentials (") +
                      CarrierName(carrier_) + " and " + CarrierName(conflict_) + "); send one");
  }

  std::string query_value;  // storage for a decoded ?key= value

 private:
  void Set(CredentialCarrier carrier, std::string_view value, std::string_view forward) {
    carrier_ = carrier;
    value_ = value;
    forward_ = forward;
  }
  CredentialCarrier carrier_ = CredentialCarrier::kNone;
  CredentialCarrier conflict_ = CredentialCarrier::kNone;
  std::string_view value_;
  std::string_view forward_;
};

// Authorization: "Bearer <key>" gives <key>; any other scheme (Basic, a bare
// key) is a credential an upstream may accept, so its whole value is the key.
std::string_view AuthorizationKey(std::string_view v) {
  constexpr std::string_view kBearer = "bearer";
  if (v.size() > kBearer.size() && StartsWithNoCase(v, kBearer) &&
      (v[kBearer.size()] == ' ' || v[kBearer.size()] == '\t'))
    return Trim(v.substr(kBearer.size()));
  return v;
}

// What the header pass found; pointers into the request's headers.
struct Scan {
  const std::string* original_method = nullptr;
  const std::string* original_uri = nullptr;
  const std::string* forwarded_method = nullptr;
  const std::string* forwarded_uri = nullptr;
  const std::string* content_type = nullptr;
  const std::string* content_length = nullptr;
  internal::ClientHeaders client;
  bool partial_body = false;
  bool conflicting_framing = false;  // two different Content-Type or Content-Length
};

// One pass over the headers: what is read, what is kept in out->headers.
bool ScanHeaders(const IncomingRequest& in, Scan* scan, CredentialSet* creds, Request* out,
                 Refusal* refusal) {
  out->headers.reserve(in.headers.size());
  scan->client.all = &in.headers;
  std::string lower;
  for (const auto& header : in.headers) {
    // Named references, not a structured binding: the lambdas below capture
    // `value`, which clang before 16 refuses for a binding.
    const std::string& name = header.first;
    const std::string& value = header.second;
    lower.assign(name);
    for (char& c : lower) c = Lower(c);
    const Hdr h = Classify(lower);
    if (IsForwarding(h) && !out->peer_trusted) continue;  // a client naming its own address or URI
    auto first = [&](const std::string** slot) {
      if (!*slot) *slot = &value;
    };
    auto single = [&](const std::string** slot) {
      if (*slot && Trim(**slot) != Trim(value)) scan->conflicting_framing = true;
      first(slot);
    };
    const std::string_view v = Trim(value);
    bool keep = true;
    bool agreed = true;
    switch (h) {
      // Consumed into method and path; the URI's query may hold ?key=.
      case Hdr::kOriginalMethod: first(&scan->original_method); keep = false; break;
      case Hdr::kOriginalUri: first(&scan->original_uri); keep = false; break;
      case Hdr::kForwardedMethod: first(&scan->forwarded_method); keep = false; break;
      case Hdr::kForwardedUri: first(&scan->forwarded_uri); keep = false; break;
      case Hdr::kForwardedFor: scan->client.forwarded_for = true; break;
      case Hdr::kForwarded: scan->client.forwarded = true; break;
      case Hdr::kRealIp: first(&scan->client.real_ip); break;
      // Secrets: read, never kept.
      case Hdr::kAuthorization:
        keep = false;
        agreed = creds->Add(CredentialCarrier::kAuthorization, AuthorizationKey(v), v);
        break;
      case Hdr::kXApiKey: keep = false; agreed = creds->Add(CredentialCarrier::kXApiKey, v, v); break;
      case Hdr::kApiKey: keep = false; agreed = creds->Add(CredentialCarrier::kApiKey, v, v); break;
      case Hdr::kXGoogApiKey:
        keep = false;
        agreed = creds->Add(CredentialCarrier::kXGoogApiKey, v, v);
        break;
      case Hdr::kProxyAuthorization: keep = false; break;  // the proxy's, never the upstream's
      case Hdr::kContentType: single(&scan->content_type); break;
      case Hdr::kContentLength: single(&scan->content_length); break;
      case Hdr::kPartialBody:
        // Only Envoy cuts a body; in inline mode the gateway has all of it.
        if (!in.inline_mode && EqualsNoCase(v, "true")) scan->partial_body = true;
        break;
      case Hdr::kPurpose:
        if (out->purpose.empty()) out->purpose = std::string(v);
        break;
      case Hdr::kRequestId:
        if (out->request_id.empty()) out->request_id = std::string(v);
        break;
      default: break;
    }
    if (!agreed) return creds->Refused(refusal);
    if (keep) out->headers.emplace_back(lower, value);
  }
  return true;
}

// "https://host:8443/a/b?c" -> "/a/b?c", with *absolute set; other targets
// pass unchanged (and CanonicalPath refuses what does not start with '/').
std::string_view StripAuthority(std::string_view uri, bool* absolute) {
  std::string_view rest;
  if (StartsWithNoCase(uri, "http://"))
    rest = uri.substr(7);
  else if (StartsWithNoCase(uri, "https://"))
    rest = uri.substr(8);
  else
    return uri;
  *absolute = true;
  const size_t path = rest.find_first_of("/?#");
  return path == std::string_view::npos ? std::string_view() : rest.substr(path);
}

// The original URI of an Envoy-style check: the target after the prefix.
std::string_view AfterPrefix(std::string_view target, std::string_view prefix) {
  if (prefix.empty() || target.substr(0, prefix.size()) != prefix) return target;
  std::string_view rest = target.substr(prefix.size());
  if (rest.empty() || rest.front() == '?' || rest.front() == '#') return "/";
  if (rest.front() == '/') return rest;
  return target;  // "/v1/checkout" is not under "/v1/check"
}

// The client's method, canonical path and raw query.
bool ReadRequestLine(const IncomingRequest& in, const ForwardAuthConfig& cfg, const Scan& scan,
                     Request* out, std::string_view* query, Refusal* refusal) {
  // A trusted proxy names them, except to the inline proxy, where the
  // request line is the client's own.
  const bool named = out->peer_trusted && !in.inline_mode;
  std::string_view method = named && scan.original_method    ? *scan.original_method
                            : named && scan.forwarded_method ? *scan.forwarded_method
                                                             : std::string_view(in.method);
  method = Trim(method);
  out->method.resize(method.size());
  for (size_t i = 0; i < method.size(); ++i) out->method[i] = Upper(method[i]);

  std::string_view uri = named && scan.original_uri    ? std::string_view(*scan.original_uri)
                         : named && scan.forwarded_uri ? std::string_view(*scan.forwarded_uri)
                         : in.inline_mode              ? std::string_view(in.target)
                                                       : AfterPrefix(in.target, cfg.path_prefix);
  bool absolute = false;
  uri = StripAuthority(Trim(uri), &absolute);
  const size_t qmark = uri.find('?');
  std::string_view raw_path = uri.substr(0, qmark);
  if (absolute && raw_path.empty()) raw_path = "/";  // "http://host?q" asks for "/"
  *query = qmark == std::string_view::npos ? std::string_view() : uri.substr(qmark + 1);

  std::string why;
  if (!CanonicalPath(raw_path, &out->path, &why))
    return Refuse(refusal, 400, "ambiguous-path", "the request path is ambiguous: " + why);
  for (char c : *query) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '#' || c == ';')
      return Refuse(refusal, 400, "ambiguous-path",
                    "the query has a control character, a '#' or a ';' (which some servers "
                    "read as a separator)");
  }
  return true;
}

// Is the query parameter named `raw_name` a credential carrier? Compared as
// an upstream's decoder reads it: "k%65y" is "key".
bool IsKeyParam(std::string_view raw_name) {
  if (raw_name.size() < 3 || raw_name.size() > 21) return false;  // "key" .. "api_key" encoded
  if (raw_name.find_first_of("%+") == std::string_view::npos)
    return EqualsNoCase(raw_name, "key") || EqualsNoCase(raw_name, "api_key");
  std::string name = FormDecode(raw_name);
  for (char& c : name) c = Lower(c);
  return name == "key" || name == "api_key";
}

// Calls f(piece, name, value) for each '&'-separated piece of the query.
template <typename F>
void ForEachParam(std::string_view query, F f) {
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    const size_t eq = piece.find('=');
    f(piece, piece.substr(0, eq),
      eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// Gemini's ?key= (and ?api_key=): credentials like the headers'. Sets
// *has_key when the query holds such a parameter, empty or not.
bool ReadQueryKeys(std::string_view query, CredentialSet* creds, bool* has_key,
                   Refusal* refusal) {
  bool agreed = true;
  ForEachParam(query, [&](std::string_view, std::string_view name, std::string_view value) {
    if (!agreed || !IsKeyParam(name)) return;
    *has_key = true;
    std::string decoded = FormDecode(value);
    if (creds->carrier() == CredentialCarrier::kNone) {
      if (decoded.empty()) return;
      creds->query_value = std::move(decoded);
      agreed = creds->Add(CredentialCarrier::kQueryKey, creds->query_value, creds->query_value);
    } else {
      // The same value never replaces the chosen one (the query comes last
      // in the carriers' order), so `decoded` may go out of scope.
      agreed = creds->Add(CredentialCarrier::kQueryKey, decoded, decoded);
    }
  });
  return agreed || creds->Refused(refusal);
}

// Why the body cannot be read, or an empty string when it was read into out->body.
std::string ReadBody(const IncomingRequest& in, const Scan& scan, Request* out) {
  if (scan.partial_body) return "the proxy cut the body short (x-envoy-auth-partial-body: true)";
  if (scan.conflicting_framing)
    return "the request has two different Content-Type or Content-Length headers";
  const std::string_view length = scan.content_length ? Trim(*scan.content_length) : "";
  if (!length.empty()) {
    size_t announced = 0;
    bool number = length.size() <= 18;
    for (char c : length) {
      number = number && c >= '0' && c <= '9';
      announced = announced * 10 + static_cast<size_t>(c - '0');
    }
    if (!number || announced != in.body.size())
      return "the body received is not as long as its Content-Length says";
  }
  Status parsed;
  if (scan.content_type && IsMultipartFormData(*scan.content_type))
    parsed = ParseMultipartBody(*scan.content_type, in.body, &out->body);
  else
    parsed = engine::ParseBody(in.body, &out->body);
  if (parsed.ok()) return {};
  return "the body cannot be read: " + parsed.message();
}

// The query as received, less every credential parameter but the one the
// decision was made on (kept once, as it came).
std::string ForwardedQuery(std::string_view query, bool has_key, const CredentialSet& creds) {
  if (!has_key) return std::string(query);
  std::string kept;
  kept.reserve(query.size());
  bool kept_key = false, first = true;
  ForEachParam(query, [&](std::string_view piece, std::string_view name, std::string_view value) {
    if (IsKeyParam(name)) {
      if (kept_key || creds.carrier() != CredentialCarrier::kQueryKey ||
          FormDecode(value) != creds.value())
        return;
      kept_key = true;
    }
    if (!first) kept += '&';
    first = false;
    kept += piece;
  });
  return kept;
}

}  // namespace

bool Translate(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out,
               Forwarding* fwd, Refusal* refusal) {
  *out = Request{};
  if (fwd) *fwd = Forwarding{};
  if (in.body.size() > cfg.max_body_bytes)
    return Refuse(refusal, 413, "body-too-large",
                  "request body is " + std::to_string(in.body.size()) + " bytes, the limit is " +
                      std::to_string(cfg.max_body_bytes));
  out->peer_trusted = internal::IsTrustedPeer(in.peer_ip, cfg.trusted_proxies);
  out->inline_proxy = in.inline_mode;

  Scan scan;
  CredentialSet creds;
  if (!ScanHeaders(in, &scan, &creds, out, refusal)) return false;
  std::string_view query;
  if (!ReadRequestLine(in, cfg, scan, out, &query, refusal)) return false;
  bool query_has_key = false;
  if (!query.empty() && !ReadQueryKeys(query, &creds, &query_has_key, refusal)) return false;
  if (creds.carrier() != CredentialCarrier::kNone) out->key_id = engine::KeyId(creds.value());

  out->client_ip = std::string(
      out->peer_trusted ? internal::ClientAddress(scan.client, in.peer_ip, cfg.trusted_proxies)
                        : std::string_view(in.peer_ip));

  // No body at all is no body (nginx and Caddy send none), unless one was
  // announced or cut.
  const std::string_view length = scan.content_length ? Trim(*scan.content_length) : "";
  if (!in.body.empty() || scan.partial_body || (!length.empty() && length != "0")) {
    if (std::string why = ReadBody(in, scan, out); !why.empty()) {
      if (cfg.unreadable_body != UnreadableBody::kPass)
        return Refuse(refusal, 400, "unreadable-body", std::move(why));
      out->body = RequestBody{};
      out->body_unread = true;
    }
  }
  if (out->purpose.empty() && !out->body.metadata_purpose.empty())
    out->purpose = out->body.metadata_purpose;

  if (fwd) {
    fwd->carrier = creds.carrier();
    fwd->credential = std::string(creds.forward());
    fwd->target = out->path;
    if (const std::string kept = ForwardedQuery(query, query_has_key, creds); !kept.empty()) {
      fwd->target += '?';
      fwd->target += kept;
    }
  }
  return true;
}

Status TranslateForwardAuth(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out) {
  Refusal refusal;
  if (Translate(in, cfg, out, nullptr, &refusal)) return Status::Ok();
  if (refusal.status == 413) return Status::ResourceExhausted(refusal.detail);
  return Status::InvalidArgument(refusal.detail);
}

}  // namespace tosgate::api
