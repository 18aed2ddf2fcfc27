#include "engine/body_parser.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <simdjson.h>

namespace tosgate::engine {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// A whole number, also when written as 12.0; nullopt otherwise.
bool WholeNumber(element e, int64_t* out) {
  switch (e.type()) {
    case element_type::INT64: *out = e.get_int64().value_unsafe(); return true;
    case element_type::UINT64: {
      const uint64_t v = e.get_uint64().value_unsafe();
      *out = v > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                               : static_cast<int64_t>(v);
      return true;
    }
    case element_type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9e18) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    default: return false;
  }
}

std::string_view Str(element e) {
  std::string_view s;
  return e.get_string().get(s) == simdjson::SUCCESS ? s : std::string_view();
}

// The member `key` of `o`: false when there is none.
bool Get(object o, std::string_view key, element* out) {
  return o[key].get(*out) == simdjson::SUCCESS;
}
element_type TypeOf(object o, std::string_view key) {
  element e;
  return Get(o, key, &e) ? e.type() : element_type::NULL_VALUE;
}
std::string_view StrOf(object o, std::string_view key) {
  element e;
  return Get(o, key, &e) ? Str(e) : std::string_view();
}

class Reader {
 public:
  explicit Reader(RequestBody* out) : out_(out) {}

  void Top(object body) {
    for (auto [key, value] : body) {
      if (key == "model") out_->model = std::string(Str(value));
      else if (key == "max_tokens" || key == "max_completion_tokens" || key == "max_output_tokens")
        Max(value, &out_->max_tokens);
      else if (key == "n") WholeNumber(value, &out_->n);
      else if (key == "stream") out_->stream = value.is_bool() && value.get_bool().value_unsafe();
      else if (key == "logprobs") Logprobs(value);
      else if (key == "top_logprobs") WholeNumber(value, &out_->top_logprobs);
      else if (key == "logit_bias" && value.is_object()) out_->logit_bias_count = value.get_object().size();
      else if (key == "tools" && value.is_array()) out_->tools_count = value.get_array().size();
      else if (key == "reasoning_effort") out_->reasoning_effort = std::string(Str(value));
      else if (key == "reasoning" && value.is_object())
        out_->reasoning_effort = std::string(StrOf(value.get_object().value_unsafe(), "effort"));
      else if (element b; key == "thinking" && value.is_object() &&
                          Get(value.get_object().value_unsafe(), "budget_tokens", &b))
        WholeNumber(b, &out_->thinking_budget);
      else if (key == "user") out_->user = std::string(Str(value));
      else if (key == "metadata" && value.is_object()) Metadata(value.get_object().value_unsafe());
      else if (key == "messages") Messages(value);
      else if (key == "system") Content("system", value);
      else if (key == "instructions") Content("system", value);
      else if (key == "prompt") Inputs(value);
      else if (key == "input") Inputs(value);
    }
    if (out_->api.empty()) out_->api = "chat";
    out_->prompt_chars = static_cast<int64_t>(out_->prompt_text.size());
  }

  void Api(std::string_view api) {
    if (out_->api.empty()) out_->api = std::string(api);
  }

 private:
  void Max(element v, int64_t* out) {
    int64_t n;
    if (WholeNumber(v, &n)) *out = std::max(*out, n);
  }

  void Logprobs(element v) {
    if (v.is_bool()) {
      out_->logprobs = v.get_bool().value_unsafe();
      return;
    }
    // Legacy Completions: logprobs is the number of top tokens to return.
    int64_t n;
    if (WholeNumber(v, &n)) {
      out_->logprobs = n > 0;
      if (out_->top_logprobs < 0) out_->top_logprobs = n;
    }
  }

  void Metadata(object m) {
    if (std::string_view p = StrOf(m, "purpose"); !p.empty()) out_->metadata_purpose = std::string(p);
    if (out_->user.empty()) out_->user = std::string(StrOf(m, "user_id"));
  }

  // Chat Completions and Anthropic Messages.
  void Messages(element v) {
    array messages;
    if (v.get_array().get(messages) != simdjson::SUCCESS) return;
    for (element m : messages) {
      ++out_->message_count;
      object msg;
      if (m.get_object().get(msg) != simdjson::SUCCESS) continue;
      std::string_view role = StrOf(msg, "role");
      if (element content; Get(msg, "content", &content)) Content(role.empty() ? "user" : role, content);
    }
  }

  // `prompt` (Completions), `input` (Embeddings, Responses): a string, an
  // array of strings (or token arrays), or Responses input items.
  void Inputs(element v) {
    if (v.is_string()) {
      ++out_->message_count;
      Append("user", Str(v));
      return;
    }
    array items;
    if (v.get_array().get(items) != simdjson::SUCCESS) return;
    for (element item : items) {
      ++out_->message_count;
      if (item.is_string()) {
        Append("user", Str(item));
      } else if (item.is_object()) {
        object o = item.get_object().value_unsafe();
        std::string_view role = StrOf(o, "role");
        if (role.empty()) role = "user";
        if (element content; Get(o, "content", &content)) Content(role, content);
        else Append(role, StrOf(o, "text"));
      }
    }
  }

  // A content value: a string, or an array of parts / blocks whose text
  // is in `text` (text, input_text, output_text parts; Anthropic text blocks).
  void Content(std::string_view role, element v) {
    if (v.is_string()) return Append(role, Str(v));
    array parts;
    if (v.get_array().get(parts) != simdjson::SUCCESS) return;
    for (element part : parts) {
      if (part.is_string()) {
        Append(role, Str(part));
      } else if (part.is_object()) {
        object p = part.get_object().value_unsafe();
        if (std::string_view text = StrOf(p, "text"); !text.empty()) Append(role, text);
        else if (std::string_view t = StrOf(p, "content"); !t.empty()) Append(role, t);  // tool results
      }
    }
  }

  void Append(std::string_view role, std::string_view text) {
    if (text.empty()) return;
    std::string& all = out_->prompt_text;
    all.append(role).append(": ").append(text).push_back('\n');
    std::string* part = role == "system" || role == "developer" ? &out_->system_text
                        : role == "user"                         ? &out_->user_text
                                                                 : nullptr;
    if (part) {
      if (!part->empty()) part->push_back('\n');
      part->append(text);
    }
  }

  RequestBody* out_;
};

// Responses input items are objects; Embeddings inputs are strings or token arrays.
bool InputHasItems(object body) {
  element input;
  array items;
  if (!Get(body, "input", &input) || input.get_array().get(items) != simdjson::SUCCESS) return false;
  for (element item : items) return item.is_object();
  return false;
}

std::string ErrorText(simdjson::error_code e) {
  switch (e) {
    case simdjson::DEPTH_ERROR: return "the JSON body is nested too deeply";
    case simdjson::UTF8_ERROR: return "the body is not valid UTF-8";
    case simdjson::UNESCAPED_CHARS: return "the JSON body has a control character inside a string";
    case simdjson::CAPACITY: return "the JSON body is too large to parse";
    default: return std::string("the body is not valid JSON: ") + simdjson::error_message(e);
  }
}

}  // namespace

Status ParseBody(std::string_view json, RequestBody* out, const BodyLimits& limits) {
  *out = RequestBody{};
  if (json.find('\0') != std::string_view::npos)  // memchr would be UB on an empty view's null data
    return Status::InvalidArgument("the body contains a NUL byte");
  // An empty view may have a null data(), which simdjson would memcpy from.
  if (json.empty()) return Status::InvalidArgument(ErrorText(simdjson::EMPTY));
  thread_local simdjson::dom::parser parser;
  if (parser.max_depth() != limits.max_depth || parser.capacity() < json.size()) {
    if (simdjson::error_code e = parser.allocate(std::max<size_t>(json.size(), 4096), limits.max_depth);
        e != simdjson::SUCCESS)
      return Status::InvalidArgument(ErrorText(e));
  }
  element root;
  // parse() copies into a padded buffer when the input is not padded.
  if (simdjson::error_code e = parser.parse(json.data(), json.size(), true).get(root);
      e != simdjson::SUCCESS)
    return Status::InvalidArgument(ErrorText(e));
  object body;
  if (root.get_object().get(body) != simdjson::SUCCESS)
    return Status::InvalidArgument("the JSON body must be an object");
  out->present = true;
  Reader reader(out);
  // Which API shape: told apart by the keys only one of them uses.
  auto has = [&](std::string_view key) { return TypeOf(body, key) != element_type::NULL_VALUE; };
  if (TypeOf(body, "messages") == element_type::ARRAY)
    reader.Api(has("system") || has("anthropic_version") || has("thinking") ? "messages" : "chat");
  else if (has("prompt"))
    reader.Api("completions");
  else if (has("instructions") || has("max_output_tokens") || has("reasoning") ||
           (!has("encoding_format") && !has("dimensions") && InputHasItems(body)))
    reader.Api("responses");
  else if (has("input"))
    reader.Api("embeddings");
  reader.Top(body);
  return Status::Ok();
}

}  // namespace tosgate::engine
