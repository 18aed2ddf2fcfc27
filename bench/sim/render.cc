// Turning the simulation's accounts and events into the JSON Lines of
// DESIGN.md, "Traffic files". Written by hand rather than through a JSON
// library so that key order and number formatting are fixed.
#include <algorithm>
#include <cmath>
#include <utility>

#include "bench/sim/rng.h"
#include "bench/sim/text.h"
#include "bench/sim/traffic.h"

namespace tosgate::sim {
namespace {

// What one request says, before it is written in either body shape.
struct Shape {
  std::string system;
  std::vector<std::pair<const char*, std::string>> messages;
  int64_t max_tokens = -1;  // -1: not given
  double temperature = -1;  // < 0: not given
  bool logprobs = false;
  int64_t top_logprobs = -1;
  int64_t logit_bias = 0;  // number of entries
  const char* purpose = nullptr;
  int64_t output_tokens = 0;
};

int64_t Tokens(double x, int64_t cap) {
  const int64_t n = std::max<int64_t>(1, std::llround(x));
  return cap > 0 ? std::min(n, cap) : n;
}

Shape Describe(const SimAccount& a, Rng& r) {
  Shape s;
  auto user = [&](std::string text) { s.messages.emplace_back("user", std::move(text)); };
  switch (a.persona) {
    case Persona::kChat:
      user(ChatPrompt(r));
      if (r.Chance(0.3)) {
        s.messages.emplace_back("assistant", "Sure - here is a first try. " + Question(r));
        user(ChatFollowUp(r));
      }
      s.max_tokens = r.Pick({-1, -1, 256, 512, 1024});
      if (r.Chance(0.3)) s.temperature = r.Pick({0.2, 0.7, 1.0});
      s.output_tokens = Tokens(r.LogNormal(220, 0.7), s.max_tokens);
      break;
    case Persona::kCoding:
      s.system = a.variant % 2
                     ? "You are a coding assistant. Prefer minimal diffs and explain briefly."
                     : "You are an expert software engineer helping inside an IDE.";
      user(CodingPrompt(r));
      s.max_tokens = r.Pick({1024, 2048, 4096});
      s.output_tokens = Tokens(r.LogNormal(450, 0.7), s.max_tokens);
      break;
    case Persona::kClassify:
      user(ClassificationPrompt(a.variant, r));
      s.max_tokens = (a.variant % 4 == 3) ? 32 : 5;
      s.temperature = 0;
      s.purpose = "classification";
      s.output_tokens = r.Int(1, 4);
      break;
    case Persona::kSupport:
      s.system = SupportSystemPrompt(a.variant);
      user(SupportMessage(r));
      if (r.Chance(0.3)) {
        s.messages.emplace_back("assistant",
                                "I'm sorry to hear that. Could you share your order number?");
        user(SupportMessage(r));
      }
      s.max_tokens = 300;
      s.purpose = "customer-support";
      s.output_tokens = Tokens(r.LogNormal(90, 0.5), s.max_tokens);
      break;
    case Persona::kSummarize:
      user(SummarizePrompt(a.variant, r));
      s.max_tokens = 400;
      s.purpose = "summarization";
      s.output_tokens = Tokens(r.LogNormal(180, 0.3), s.max_tokens);
      break;
    case Persona::kEval:
      user(EvalItemPrompt(a.variant, r));
      s.max_tokens = 1;
      s.temperature = 0;
      s.logprobs = true;
      s.top_logprobs = 1 + a.variant % 5;
      s.purpose = "evaluation";
      s.output_tokens = 1;
      break;
    case Persona::kHarvest:
      user(HarvestPrompt(r));
      s.max_tokens = 4096;
      s.output_tokens = Tokens(r.LogNormal(2600, 0.25), s.max_tokens);
      break;
    case Persona::kCluster:
      user(ClusterPrompt(a.variant, r));
      s.max_tokens = r.Pick({2048, 4096});
      s.output_tokens = Tokens(r.LogNormal(1800, 0.3), s.max_tokens);
      break;
    case Persona::kCot:
      user(CotPrompt(r));
      s.max_tokens = r.Pick({4096, 8192});
      s.output_tokens = Tokens(r.LogNormal(2200, 0.35), s.max_tokens);
      break;
    case Persona::kLogprob:
      user(LogprobPrompt(r));
      s.max_tokens = r.Pick({1, 1, 16, 64});
      s.logprobs = true;
      s.top_logprobs = 20;
      if (r.Chance(0.5)) s.logit_bias = r.Int(1, 8);
      s.output_tokens = s.max_tokens;
      break;
    case Persona::kLowSlow:
      s.system = LowSlowSystemPrompt(a.variant);
      user(LowSlowPrompt(a.variant, r));
      s.max_tokens = 2048;
      s.output_tokens = Tokens(r.LogNormal(1300, 0.35), s.max_tokens);
      break;
  }
  return s;
}

std::string Number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

}  // namespace

std::string JsonString(std::string_view in) {
  std::string out = "\"";
  for (char c : in) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Simulation::RenderRequest(const Event& e) const {
  const SimAccount& a = accounts_[e.account];
  Rng r(Derive(o_.seed, 0xB0D1 + (static_cast<uint64_t>(e.account) << 20), e.seq));
  const Shape s = Describe(a, r);
  const bool anthropic = a.anthropic && !s.logprobs;

  std::string ip;
  if (a.persona == Persona::kCluster) {
    ip = "198.18." + std::to_string(r.Pick({7, 19, 200})) + "." + std::to_string(r.Int(1, 254));
  } else {
    ip = a.ips[static_cast<size_t>(r.Int(0, static_cast<int64_t>(a.ips.size()) - 1))];
  }

  std::string line =
      "{\"ts\": " + std::to_string(e.ts_ms) + ", \"method\": \"POST\", \"path\": \"" +
      (anthropic ? "/v1/messages" : "/v1/chat/completions") + "\", \"client_ip\": \"" + ip +
      "\", \"headers\": {\"authorization\": \"Bearer " + a.key + "\"";
  if (anthropic) line += ", \"anthropic-version\": \"2023-06-01\"";
  if (s.purpose) line += ", \"x-usage-purpose\": \"" + std::string(s.purpose) + "\"";
  line += "}, \"body\": {\"model\": \"" + a.model + "\"";
  if (anthropic && !s.system.empty()) line += ", \"system\": " + JsonString(s.system);
  line += ", \"messages\": [";
  bool first = true;
  if (!anthropic && !s.system.empty()) {
    line += "{\"role\": \"system\", \"content\": " + JsonString(s.system) + "}";
    first = false;
  }
  int64_t chars = static_cast<int64_t>(s.system.size());
  for (const auto& [role, content] : s.messages) {
    line += std::string(first ? "" : ", ") + "{\"role\": \"" + role +
            "\", \"content\": " + JsonString(content) + "}";
    first = false;
    chars += static_cast<int64_t>(content.size());
  }
  line += "]";
  // Anthropic requires max_tokens.
  const int64_t max_tokens = anthropic && s.max_tokens < 0 ? 1024 : s.max_tokens;
  if (max_tokens >= 0) line += ", \"max_tokens\": " + std::to_string(max_tokens);
  if (s.temperature >= 0) line += ", \"temperature\": " + Number(s.temperature);
  if (s.logprobs)
    line += ", \"logprobs\": true, \"top_logprobs\": " + std::to_string(s.top_logprobs);
  if (s.logit_bias > 0) {
    line += ", \"logit_bias\": {";
    for (int64_t i = 0; i < s.logit_bias; ++i)
      line += std::string(i ? ", " : "") + "\"" + std::to_string(r.Int(100, 99999)) +
              "\": " + std::to_string(r.Pick({-100, -50, 50, 100}));
    line += "}";
  }
  const int64_t input_tokens = chars / 4 + 4 * static_cast<int64_t>(s.messages.size()) + 3;
  line += "}, \"usage\": {\"input_tokens\": " + std::to_string(input_tokens) +
          ", \"output_tokens\": " + std::to_string(s.output_tokens) + "}}";
  return line;
}

std::string Simulation::RenderAccount(const SimAccount& a) const {
  return "{\"id\": \"" + a.id + "\", \"org\": \"" + a.org + "\", \"tier\": \"" + a.tier +
         "\", \"country\": \"" + a.country +
         "\", \"flags\": [], \"created\": " + std::to_string(a.created_ms) +
         ", \"payment_fingerprint\": \"" + a.payment + "\"" +
         (o_.device_fingerprints ? ", \"device_fingerprint\": \"" + a.device + "\""
                                 : std::string()) +
         ", \"keys\": [\"" + a.key + "\"]}";
}

std::string Simulation::RenderLabel(const SimAccount& a) const {
  return "{\"account\": \"" + a.id + "\", \"label\": \"" +
         (IsCampaign(a.persona) ? "campaign" : "benign") + "\", \"scenario\": \"" +
         std::string(PersonaName(a.persona)) + "\"}";
}

}  // namespace tosgate::sim
