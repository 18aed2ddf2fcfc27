#include "engine/body_parser.h"

#include <algorithm>
#include <simdjson.h>

#include "engine/json_values.h"

namespace tosgate::engine {
namespace {

// FNV-1a over the compact JSON of tool definitions, chained over several
// `tools` keys; never 0 (0 means no tools).
uint64_t ToolsHash(uint64_t h, std::string_view json) {
  if (json.empty()) return h;
  h = h ? h : 0xcbf29ce484222325ULL;
  for (const char c : json) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h ? h : 1;
}

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;
using namespace json;  // NOLINT: the DOM helpers are this file's vocabulary


int EffortRank(std::string_view effort) {
  constexpr std::string_view kOrder[] = {"", "none", "minimal", "low", "medium", "high", "xhigh"};
  for (int i = 0; i < 7; ++i)
    if (effort == kOrder[i]) return i;
  return 8;  // unknown: above every known level
}

// What a key of a message, item or part holds (Reader::Node).
enum class NodeKey : uint8_t {
  kOther,     // nothing a model reads as text: ids, types, roles, options
  kContent,   // a string, a part, or parts: content, parts, output, tool calls...
  kMessages,  // a list of messages
  kText,      // a string (or strings): text, refusal, thinking, name...
  kJson,      // text read as JSON: arguments, input, args, response, action
  kSource,    // an Anthropic document or image source
  kOpaque,    // what holds no text: images, audio, files, encrypted content
};

// Called for every key of every message and part: a switch on the length
// first, so that most keys are told apart without comparing any bytes.
NodeKey Classify(std::string_view k) {
  struct Entry {
    std::string_view name;
    NodeKey kind;
  };
  static constexpr Entry kKeys[] = {
      {"content", NodeKey::kContent}, {"parts", NodeKey::kContent}, {"output", NodeKey::kContent},
      {"summary", NodeKey::kContent}, {"tool_calls", NodeKey::kContent}, {"function", NodeKey::kContent},
      {"function_call", NodeKey::kContent}, {"custom", NodeKey::kContent},
      {"functionCall", NodeKey::kContent}, {"functionResponse", NodeKey::kContent},
      {"function_response", NodeKey::kContent}, {"executableCode", NodeKey::kContent},
      {"executable_code", NodeKey::kContent}, {"codeExecutionResult", NodeKey::kContent},
      {"code_execution_result", NodeKey::kContent}, {"messages", NodeKey::kMessages},
      {"text", NodeKey::kText}, {"refusal", NodeKey::kText}, {"thinking", NodeKey::kText},
      {"reasoning_content", NodeKey::kText}, {"name", NodeKey::kText}, {"title", NodeKey::kText},
      {"context", NodeKey::kText}, {"code", NodeKey::kText}, {"queries", NodeKey::kText},
      {"arguments", NodeKey::kJson}, {"input", NodeKey::kJson}, {"args", NodeKey::kJson},
      {"response", NodeKey::kJson}, {"action", NodeKey::kJson}, {"source", NodeKey::kSource},
      {"image_url", NodeKey::kOpaque}, {"input_audio", NodeKey::kOpaque}, {"audio", NodeKey::kOpaque},
      {"file", NodeKey::kOpaque}, {"file_id", NodeKey::kOpaque}, {"file_data", NodeKey::kOpaque},
      {"file_url", NodeKey::kOpaque}, {"image", NodeKey::kOpaque}, {"inlineData", NodeKey::kOpaque},
      {"inline_data", NodeKey::kOpaque}, {"fileData", NodeKey::kOpaque},
      {"encrypted_content", NodeKey::kOpaque}, {"data", NodeKey::kOpaque},
  };
  // The most common keys of all, answered first.
  if (k.size() == 4 && (k == "role" || k == "type")) return NodeKey::kOther;
  if (k.size() == 7 && k == "content") return NodeKey::kContent;
  for (const Entry& e : kKeys)
    if (e.name.size() == k.size() && e.name[0] == k[0] && e.name == k) return e.kind;
  return NodeKey::kOther;
}

class Reader {
 public:
  Reader(RequestBody* out, size_t text_cap) : out_(out), cap_(text_cap) {}

  const Status& status() const { return status_; }

  // One request body (a top-level body, or one request of a batch).
  void Body(object body) {
    Detect(body);
    for (auto [key, value] : body) Top(key, value);
    if (out_->api.empty()) out_->api = "chat";
  }

 private:
  void Detect(object body);
  void Top(std::string_view key, element value);
  void Batch(element requests);
  void OneRequest(object body);
  void Gemini(std::string_view key, element value);

  void Int(std::string_view name, element v, int64_t* out, bool keep_max) {
    int64_t n = 0;
    switch (ReadInt(v, &n)) {
      case Read::kAbsent: return;
      case Read::kValue: *out = keep_max && *out >= 0 ? std::max(*out, n) : n; return;
      case Read::kJunk: Fail(std::string("`") + std::string(name) + "` is not a number"); return;
    }
  }

  void Logprobs(element v) {
    // Legacy Completions (and "logprobs": "5"): the number of top tokens.
    int64_t n = 0;
    if (!v.is_bool() && v.type() != element_type::OBJECT && v.type() != element_type::ARRAY &&
        ReadInt(v, &n) == Read::kValue) {
      out_->logprobs = out_->logprobs || n > 0;
      out_->top_logprobs = std::max(out_->top_logprobs, n);
      return;
    }
    out_->logprobs = out_->logprobs || ReadBool(v);
  }

  void Metadata(object m) {
    if (std::string_view p = StrOf(m, "purpose"); !p.empty()) out_->metadata_purpose = std::string(p);
    if (out_->user.empty()) out_->user = std::string(StrOf(m, "user_id"));
  }

  // A list of messages or Responses items, counted.
  void Items(element v) {
    array items;
    if (v.get_array().get(items) != simdjson::SUCCESS) return;
    for (element item : items) {
      ++out_->message_count;
      if (item.is_string()) Append("user", Str(item));
      else if (item.is_object()) Node("", Obj(item));
    }
  }

  // `prompt` (Completions), `input` (Embeddings, Responses): a string, an
  // array of strings, token ids, arrays of token ids, or Responses items.
  void Inputs(element v) {
    if (v.is_string()) {
      ++out_->message_count;
      return Append("user", Str(v));
    }
    array items;
    if (v.get_array().get(items) != simdjson::SUCCESS) {
      if (v.is_object()) Node("user", Obj(v));
      return;
    }
    bool tokens = false;
    for (element item : items) {
      switch (item.type()) {
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE: tokens = true; break;  // one prompt of token ids
        case element_type::ARRAY:  // one prompt of token ids per element
          ++out_->message_count;
          Unscanned(true);
          break;
        case element_type::STRING: ++out_->message_count, Append("user", Str(item)); break;
        case element_type::OBJECT: ++out_->message_count, Node("", Obj(item)); break;
        default: ++out_->message_count; break;
      }
    }
    if (tokens) ++out_->message_count, Unscanned(true);
  }

  // A content value: a string, one part, or an array of parts.
  void Content(std::string_view role, element v) {
    switch (v.type()) {
      case element_type::STRING: return Append(role, Str(v));
      case element_type::OBJECT: return Node(role, Obj(v));
      case element_type::ARRAY:
        for (element part : Arr(v)) Content(role, part);
        return;
      default: return;
    }
  }

  // A message, Responses item, content part or block, Gemini content or
  // part, tool call: every key a model reads text from, whatever the `type`
  // says, so that a part of an unknown or mislabelled type is read too.
  // Parts that hold no text (images, audio, files) are counted unscanned.
  void Node(std::string_view role, object o) {
    if (role.empty()) role = RoleOf(o);
    for (auto [key, v] : o) {
      switch (Classify(key)) {
        case NodeKey::kOther: break;
        case NodeKey::kContent: Content(role, v); break;
        case NodeKey::kMessages: Items(v); break;
        case NodeKey::kText:
          if (v.is_string()) Append(role, Str(v));
          else if (v.is_array()) Content(role, v);
          break;
        // Arguments of a call the client says the assistant made: the
        // client wrote them all the same, so they count as its text.
        case NodeKey::kJson: Json(role == "assistant" ? "tool_call" : role, v); break;
        case NodeKey::kSource: Source(role, v); break;
        case NodeKey::kOpaque: Unscanned(false); break;
      }
    }
  }

  static std::string_view RoleOf(object o) {
    std::string_view role = StrOf(o, "role");
    if (!role.empty()) return role;
    std::string_view type = StrOf(o, "type");
    auto ends = [&](std::string_view s) {
      return type.size() >= s.size() && type.substr(type.size() - s.size()) == s;
    };
    if (ends("_output") || ends("_result")) return "tool";
    if (ends("_call") || type == "reasoning" || ends("_request")) return "assistant";
    return "user";
  }

  // Anthropic document and image sources: text, or nested content blocks;
  // base64, URL and file sources are not read.
  void Source(std::string_view role, element v) {
    object s;
    if (v.get_object().get(s) != simdjson::SUCCESS) return Unscanned(false);
    std::string_view type = StrOf(s, "type");
    if (type == "text") return Append(role, StrOf(s, "data"));
    element content;
    if (type == "content" && Get(s, "content", &content)) return Content(role, content);
    Unscanned(false);
  }

  // Text a model reads as JSON: tool-call arguments and inputs. A string
  // (OpenAI's `arguments`) is read as written and, when it has escapes, once
  // more with them decoded (a model reads "s\u0061rin" as "sarin"); an object
  // is written out as compact JSON, keys included.
  void Json(std::string_view role, element v) {
    if (v.is_string()) {
      std::string_view s = Str(v);
      Append(role, s);
      if (s.find('\\') != std::string_view::npos) Append(role, UnescapeJson(s));
    } else if (v.is_object() || v.is_array()) {
      Append(role, simdjson::to_string(v));
    }
  }


  // Tool and function definitions, response schemas: what the model is
  // told it may call or must answer in, as compact JSON. Also system text.
  void Definitions(element v) {
    if (v.is_array()) {
      for (element t : Arr(v)) Append("tools", simdjson::to_string(t));
    } else if (v.is_object()) {
      Append("tools", simdjson::to_string(v));
    }
  }

  void Unscanned(bool tokens) {
    ++out_->unscanned_parts;
    if (tokens) out_->token_prompt = true;
  }

  void Append(std::string_view role, std::string_view text) {
    if (text.empty()) return;
    std::string& all = out_->prompt_text;
    if (all.size() + role.size() + text.size() + 3 > cap_) {
      // Unreachable for texts taken from the body (they fit in it twice);
      // a bound all the same, and what is cut is counted, never silent.
      Unscanned(false);
      return;
    }
    all.append(role).append(": ").append(text).push_back('\n');
    // Every text but the assistant's own earlier turns is the client's:
    // user turns, tool results and tool-call arguments it sends, any role an
    // upstream might accept. Content rules read user and system text.
    std::string* part = role == "system" || role == "developer" || role == "tools" ? &out_->system_text
                        : role == "assistant"                                     ? nullptr
                                                                                  : &out_->user_text;
    if (part) {
      if (!part->empty()) part->push_back('\n');
      part->append(text);
    }
  }

  void Fail(std::string message) {
    if (status_.ok()) status_ = Status::InvalidArgument(std::move(message));
  }

  RequestBody* out_;
  size_t cap_;
  Status status_;
};

// Which API shape: told apart by the keys only one of them uses.
void Reader::Detect(object body) {
  if (!out_->api.empty()) return;
  // One pass over the keys; a key whose value is null counts as absent.
  enum : uint8_t { kRequests, kBatch, kContents, kSystemInstruction, kGenerationConfig, kMessages,
                   kSystem, kAnthropicVersion, kThinking, kPrompt, kInstructions, kMaxOutputTokens,
                   kReasoning, kPreviousResponse, kConversation, kInput, kEncodingFormat,
                   kDimensions, kCount };
  static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
      {"requests", kRequests}, {"batch", kBatch}, {"contents", kContents},
      {"systemInstruction", kSystemInstruction}, {"system_instruction", kSystemInstruction},
      {"generationConfig", kGenerationConfig}, {"generation_config", kGenerationConfig},
      {"messages", kMessages}, {"system", kSystem}, {"anthropic_version", kAnthropicVersion},
      {"thinking", kThinking}, {"prompt", kPrompt}, {"instructions", kInstructions},
      {"max_output_tokens", kMaxOutputTokens}, {"reasoning", kReasoning},
      {"previous_response_id", kPreviousResponse}, {"conversation", kConversation}, {"input", kInput},
      {"encoding_format", kEncodingFormat}, {"dimensions", kDimensions},
  };
  element_type type[kCount];
  std::fill(std::begin(type), std::end(type), element_type::NULL_VALUE);
  element input;
  for (auto [key, value] : body) {
    for (const auto& [name, id] : kNames) {
      if (name.size() != key.size() || name[0] != key[0] || name != key) continue;
      type[id] = value.type();
      if (id == kInput) input = value;
      break;
    }
  }
  auto has = [&](uint8_t id) { return type[id] != element_type::NULL_VALUE; };
  if (type[kRequests] == element_type::ARRAY || has(kBatch))
    out_->api = "batch";
  else if (has(kContents) || has(kSystemInstruction) || has(kGenerationConfig))
    out_->api = "gemini";
  else if (type[kMessages] == element_type::ARRAY)
    out_->api = has(kSystem) || has(kAnthropicVersion) || has(kThinking) ? "messages" : "chat";
  else if (type[kPrompt] == element_type::STRING || type[kPrompt] == element_type::ARRAY)
    out_->api = "completions";
  else if (has(kInstructions) || has(kMaxOutputTokens) || has(kReasoning) ||
           type[kPrompt] == element_type::OBJECT || has(kPreviousResponse) || has(kConversation))
    out_->api = "responses";
  else if (has(kInput)) {
    bool items = false;
    if (input.is_array() && !has(kEncodingFormat) && !has(kDimensions))
      for (element item : Arr(input)) {
        items = item.is_object();
        break;
      }
    out_->api = items ? "responses" : "embeddings";
  }
}

void Reader::Top(std::string_view key, element value) {
  if (key == "model") {
    out_->model = std::string(Str(value));
  } else if (key == "max_tokens" || key == "max_completion_tokens" || key == "max_output_tokens" ||
             key == "max_tokens_to_sample") {
    Int(key, value, &out_->max_tokens, true);
  } else if (key == "n" || key == "best_of") {  // best_of: completions generated server-side
    Int(key, value, &out_->n, true);
  } else if (key == "stream") {
    out_->stream = ReadBool(value);
  } else if (key == "logprobs") {
    Logprobs(value);
  } else if (key == "top_logprobs") {
    Int(key, value, &out_->top_logprobs, true);
  } else if (key == "logit_bias") {
    if (value.is_object()) out_->logit_bias_count = value.get_object().size();
    else if (value.is_array()) out_->logit_bias_count = value.get_array().size();
    else if (value.is_string() && !Str(value).empty()) out_->logit_bias_count = 1;  // JSON in a string
  } else if (key == "tools" || key == "functions") {
    if (value.is_array()) out_->tools_count += value.get_array().size();
    const size_t before = out_->system_text.size();
    Definitions(value);
    // The definitions as sent: accounts that reuse one tool schema share it
    // (competitor_training links them).
    out_->tools_hash = ToolsHash(out_->tools_hash,
                                 std::string_view(out_->system_text).substr(before));
  } else if (key == "temperature") {
    double t = 0;
    if (value.get_double().get(t) == simdjson::SUCCESS && t >= 0) out_->temperature = t;
  } else if (key == "response_format" || key == "text") {
    // A JSON schema to answer in (Chat response_format.json_schema,
    // Responses text.format): its names and descriptions are instructions.
    object o;
    element schema;
    if (value.get_object().get(o) == simdjson::SUCCESS &&
        (Get(o, "json_schema", &schema) ||
         (Get(o, "format", &schema) && schema.is_object() &&
          StrOf(Obj(schema), "type") == "json_schema")))
      Definitions(schema);
  } else if (key == "reasoning_effort") {
    out_->reasoning_effort = std::string(Str(value));
  } else if (key == "reasoning") {
    if (value.is_object()) out_->reasoning_effort = std::string(StrOf(Obj(value), "effort"));
  } else if (key == "thinking") {
    if (element b; value.is_object() && Get(Obj(value), "budget_tokens", &b))
      Int("thinking.budget_tokens", b, &out_->thinking_budget, true);
  } else if (key == "user") {
    out_->user = std::string(Str(value));
  } else if (key == "input_file_id") {  // OpenAI Batch create
    out_->batch_input_file = std::string(Str(value));
  } else if (key == "metadata") {
    if (value.is_object()) Metadata(Obj(value));
  } else if (key == "messages" || key == "contents") {
    Items(value);
  } else if (key == "system" || key == "instructions" || key == "systemInstruction" ||
             key == "system_instruction") {
    Content("system", value);
  } else if (key == "prompt") {
    if (value.is_object()) {
      // Responses: a stored prompt (not read here) filled with variables.
      Unscanned(false);
      if (element vars; Get(Obj(value), "variables", &vars) && vars.is_object())
        for (auto [name, var] : Obj(vars)) Content("user", var);
    } else {
      Inputs(value);
    }
  } else if (key == "input") {
    Inputs(value);
  } else if (key == "content") {  // Gemini embedContent
    ++out_->message_count;
    Content("user", value);
  } else if (key == "suffix") {
    Content("user", value);
  } else if (key == "prediction") {  // Chat predicted outputs: text the answer may reuse
    Content("assistant", value);
  } else if (key == "completion" || key == "preferred_output" || key == "non_preferred_output") {
    Content("assistant", value);  // fine-tuning examples (JSON Lines uploads)
  } else if (key == "requests") {
    Batch(value);
  } else if (key == "body") {  // a batch file's line: {"custom_id", "method", "url", "body"}
    if (value.is_object()) OneRequest(Obj(value));
  } else if (key == "batch") {
    // Gemini batchGenerateContent: batch.input_config.requests.requests[].
    object b, config;
    element requests;
    if (value.get_object().get(b) != simdjson::SUCCESS) return;
    if ((Get(b, "inputConfig", &requests) || Get(b, "input_config", &requests)) &&
        requests.get_object().get(config) == simdjson::SUCCESS) {
      if (Get(config, "requests", &requests)) Batch(requests);
      if (TypeOf(config, "fileName") != element_type::NULL_VALUE ||
          TypeOf(config, "file_name") != element_type::NULL_VALUE)
        Unscanned(false);
    }
  } else if (key == "cachedContent" || key == "cached_content") {
    Unscanned(false);  // Gemini: text cached earlier, referenced by name
  } else if (key == "generationConfig" || key == "generation_config") {
    if (value.is_object())
      for (auto [k, v] : Obj(value)) Gemini(k, v);
  }
}

void Reader::Gemini(std::string_view key, element v) {
  if (key == "maxOutputTokens" || key == "max_output_tokens") Int(key, v, &out_->max_tokens, true);
  else if (key == "candidateCount" || key == "candidate_count") Int(key, v, &out_->n, true);
  else if (double t = 0; key == "temperature" && v.get_double().get(t) == simdjson::SUCCESS && t >= 0)
    out_->temperature = t;
  else if (key == "responseLogprobs" || key == "response_logprobs") out_->logprobs = out_->logprobs || ReadBool(v);
  else if (key == "logprobs") Int(key, v, &out_->top_logprobs, true);
  else if (key == "responseSchema" || key == "response_schema" || key == "responseJsonSchema")
    Definitions(v);
  else if (element b; (key == "thinkingConfig" || key == "thinking_config") && v.is_object() &&
                      (Get(Obj(v), "thinkingBudget", &b) ||
                       Get(Obj(v), "thinking_budget", &b)))
    Int("thinkingBudget", b, &out_->thinking_budget, true);
}

// Anthropic Message Batches (requests[].params), Gemini batches
// (requests[].request, or requests[] themselves), OpenAI-style lines
// (requests[].body): each request is read as a body of its own and merged.
void Reader::Batch(element v) {
  if (v.is_object()) {  // Gemini's inlined requests: {"requests": [...]}
    element inner;
    if (Get(Obj(v), "requests", &inner)) Batch(inner);
    return;
  }
  array requests;
  if (v.get_array().get(requests) != simdjson::SUCCESS) return;
  for (element item : requests) {
    object o;
    if (item.get_object().get(o) != simdjson::SUCCESS) return Fail("a batch request is not an object");
    element inner;
    object body = o;
    for (std::string_view k : {"params", "request", "body"})
      if (Get(o, k, &inner) && inner.get_object().get(body) == simdjson::SUCCESS) break;
    OneRequest(body);
    if (!status_.ok()) return;
  }
}

void Reader::OneRequest(object body) {
  RequestBody one;
  Reader reader(&one, cap_ - std::min(cap_, out_->prompt_text.size()));
  reader.Body(body);
  if (!reader.status().ok()) return Fail(reader.status().message());
  // Nesting would copy each text once per level; no API nests batches.
  if (one.batch_requests > 0) return Fail("a batch request is itself a batch");
  if (Status s = MergeBody(one, out_); !s.ok()) return Fail(s.message());
  ++out_->batch_requests;
  if (one.max_tokens < 0) ++out_->batch_unbounded_requests;
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

void AppendLine(std::string* to, const std::string& text) {
  if (text.empty()) return;
  if (!to->empty()) to->push_back('\n');
  to->append(text);
}

}  // namespace

Status MergeBody(const RequestBody& one, RequestBody* total) {
  if (!one.model.empty()) {
    if (total->model.empty()) total->model = one.model;
    else if (total->model != one.model)
      return Status::InvalidArgument("the batch names more than one model (\"" + total->model +
                                     "\" and \"" + one.model + "\")");
  }
  total->prompt_text += one.prompt_text;
  AppendLine(&total->system_text, one.system_text);
  AppendLine(&total->user_text, one.user_text);
  total->message_count += one.message_count;
  total->max_tokens = std::max(total->max_tokens, one.max_tokens);
  total->n = std::max(total->n, one.n);
  total->top_logprobs = std::max(total->top_logprobs, one.top_logprobs);
  total->thinking_budget = std::max(total->thinking_budget, one.thinking_budget);
  total->temperature = std::max(total->temperature, one.temperature);
  if (!total->tools_hash) total->tools_hash = one.tools_hash;
  total->logit_bias_count = std::max(total->logit_bias_count, one.logit_bias_count);
  total->tools_count = std::max(total->tools_count, one.tools_count);
  total->stream = total->stream || one.stream;
  total->logprobs = total->logprobs || one.logprobs;
  total->token_prompt = total->token_prompt || one.token_prompt;
  total->unscanned_parts += one.unscanned_parts;
  if (EffortRank(one.reasoning_effort) > EffortRank(total->reasoning_effort))
    total->reasoning_effort = one.reasoning_effort;
  if (total->user.empty()) total->user = one.user;
  if (total->metadata_purpose.empty()) total->metadata_purpose = one.metadata_purpose;
  return Status::Ok();
}

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
  if (std::string dup; FindDuplicateKey(parser.doc, &dup))
    return Status::InvalidArgument("the JSON body has a duplicate key \"" + dup + "\"");
  // Every text is taken from the body, at most twice with its role label;
  // the cap only bounds what a bug could add.
  Reader reader(out, 2 * json.size() + 4096);
  reader.Body(body);
  if (!reader.status().ok()) {
    *out = RequestBody{};
    return reader.status();
  }
  out->present = true;
  out->prompt_chars = static_cast<int64_t>(out->prompt_text.size());
  return Status::Ok();
}

}  // namespace tosgate::engine
