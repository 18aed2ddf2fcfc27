#include "api/request/usage_scanner.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace tosgate::api {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

UsageScanner::UsageScanner(std::string_view content_type, size_t max_json_bytes)
    : max_(max_json_bytes) {
  const std::string type = Lower(content_type);
  mode_ = Contains(type, "text/event-stream") ? Mode::kEvents
          : Contains(type, "json")            ? Mode::kJson
                                              : Mode::kIgnore;
}

void UsageScanner::Feed(std::string_view bytes) {
  switch (mode_) {
    case Mode::kIgnore: return;
    case Mode::kJson:
      if (overflow_ || buffer_.size() + bytes.size() > max_) {
        overflow_ = true;
        buffer_.clear();
        return;
      }
      buffer_.append(bytes);
      return;
    case Mode::kEvents:
      while (!bytes.empty()) {
        const size_t nl = bytes.find('\n');
        const std::string_view part = bytes.substr(0, nl);
        if (!overflow_ && buffer_.size() + part.size() <= max_) buffer_.append(part);
        else overflow_ = true;
        if (nl == std::string_view::npos) return;
        if (!overflow_) Line(buffer_);
        buffer_.clear();
        overflow_ = false;
        bytes.remove_prefix(nl + 1);
      }
      return;
  }
}

void UsageScanner::Line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.substr(0, 5) != "data:") return;
  line.remove_prefix(5);
  // Parse only the events that can carry usage ("usage" or "usageMetadata").
  if (Contains(line, "\"usage")) Json(line);
}

void ProviderUsage::Read(const nlohmann::json& u, bool gemini) {
  if (!u.is_object()) return;
  auto take = [](const nlohmann::json& obj, const char* name, int64_t* out) {
    auto it = obj.find(name);
    if (it == obj.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return false;
    *out = std::min<int64_t>(it->get<int64_t>(), engine::kMaxReportedTokens);
    return true;
  };
  if (gemini) {
    thoughts_apart = true;
    take(u, "promptTokenCount", &prompt);
    take(u, "candidatesTokenCount", &completion);
    take(u, "cachedContentTokenCount", &cached);
    take(u, "thoughtsTokenCount", &reasoning);
    return;
  }
  take(u, "prompt_tokens", &prompt);
  take(u, "input_tokens", &prompt);
  take(u, "completion_tokens", &completion);
  take(u, "output_tokens", &completion);
  for (const char* details : {"prompt_tokens_details", "input_tokens_details"})
    if (auto d = u.find(details); d != u.end() && d->is_object()) take(*d, "cached_tokens", &cached);
  for (const char* details : {"completion_tokens_details", "output_tokens_details"})
    if (auto d = u.find(details); d != u.end() && d->is_object())
      take(*d, "reasoning_tokens", &reasoning);
  // Anthropic counts cache reads and writes apart from input_tokens.
  if (take(u, "cache_read_input_tokens", &cached)) cache_apart = true;
  if (take(u, "cache_creation_input_tokens", &cache_write)) cache_apart = true;
}

engine::Usage ProviderUsage::Normalized() const {
  engine::Usage out;
  auto sum = [](int64_t a, int64_t b) { return a < 0 ? a : a + std::max<int64_t>(0, b); };
  out.input_tokens = cache_apart ? sum(sum(prompt, cached), cache_write) : prompt;
  out.output_tokens = thoughts_apart ? sum(completion, reasoning) : completion;
  out.cached_input_tokens = cached;
  out.cache_write_tokens = cache_write;
  out.reasoning_tokens = reasoning;
  return out;
}

void UsageScanner::Json(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto one = [this](const nlohmann::json& j) {
    if (!j.is_object()) return;
    if (auto it = j.find("usage"); it != j.end()) usage_.Read(*it, false);
    if (auto it = j.find("usageMetadata"); it != j.end()) usage_.Read(*it, true);
    for (const char* outer : {"response", "message"})
      if (auto it = j.find(outer); it != j.end() && it->is_object())
        if (auto u = it->find("usage"); u != it->end()) usage_.Read(*u, false);
  };
  // Gemini's streamGenerateContent without alt=sse: one JSON array of chunks.
  if (j.is_array())
    for (const nlohmann::json& chunk : j) one(chunk);
  else
    one(j);
}

engine::Usage UsageScanner::Finish() {
  if (mode_ == Mode::kJson && !overflow_ && !buffer_.empty()) Json(buffer_);
  if (mode_ == Mode::kEvents && !overflow_ && !buffer_.empty()) Line(buffer_);
  buffer_.clear();
  engine::Usage usage = usage_.Normalized();
  // Embeddings report prompt tokens only: nothing was generated.
  if (usage.input_tokens >= 0 && usage.output_tokens < 0 && mode_ == Mode::kJson)
    usage.output_tokens = 0;
  return usage;
}

}  // namespace tosgate::api
