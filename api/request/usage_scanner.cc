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
  // Parse only the events that can carry usage.
  if (Contains(line, "\"usage\"")) Json(line);
}

void UsageScanner::Json(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  auto read = [this](const nlohmann::json& u) {
    if (!u.is_object()) return;
    auto take = [&u](const char* name, int64_t* out) {
      auto it = u.find(name);
      if (it != u.end() && it->is_number_integer() && it->get<int64_t>() >= 0) *out = it->get<int64_t>();
    };
    take("prompt_tokens", &usage_.input_tokens);
    take("input_tokens", &usage_.input_tokens);
    take("completion_tokens", &usage_.output_tokens);
    take("output_tokens", &usage_.output_tokens);
  };
  if (auto it = j.find("usage"); it != j.end()) read(*it);
  for (const char* outer : {"response", "message"})
    if (auto it = j.find(outer); it != j.end() && it->is_object())
      if (auto u = it->find("usage"); u != it->end()) read(*u);
}

engine::Usage UsageScanner::Finish() {
  if (mode_ == Mode::kJson && !overflow_ && !buffer_.empty()) Json(buffer_);
  if (mode_ == Mode::kEvents && !overflow_ && !buffer_.empty()) Line(buffer_);
  buffer_.clear();
  // Embeddings report prompt tokens only: nothing was generated.
  if (usage_.input_tokens >= 0 && usage_.output_tokens < 0 && mode_ == Mode::kJson)
    usage_.output_tokens = 0;
  return usage_;
}

}  // namespace tosgate::api
