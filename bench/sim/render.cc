// Turning the simulation's accounts and events into the JSON Lines of
// docs/traffic-simulator.md, "Files". Written by hand rather than through a JSON
// library so that key order and number formatting are fixed.
#include <algorithm>
#include <cmath>
#include <utility>

#include "bench/sim/describe.h"
#include "bench/sim/rng.h"
#include "bench/sim/traffic.h"

namespace tosgate::sim {
namespace {

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
  const Shape s = Describe(a, o_.bank, r);
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
  if (anthropic && s.thinking_budget > 0)
    line += ", \"thinking\": {\"type\": \"enabled\", \"budget_tokens\": " +
            std::to_string(s.thinking_budget) + "}";
  if (!anthropic && !s.reasoning_effort.empty())
    line += s.effort_object ? ", \"reasoning\": {\"effort\": \"" + s.reasoning_effort + "\"}"
                            : ", \"reasoning_effort\": \"" + s.reasoning_effort + "\"";
  if (!anthropic && s.n > 0) line += ", \"n\": " + std::to_string(s.n);
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
         std::string(PersonaName(a.persona)) + "\"" +
         (IsHardNegative(a.persona) ? ", \"hard_negative\": true}" : "}");
}

}  // namespace tosgate::sim
