// A compact linear text classifier: hashed word and character n-grams of the
// normalized text (engine::NormalizeForMatch), one logistic model per label,
// scored in the request path. Used by `kind: content` (the classifier tier,
// one label per prohibited-use category) and by competitor_training (the
// harvest-intent signal, one label "harvest"). Built by `tosgate train` from
// labelled JSONL (engine/textmodel/train.h); docs/text-models.md describes
// the features, the file format and the training.
//
// Features of a text, after normalization (lower-case words, single spaces):
//   - every word ("w" feature), every pair of adjacent words ("b");
//   - every character 4-gram of each word framed by '^' and '$' (a word of
//     two letters or fewer gives its framed self), ("c"); or with
//     char_edges only the first and the last of them.
// Each feature is hashed (64-bit, seeded by its kind) into one of 2^bits
// buckets. A label's score over a window of words is the sum of the weights
// of the features anchored in it plus the label's bias, through the logistic
// function. Texts longer than `window` words are scored over windows of
// `window` words every window/2 words, and a label's score is its highest
// window's: a prohibited sentence inside a long benign document is not
// diluted by it.
//
// Immutable once built; Score is thread-safe and allocates only in the
// caller's TextModelScratch (reuse one per thread to allocate nothing).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/status.h"

namespace tosgate::engine {

struct TextModelOptions {
  int bits = 18;       // 2^bits buckets
  int window = 64;     // words per scored window
  bool words = true;   // "w" features
  bool bigrams = true; // "b" features
  bool chars = true;   // "c" features (character 4-grams)
  // With chars: only each word's first and last framed 4-gram ("^sar" and
  // "rin$" of "sarin"), at most two per word instead of one per byte: a
  // third fewer features to hash and fetch ("edges" in the file).
  bool char_edges = false;
};

// One feature of a text, for explanations and tests.
struct TextFeature {
  std::string name;  // "w:sarin", "b:make sarin", "c:^sar"
  uint32_t bucket = 0;
  int word = 0;      // index of the word it is anchored at (a bigram: its second)
};

// Per-thread buffers for Score; reuse to avoid allocation.
struct TextModelScratch {
  std::string normalized;
  std::vector<uint32_t> buckets;  // every feature's bucket, word by word
  std::vector<uint32_t> begin;    // per word: its first feature in buckets
  std::vector<uint64_t> spaces;   // a bit per byte of text: a space
  std::vector<float> per_word;    // words x labels (padded)
  std::vector<float> window;      // labels (padded)
};

class TextModel {
 public:
  // Weights are bucket-major: weights[bucket * labels + label] (rows are
  // padded inside for vector adds; weight() reads either way).
  TextModel(TextModelOptions options, std::vector<std::string> labels, std::vector<float> bias,
            std::vector<float> weights);

  const TextModelOptions& options() const { return options_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // The label's index, or -1.
  int LabelIndex(std::string_view label) const;
  size_t buckets() const { return size_t{1} << options_.bits; }
  float bias(int label) const { return bias_[label]; }
  float weight(uint32_t bucket, int label) const {
    return weights_[static_cast<size_t>(bucket) * stride_ + static_cast<size_t>(label)];
  }
  // Memory held by the weights, in bytes.
  size_t bytes() const { return weights_.size() * sizeof(float); }

  // Probabilities in [0, 1], one per label (in labels() order), of the
  // normalized form of `text` (highest window per label). An empty text
  // scores the biases.
  void Score(std::string_view text, TextModelScratch* scratch, std::vector<float>* out) const;
  // The same for text already normalized with NormalizeForMatch.
  void ScoreNormalized(std::string_view normalized, TextModelScratch* scratch,
                       std::vector<float>* out) const;

  // The `top` features of `text` contributing most to `label`'s score in its
  // highest window, with their weights: "w:sarin +2.31, c:^sar +0.80".
  // For explanations; slow path (allocates).
  std::string Explain(std::string_view text, int label, int top = 3) const;

  // The file format (docs/text-models.md): a text header, then one line per
  // bucket with a non-zero weight. Load reports errors as "FILE:LINE: ...".
  static Status Load(const std::string& path, std::shared_ptr<const TextModel>* out);
  static Status Parse(std::string_view content, std::string_view name,
                      std::shared_ptr<const TextModel>* out);
  std::string Serialize() const;

 private:
  TextModelOptions options_;
  std::vector<std::string> labels_;
  std::vector<float> bias_;
  std::vector<float> bias_padded_;  // bias_, padded to stride_ with zeros
  size_t stride_ = 1;  // floats per bucket row: labels, padded to a multiple of 4
  std::vector<float> weights_;
};

// The features of already-normalized text, in order of their words (for
// training, tests and Explain). Calls f(bucket, word_index) per feature; names are built
// only when `names` is not null.
void ForEachTextFeature(const TextModelOptions& options, std::string_view normalized,
                        std::vector<TextFeature>* names,
                        void (*f)(void* ctx, uint32_t bucket, int word), void* ctx);

}  // namespace tosgate::engine
