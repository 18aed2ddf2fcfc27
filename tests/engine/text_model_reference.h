// The reference scorer the text-model tests compare ScoreNormalized with
// (text_model_test.cc, text_model_fused_test.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "engine/textmodel/text_model.h"

namespace tosgate::engine {

// What ScoreNormalized must compute, written plainly from ForEachTextFeature
// (the reference features) and weight(): per word the sum of its features in
// order from zero, per window the bias plus its words in order, the highest
// window per label through the logistic function. The fast path sums in the
// same order, so the scores must be bit for bit the same.
inline std::vector<float> ReferenceScores(const TextModel& m, std::string_view text) {
  const auto& o = m.options();
  const size_t k = m.labels().size();
  const int words = text.empty() ? 0 : static_cast<int>(std::count(text.begin(), text.end(), ' ')) + 1;
  const int rows = std::max(words, 1);
  std::vector<float> per_word(static_cast<size_t>(rows) * k, 0.0f);
  std::vector<TextFeature> feats;
  ForEachTextFeature(o, text, &feats, [](void*, uint32_t, int) {}, nullptr);
  for (const auto& f : feats)
    for (size_t l = 0; l < k; ++l)
      per_word[static_cast<size_t>(f.word) * k + l] += m.weight(f.bucket, static_cast<int>(l));
  std::vector<float> best(k, -1e30f);
  auto window = [&](int b, int e) {
    for (size_t l = 0; l < k; ++l) {
      float sum = m.bias(static_cast<int>(l));
      for (int w = b; w < e; ++w) sum += per_word[static_cast<size_t>(w) * k + l];
      best[l] = std::max(best[l], sum);
    }
  };
  if (rows <= o.window) {
    window(0, rows);
  } else {
    for (int b = 0;; b += std::max(1, o.window / 2)) {
      if (b + o.window >= rows) {
        window(rows - o.window, rows);
        break;
      }
      window(b, b + o.window);
    }
  }
  for (auto& z : best) z = 1.0f / (1.0f + std::exp(-z));
  return best;
}

}  // namespace tosgate::engine
