#include "engine/indicators/request_print.h"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "engine/distill/text_features.h"
#include "engine/hex.h"
#include "engine/indicators/keyed_hash.h"

namespace tosgate::engine {
namespace {

// competitor_training's defaults (engine/distill/signals.h DistillParams):
// the fingerprint reads what the detector reads.
constexpr int kShingleWords = 3;
constexpr size_t kMaxBytes = 256;

std::string_view Bucket(int64_t v, std::initializer_list<std::pair<int64_t, const char*>> bands,
                        const char* above) {
  for (const auto& [limit, name] : bands)
    if (v <= limit) return name;
  return above;
}

std::string Family(std::string_view model) {
  if (const size_t slash = model.rfind('/'); slash != std::string_view::npos) model.remove_prefix(slash + 1);
  std::string out;
  for (char c : model) {
    if (!std::isalpha(static_cast<unsigned char>(c)) || out.size() >= 16) break;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out.empty() ? "unknown" : out;
}

constexpr std::string_view kEfforts[] = {"none", "minimal", "low", "medium", "high", "thinking", "other"};
constexpr std::string_view kNs[] = {"1", "2-4", "5+"};
constexpr std::string_view kTemps[] = {"default", "0", "0-0.5", "0.5-1", "1+"};
constexpr std::string_view kMaxTokens[] = {"unset", "0-256", "256-2k", "2k-8k", "8k-32k", "32k+"};
constexpr std::string_view kYesNo[] = {"yes", "no"};

template <size_t N>
bool OneOf(std::string_view v, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), v) != std::end(set);
}

}  // namespace

TemplateKey::TemplateKey(std::string_view key) : set_(!key.empty()) {
  if (!set_) return;
  std::string bytes;
  for (int block = 0; block < 5; ++block)
    bytes += FromHex(HmacSha256Hex(key, "tosgate:template:" + std::to_string(block)));
  for (int i = 0; i < 8; ++i) mask_ = mask_ << 8 | static_cast<uint8_t>(bytes[i]);
  std::iota(to_.begin(), to_.end(), uint8_t{0});
  // Fisher-Yates over 16-bit draws (the modulo bias, under 0.1%, does not matter here).
  for (int i = 63, at = 8; i > 0; --i, at += 2) {
    const unsigned draw = static_cast<uint8_t>(bytes[at]) << 8 | static_cast<uint8_t>(bytes[at + 1]);
    std::swap(to_[i], to_[draw % (i + 1)]);
  }
}

uint64_t TemplateKey::Apply(uint64_t simhash) const {
  uint64_t out = 0;
  for (int i = 0; i < 64; ++i) out |= ((simhash >> i) & 1) << to_[i];
  return out ^ mask_;
}

bool RequestSimHash(const RequestBody& body, uint64_t* simhash) {
  std::string_view user = body.user_text.empty() ? body.prompt_text : body.user_text;
  if (user.empty()) return false;
  TextExtractor x(kShingleWords, nullptr);
  if (user.size() > kMaxBytes) {
    const size_t tail = kMaxBytes / 3;
    x.Hash(user.substr(0, kMaxBytes - tail));
    x.Hash(user.substr(user.size() - tail));
  } else {
    x.Hash(user);
  }
  TextFeatures f;
  x.Finish(&f);
  *simhash = f.simhash;
  return f.has_simhash;
}

std::string TemplateHex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 15];
  return out;
}

bool ParseTemplateHex(std::string_view hex, uint64_t* v) {
  if (hex.size() != 16) return false;
  uint64_t out = 0;
  for (char c : hex) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && !(c >= 'a' && c <= 'f')) return false;
    out = out << 4 | static_cast<uint64_t>(HexDigitValue(c));
  }
  *v = out;
  return true;
}

std::string ShapeProfile(const RequestBody& body) {
  std::string effort = body.reasoning_effort;
  if (effort.empty()) effort = body.thinking_budget > 0 ? "thinking" : "none";
  else if (!OneOf(effort, kEfforts)) effort = "other";
  const double t = body.temperature;
  const std::string_view temp = t < 0 ? "default" : t == 0 ? "0" : t <= 0.5 ? "0-0.5" : t <= 1 ? "0.5-1" : "1+";
  const std::string_view n = body.n <= 1 ? "1" : body.n <= 4 ? "2-4" : "5+";
  const std::string_view max_tokens =
      body.max_tokens < 0 ? "unset"
                          : Bucket(body.max_tokens, {{256, "0-256"}, {2048, "256-2k"}, {8192, "2k-8k"}, {32768, "8k-32k"}}, "32k+");
  const bool logprobs = body.logprobs || body.top_logprobs > 0;
  std::string out = "family=" + Family(body.model);
  out += ";effort=" + effort;
  out += ";n=";
  out += n;
  out += ";temperature=";
  out += temp;
  out += ";max_tokens=";
  out += max_tokens;
  out += logprobs ? ";logprobs=yes" : ";logprobs=no";
  return out;
}

bool ValidShapeProfile(std::string_view p) {
  static constexpr std::string_view kKeys[] = {"family", "effort", "n", "temperature", "max_tokens", "logprobs"};
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    const size_t end = std::min(p.find(';'), p.size());
    std::string_view item = p.substr(0, end);
    p.remove_prefix(end == p.size() ? end : end + 1);
    if (item.substr(0, kKeys[i].size()) != kKeys[i] || item.size() <= kKeys[i].size() ||
        item[kKeys[i].size()] != '=')
      return false;
    const std::string_view v = item.substr(kKeys[i].size() + 1);
    bool ok = false;
    switch (i) {
      case 0:
        ok = !v.empty() && v.size() <= 16 &&
             std::all_of(v.begin(), v.end(), [](char c) { return c >= 'a' && c <= 'z'; });
        break;
      case 1: ok = OneOf(v, kEfforts); break;
      case 2: ok = OneOf(v, kNs); break;
      case 3: ok = OneOf(v, kTemps); break;
      case 4: ok = OneOf(v, kMaxTokens); break;
      case 5: ok = OneOf(v, kYesNo) && p.empty(); break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace tosgate::engine
