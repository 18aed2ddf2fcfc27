// What a request looks like, in forms that can be shared with partners
// without its text: a keyed template fingerprint and a coarse shape.
//
// Template fingerprint: the 64-bit SimHash of the prompt's word shingles
// (engine/distill/text_features.h, as competitor_training reads it: the
// first two thirds and last third of at most 256 bytes of user text, three
// word shingles), then keyed: its bits permuted and XORed under the
// partners' key (TemplateKey). Permuting and XORing keep Hamming distances,
// so two prompts of one template stay a few bits apart after keying and a
// partner with the key matches by distance; without the key no one can
// compute the fingerprint of a guessed text (docs/indicators.md says what
// the keying does not hide).
//
// Shape profile: "family=gpt;effort=high;n=1;temperature=0.5-1;
// max_tokens=2k-8k;logprobs=yes" - coarse buckets of the request's
// parameters, no model version, no exact number.
//
// Pure; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tosgate/request.h"

namespace tosgate::engine {

// The permutation and mask a partners' key gives (derived once, at policy
// compile time): HMAC-SHA-256(key, "tosgate:template:<block>").
class TemplateKey {
 public:
  TemplateKey() = default;
  explicit TemplateKey(std::string_view key);
  bool empty() const { return !set_; }
  uint64_t Apply(uint64_t simhash) const;

 private:
  bool set_ = false;
  uint64_t mask_ = 0;
  std::array<uint8_t, 64> to_{};  // bit i of the SimHash goes to bit to_[i]
};

// The request's prompt SimHash; false when it has too few words (fewer than
// three) or no text.
bool RequestSimHash(const RequestBody& body, uint64_t* simhash);

// 16 lower-case hex digits, and back (false unless exactly that).
std::string TemplateHex(uint64_t v);
bool ParseTemplateHex(std::string_view hex, uint64_t* v);

// The shape profile of a request (above).
std::string ShapeProfile(const RequestBody& body);
// Whether `profile` is one ShapeProfile can write (import checks it, so a
// partner cannot send free text as a shape).
bool ValidShapeProfile(std::string_view profile);

}  // namespace tosgate::engine
