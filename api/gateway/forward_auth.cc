#include "api/gateway/forward_auth.h"

#include <array>
#include <string_view>

#include "engine/accounts.h"
#include "engine/body_parser.h"

// The multipart reader is the body slice of issue 19 (api/gateway/multipart.h,
// branch h1-body). Until it is merged, a multipart body is one the gateway
// cannot read: refused, or passed as unread, like any other.
#if __has_include("api/gateway/multipart.h")
#include "api/gateway/multipart.h"
#define TOSGATE_HAVE_MULTIPART 1
#endif

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

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

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
  kForwardedOther,  // X-Forwarded-Host, -Proto, -Port, -Prefix, ...: trusted-only, not read
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
  if (n.size() > 12 && n.substr(0, 12) == "x-forwarded-") {
    const std::string_view rest = n.substr(12);
    if (rest == "for") return Hdr::kForwardedFor;
    if (rest == "method") return Hdr::kForwardedMethod;
    if (rest == "uri") return Hdr::kForwardedUri;
    return Hdr::kForwardedOther;
  }
  if (n == "x-original-method") return Hdr::kOriginalMethod;
  if (n == "x-original-uri") return Hdr::kOriginalUri;
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

// The one credential chosen so far. Views point into the request's headers
// or into `query_value`.
class CredentialSet {
 public:
  // False when `value` differs from a credential already seen.
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
    // One credential in several carriers: forward it in the first carrier
    // of the enum's order, whatever order the headers came in.
    if (static_cast<int>(carrier) < static_cast<int>(carrier_)) Set(carrier, value, forward);
    return true;
  }

  CredentialCarrier carrier() const { return carrier_; }
  CredentialCarrier conflict() const { return conflict_; }
  std::string_view value() const { return value_; }
  std::string_view forward() const { return forward_; }
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

// Parses one forwarding hop ("1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:80",
// "\"[::1]\"") into its address text and bytes.
bool ParseHop(std::string_view hop, std::string_view* addr, std::array<uint8_t, 16>* ip) {
  hop = Trim(hop);
  if (hop.size() >= 2 && hop.front() == '"' && hop.back() == '"') hop = hop.substr(1, hop.size() - 2);
  if (!hop.empty() && hop.front() == '[') {
    const size_t close = hop.find(']');
    if (close == std::string_view::npos) return false;
    hop = hop.substr(1, close - 1);
  } else if (const size_t colon = hop.find(':');
             colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
    hop = hop.substr(0, colon);  // IPv4 with a port
  }
  *addr = hop;
  return engine::ParseIp(hop, ip);
}

bool InCidr(const std::array<uint8_t, 16>& ip, const engine::Cidr& c) {
  int bits = c.prefix_bits;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (c.addr[i] & mask)) return false;
  }
  return true;
}

bool IsTrusted(const std::array<uint8_t, 16>& ip, const std::vector<engine::Cidr>& trusted) {
  for (const engine::Cidr& c : trusted)
    if (InCidr(ip, c)) return true;
  return false;
}

// The client among forwarding hops, nearest last: walking from the right,
// the first hop that is not a trusted proxy. A hop that is not an address
// ends the walk at the proxy that wrote it; when every hop is a trusted
// proxy, the leftmost.
std::string_view RightmostUntrusted(const std::vector<std::string_view>& hops,
                                    std::string_view peer, const std::vector<engine::Cidr>& trusted) {
  std::string_view client = peer;
  std::array<uint8_t, 16> ip;
  for (size_t i = hops.size(); i-- > 0;) {
    std::string_view addr;
    if (!ParseHop(hops[i], &addr, &ip)) return client;
    client = addr;
    if (!IsTrusted(ip, trusted)) return client;
  }
  return client;
}

// Splits comma-separated hops of every header in `values` (in order) onto `hops`.
void SplitHops(const std::vector<const std::string*>& values, std::vector<std::string_view>* hops) {
  for (const std::string* v : values) {
    std::string_view rest = *v;
    while (true) {
      const size_t comma = rest.find(',');
      hops->push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
}

// RFC 7239 Forwarded: each element's for= value, one hop per element.
void ForwardedHops(const std::vector<const std::string*>& values,
                   std::vector<std::string_view>* hops) {
  std::vector<std::string_view> elements;
  SplitHops(values, &elements);
  for (std::string_view e : elements) {
    std::string_view hop;  // an element without for= is a hop we cannot read
    while (!e.empty()) {
      const size_t semi = e.find(';');
      const std::string_view pair = Trim(e.substr(0, semi));
      if (StartsWithNoCase(pair, "for=")) hop = pair.substr(4);
      if (semi == std::string_view::npos) break;
      e.remove_prefix(semi + 1);
    }
    hops->push_back(hop);
  }
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

bool Refuse(Refusal* r, int status, const char* type, std::string detail) {
  r->status = status;
  r->type = type;
  r->detail = std::move(detail);
  return false;
}

// Is the query's parameter `name` (raw) a credential carrier?
bool IsKeyParam(std::string_view raw_name) {
  if (raw_name.size() > 21) return false;  // "api_key" encoded thrice over, at most
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

}  // namespace

std::vector<engine::Cidr> LoopbackProxies() {
  std::vector<engine::Cidr> out(2);
  engine::ParseCidr("127.0.0.0/8", &out[0]);
  engine::ParseCidr("::1/128", &out[1]);
  return out;
}

bool Translate(const IncomingRequest& in, const ForwardAuthConfig& cfg, Request* out,
               Forwarding* fwd, Refusal* refusal) {
  *out = Request{};
  if (fwd) *fwd = Forwarding{};
  if (in.body.size() > cfg.max_body_bytes)
    return Refuse(refusal, 413, "body-too-large",
                  "request body is " + std::to_string(in.body.size()) + " bytes, the limit is " +
                      std::to_string(cfg.max_body_bytes));

  std::array<uint8_t, 16> peer_ip;
  const bool trusted =
      engine::ParseIp(in.peer_ip, &peer_ip) && IsTrusted(peer_ip, cfg.trusted_proxies);
  out->peer_trusted = trusted;
  out->inline_proxy = in.inline_mode;

  // One pass over the headers: what is read, what is kept.
  const std::string *original_method = nullptr, *original_uri = nullptr,
                    *forwarded_method = nullptr, *forwarded_uri = nullptr, *real_ip = nullptr,
                    *content_type = nullptr, *content_length = nullptr;
  std::vector<const std::string*> forwarded_for, forwarded;
  bool partial_body = false, conflicting_framing = false;
  CredentialSet creds;
  out->headers.reserve(in.headers.size());
  std::string lower;
  for (const auto& [name, value] : in.headers) {
    lower.assign(name);
    for (char& c : lower) c = Lower(c);
    const Hdr h = Classify(lower);
    if (IsForwarding(h) && !trusted) continue;  // a client naming its own address or URI
    auto first = [&](const std::string** slot) {
      if (!*slot) *slot = &value;
    };
    bool keep = true;
    const std::string_view v = Trim(value);
    switch (h) {
      case Hdr::kOriginalMethod: first(&original_method); keep = false; break;
      case Hdr::kOriginalUri: first(&original_uri); keep = false; break;
      case Hdr::kForwardedMethod: first(&forwarded_method); keep = false; break;
      case Hdr::kForwardedUri: first(&forwarded_uri); keep = false; break;
      case Hdr::kForwardedFor: forwarded_for.push_back(&value); break;
      case Hdr::kForwarded: forwarded.push_back(&value); break;
      case Hdr::kRealIp: first(&real_ip); break;
      case Hdr::kAuthorization:
        keep = false;
        creds.Add(CredentialCarrier::kAuthorization, AuthorizationKey(v), v);
        break;
      case Hdr::kXApiKey: keep = false; creds.Add(CredentialCarrier::kXApiKey, v, v); break;
      case Hdr::kApiKey: keep = false; creds.Add(CredentialCarrier::kApiKey, v, v); break;
      case Hdr::kXGoogApiKey: keep = false; creds.Add(CredentialCarrier::kXGoogApiKey, v, v); break;
      case Hdr::kProxyAuthorization: keep = false; break;  // the proxy's, never the upstream's
      case Hdr::kContentType:
        if (content_type && Trim(*content_type) != v) conflicting_framing = true;
        first(&content_type);
        break;
      case Hdr::kContentLength:
        if (content_length && Trim(*content_length) != v) conflicting_framing = true;
        first(&content_length);
        break;
      case Hdr::kPartialBody:
        // Only Envoy cuts a body; in inline mode the gateway has all of it.
        if (!in.inline_mode && EqualsNoCase(v, "true")) partial_body = true;
        break;
      case Hdr::kPurpose:
        if (out->purpose.empty()) out->purpose = std::string(v);
        break;
      case Hdr::kRequestId:
        if (out->request_id.empty()) out->request_id = std::string(v);
        break;
      default: break;
    }
    if (creds.conflict() != CredentialCarrier::kNone)
      return Refuse(refusal, 400, "ambiguous-credentials",
                    std::string("the request carries two different credentials (") +
                        CarrierName(creds.carrier()) + " and " + CarrierName(creds.conflict()) +
                        "); send one");
    if (keep) out->headers.emplace_back(lower, value);
  }

  // The client's method and URI.
  const bool from_headers = trusted && !in.inline_mode;
  std::string_view method = from_headers && original_method    ? *original_method
                            : from_headers && forwarded_method ? *forwarded_method
                                                               : std::string_view(in.method);
  method = Trim(method);
  out->method.resize(method.size());
  for (size_t i = 0; i < method.size(); ++i) out->method[i] = Upper(method[i]);

  std::string_view uri = from_headers && original_uri    ? std::string_view(*original_uri)
                         : from_headers && forwarded_uri ? std::string_view(*forwarded_uri)
                         : in.inline_mode                ? std::string_view(in.target)
                                                         : AfterPrefix(in.target, cfg.path_prefix);
  bool absolute = false;
  uri = StripAuthority(Trim(uri), &absolute);
  const size_t qmark = uri.find('?');
  std::string_view raw_path = uri.substr(0, qmark);
  if (absolute && raw_path.empty()) raw_path = "/";  // "http://host?q" asks for "/"
  const std::string_view query =
      qmark == std::string_view::npos ? std::string_view() : uri.substr(qmark + 1);
  std::string why;
  if (!CanonicalPath(raw_path, &out->path, &why))
    return Refuse(refusal, 400, "ambiguous-path", "the request path is ambiguous: " + why);
  for (char c : query) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '#' || c == ';')
      return Refuse(refusal, 400, "ambiguous-path",
                    "the query has a control character, a '#' or a ';' (which some servers "
                    "read as a separator)");
  }

  // Credentials in the query (Gemini's ?key=).
  bool query_has_key = false;
  if (!query.empty()) {
    ForEachParam(query, [&](std::string_view, std::string_view name, std::string_view value) {
      if (creds.conflict() != CredentialCarrier::kNone || !IsKeyParam(name)) return;
      query_has_key = true;
      std::string decoded = FormDecode(value);
      if (decoded.empty()) return;
      if (creds.carrier() == CredentialCarrier::kNone) {
        creds.query_value = std::move(decoded);
        creds.Add(CredentialCarrier::kQueryKey, creds.query_value, creds.query_value);
      } else {
        creds.Add(CredentialCarrier::kQueryKey, decoded, decoded);
      }
    });
    if (creds.conflict() != CredentialCarrier::kNone)
      return Refuse(refusal, 400, "ambiguous-credentials",
                    std::string("the request carries two different credentials (") +
                        CarrierName(creds.carrier()) + " and " + CarrierName(creds.conflict()) +
                        "); send one");
  }
  if (creds.carrier() != CredentialCarrier::kNone) out->key_id = engine::KeyId(creds.value());

  // The client's address: the trusted proxy tells us, else the peer is the client.
  std::string_view ip = in.peer_ip;
  if (trusted) {
    std::vector<std::string_view> hops;
    std::array<uint8_t, 16> bytes;
    std::string_view addr;
    if (!forwarded_for.empty()) {
      SplitHops(forwarded_for, &hops);
      ip = RightmostUntrusted(hops, in.peer_ip, cfg.trusted_proxies);
    } else if (!forwarded.empty()) {
      ForwardedHops(forwarded, &hops);
      ip = RightmostUntrusted(hops, in.peer_ip, cfg.trusted_proxies);
    } else if (real_ip && ParseHop(*real_ip, &addr, &bytes)) {
      ip = addr;
    }
  }
  out->client_ip = std::string(ip);

  // The body, whatever the Content-Type says.
  const std::string_view length = content_length ? Trim(*content_length) : std::string_view();
  if (!in.body.empty() || partial_body || (!length.empty() && length != "0")) {
    const char* unreadable = nullptr;
    std::string problem;
    size_t announced = 0;
    bool length_ok = true;
    if (!length.empty()) {
      length_ok = length.size() <= 18;
      for (char c : length) {
        if (c < '0' || c > '9') length_ok = false;
        else announced = announced * 10 + static_cast<size_t>(c - '0');
      }
    }
    if (partial_body) {
      unreadable = "the proxy cut the body short (x-envoy-auth-partial-body: true)";
    } else if (conflicting_framing) {
      unreadable = "the request has two different Content-Type or Content-Length headers";
    } else if (!length.empty() && (!length_ok || announced != in.body.size())) {
      unreadable = "the body received is not as long as its Content-Length says";
    } else {
      Status parsed;
#ifdef TOSGATE_HAVE_MULTIPART
      if (content_type && IsMultipartFormData(*content_type))
        parsed = ParseMultipartBody(*content_type, in.body, &out->body);
      else
        parsed = engine::ParseBody(in.body, &out->body);
#else
      // TODO(issue 19, body slice): multipart/form-data through ParseMultipartBody.
      parsed = engine::ParseBody(in.body, &out->body);
#endif
      if (!parsed.ok()) {
        problem = "the body cannot be read: " + parsed.message();
        unreadable = problem.c_str();
      }
    }
    if (unreadable) {
      if (cfg.unreadable_body != UnreadableBody::kPass)
        return Refuse(refusal, 400, "unreadable-body", unreadable);
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
    if (!query.empty()) {
      // The query as received, less every credential but the one decided on.
      bool kept_key = false;
      std::string kept;
      kept.reserve(query.size());
      bool first = true;
      ForEachParam(query, [&](std::string_view piece, std::string_view name,
                              std::string_view value) {
        if (query_has_key && IsKeyParam(name)) {
          if (kept_key || creds.carrier() != CredentialCarrier::kQueryKey ||
              FormDecode(value) != creds.value())
            return;
          kept_key = true;
        }
        if (!first) kept += '&';
        first = false;
        kept += piece;
      });
      if (!kept.empty()) {
        fwd->target += '?';
        fwd->target += kept;
      }
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
