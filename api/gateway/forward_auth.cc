#include "api/gateway/forward_auth.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "engine/accounts.h"

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

int64_t Clamp(uint64_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(v);
}

// SAX reader for the handful of top-level body fields the engine needs: no
// DOM is built, strings outside those fields are never kept.
class BodySax {
 public:
  using json = nlohmann::json;
  explicit BodySax(RequestBody* out) : out_(out) {}

  bool null() { return Scalar(); }
  bool boolean(bool v) {
    if (depth_ == 1) {
      if (key_ == "stream")
        out_->stream = v;
      else if (key_ == "logprobs")
        out_->logprobs = v;
    }
    return Scalar();
  }
  bool number_integer(json::number_integer_t v) { return Number(static_cast<int64_t>(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Number(Clamp(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e18)
      return Number(static_cast<int64_t>(v));
    return Scalar();
  }
  bool string(json::string_t& v) {
    if (depth_ == 1) {
      if (key_ == "model")
        out_->model = v;
      else if (key_ == "input" || key_ == "prompt")
        out_->message_count = 1;
    }
    return Scalar();
  }
  bool binary(json::binary_t&) { return Scalar(); }
  bool start_object(std::size_t) { return Open(/*object=*/true); }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(/*object=*/false); }
  bool end_array() { return Close(); }
  bool key(json::string_t& k) {
    if (depth_ == 1)
      key_ = k;
    else if (depth_ == 2 && container_ == Container::kLogitBias)
      ++out_->logit_bias_count;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  bool saw_object() const { return saw_object_; }

 private:
  enum class Container : uint8_t { kOther, kLogitBias, kTools, kMessages };

  bool Number(int64_t v) {
    if (depth_ == 1) {
      if (key_ == "max_tokens" || key_ == "max_completion_tokens" || key_ == "max_output_tokens")
        out_->max_tokens = std::max(out_->max_tokens, v);
      else if (key_ == "n")
        out_->n = v;
      else if (key_ == "top_logprobs")
        out_->top_logprobs = v;
      else if (key_ == "logprobs") {
        // Legacy Completions: logprobs is the number of top tokens to return.
        out_->logprobs = v > 0;
        if (out_->top_logprobs < 0) out_->top_logprobs = v;
      }
    }
    return Scalar();
  }

  // A scalar value: counts as one element of a counted array.
  bool Scalar() {
    if (depth_ == 0) return false;  // the body must be an object
    CountElement();
    return true;
  }

  void CountElement() {
    if (depth_ != 2) return;
    if (container_ == Container::kTools)
      ++out_->tools_count;
    else if (container_ == Container::kMessages)
      ++out_->message_count;
  }

  bool Open(bool object) {
    if (depth_ == 0) {
      if (!object) return false;
      saw_object_ = true;
    } else if (depth_ == 1) {
      container_ = Container::kOther;
      if (object && key_ == "logit_bias")
        container_ = Container::kLogitBias;
      else if (!object && key_ == "tools")
        container_ = Container::kTools;
      else if (!object && (key_ == "messages" || key_ == "input")) {
        container_ = Container::kMessages;
        out_->message_count = 0;
      }
    } else {
      CountElement();
    }
    ++depth_;
    return true;
  }

  bool Close() {
    --depth_;
    if (depth_ == 1) container_ = Container::kOther;
    return true;
  }

  RequestBody* out_;
  int depth_ = 0;
  std::string key_;  // the current key of the top-level object
  Container container_ = Container::kOther;
  bool saw_object_ = false;
};

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

bool ExtractBodyFeatures(std::string_view json, RequestBody* out) {
  BodySax sax(out);
  bool ok = nlohmann::json::sax_parse(json.begin(), json.end(), &sax,
                                      nlohmann::json::input_format_t::json,
                                      /*strict=*/true, /*ignore_comments=*/false);
  return ok && sax.saw_object();
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
    RequestBody body;
    body.present = true;
    if (ExtractBodyFeatures(in.body, &body)) {
      out->body = std::move(body);
    } else if (!known.partial_body) {
      return Status::InvalidArgument("request body is not a well-formed JSON object");
    }
  }
  return Status::Ok();
}

}  // namespace tosgate::api
