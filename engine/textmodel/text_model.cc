#include "engine/textmodel/text_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/distill/text_features.h"  // MixHash
#include "engine/normalize.h"

namespace tosgate::engine {
namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// A word's 64-bit hash: a multiply per 8 bytes, one full mix at the end.
// Seeds keep the feature kinds apart.
inline uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = seed ^ (s.size() * kGolden);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kGolden;
    h ^= h >> 32;
  }
  if (i < s.size()) {
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    h = (h ^ tail ^ 0x5555) * kGolden;
  }
  return MixHash(h);
}

constexpr uint64_t kWordSeed = 0x77ULL << 56, kBigramSeed = 0x62ULL << 56,
                   kCharSeed = 0x63ULL << 56;

uint32_t Bucket(uint64_t h, int bits) { return static_cast<uint32_t>(h >> (64 - bits)); }

// A character n-gram (n <= 4 bytes, packed little-endian) to its bucket:
// one multiply (Fibonacci hashing) spreads 32 bits over the buckets.
uint32_t CharBucket(uint32_t packed, size_t n, int bits) {
  return Bucket((kCharSeed ^ (uint64_t{n} << 32) ^ packed) * kGolden, bits);
}

float Logistic(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// Character n-grams are taken from a word's first kMaxCharWord bytes: a
// 10 KB "word" (base64, a minified line) costs no more than a long word.
constexpr size_t kMaxCharWord = 40;

// Calls f(bucket, word) for every feature of normalized text, in order of
// their words (a bigram is anchored at its second word), so that a scorer
// can sum one word's features in registers;
// with `names`, also records each feature's name. A template, so that the
// scoring loop inlines f.
template <typename F>
void VisitFeatures(const TextModelOptions& o, std::string_view text,
                   std::vector<TextFeature>* names, F&& f) {
  int word = 0;
  uint64_t prev_hash = 0;
  std::string_view prev;
  char framed[kMaxCharWord + 8];
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view w = text.substr(i, j - i);
    i = j + 1;
    if (w.empty()) continue;
    uint64_t h = HashBytes(w, kWordSeed);
    if (o.words) {
      uint32_t b = Bucket(h, o.bits);
      f(b, word);
      if (names) names->push_back({"w:" + std::string(w), b, word});
    }
    if (o.bigrams && word > 0) {
      uint32_t b = Bucket(MixHash(prev_hash * kGolden + h + kBigramSeed), o.bits);
      f(b, word);
      if (names) names->push_back({"b:" + std::string(prev) + " " + std::string(w), b, word});
    }
    if (o.chars) {
      // "^word$" in 4-byte windows; a word of two bytes or fewer is one
      // feature, its framed self.
      const size_t len = std::min(w.size(), kMaxCharWord);
      const size_t n = len + 2;
      framed[0] = '^';
      std::memcpy(framed + 1, w.data(), len);
      framed[n - 1] = '$';
      std::memset(framed + n, 0, 4);
      if (n < 4) {
        uint32_t packed;
        std::memcpy(&packed, framed, 4);
        uint32_t b = CharBucket(packed, n, o.bits);
        f(b, word);
        if (names) names->push_back({"c:" + std::string(framed, n), b, word});
      } else {
        for (size_t k = 0; k + 4 <= n; ++k) {
          uint32_t packed;
          std::memcpy(&packed, framed + k, 4);
          uint32_t b = CharBucket(packed, 4, o.bits);
          f(b, word);
          if (names) names->push_back({"c:" + std::string(framed + k, 4), b, word});
        }
      }
    }
    prev_hash = h;
    prev = w;
    ++word;
  }
}

// The word ranges [begin, end) scored: one window when the text fits, else
// windows of `window` words every window/2 words, the last one ending at the
// last word.
template <typename F>
void ForEachWindow(int words, int window, F f) {
  if (words <= window) {
    f(0, words);
    return;
  }
  int stride = std::max(1, window / 2);
  for (int b = 0;; b += stride) {
    if (b + window >= words) {
      f(words - window, words);
      return;
    }
    f(b, b + window);
  }
}

}  // namespace

void ForEachTextFeature(const TextModelOptions& o, std::string_view text,
                        std::vector<TextFeature>* names,
                        void (*f)(void* ctx, uint32_t bucket, int word), void* ctx) {
  VisitFeatures(o, text, names, [&](uint32_t b, int word) { f(ctx, b, word); });
}

namespace {

// Rows of weights are padded to a multiple of 4 labels (one label: no
// padding), so that a row of up to 16 is summed by fixed-width vector adds.
size_t RowStride(size_t labels) { return labels == 1 ? 1 : (labels + 3) / 4 * 4; }

// Sums each word's features into per_word (rows of S floats). The word's
// sum stays in registers until the word changes: a load-add-store per
// feature into per_word would chain every feature through store forwarding.
template <size_t S>
void SumWords(const TextModelOptions& o, std::string_view text, const float* weights,
              float* per_word) {
  if constexpr (S == 1) {
    int cur = 0;
    float acc = 0;
    VisitFeatures(o, text, nullptr, [&](uint32_t b, int w) {
      if (w != cur) {
        per_word[cur] = acc;
        acc = 0;
        cur = w;
      }
      acc += weights[b];
    });
    per_word[cur] = acc;
    return;
  }
  float acc[S] = {};
  int cur = 0;
  VisitFeatures(o, text, nullptr, [&](uint32_t b, int w) {
    if (w != cur) {
      std::memcpy(per_word + static_cast<size_t>(cur) * S, acc, sizeof acc);
      std::fill(acc, acc + S, 0.0f);
      cur = w;
    }
    const float* src = weights + static_cast<size_t>(b) * S;
    for (size_t l = 0; l < S; ++l) acc[l] += src[l];
  });
  std::memcpy(per_word + static_cast<size_t>(cur) * S, acc, sizeof acc);
}

}  // namespace

TextModel::TextModel(TextModelOptions options, std::vector<std::string> labels,
                     std::vector<float> bias, std::vector<float> weights)
    : options_(options), labels_(std::move(labels)), bias_(std::move(bias)) {
  const size_t k = labels_.size();
  stride_ = RowStride(k);
  if (stride_ == k) {
    weights_ = std::move(weights);
    return;
  }
  weights_.assign(buckets() * stride_, 0.0f);
  for (size_t b = 0; b < buckets(); ++b)
    std::copy_n(weights.data() + b * k, k, weights_.data() + b * stride_);
}

int TextModel::LabelIndex(std::string_view label) const {
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i] == label) return static_cast<int>(i);
  }
  return -1;
}

void TextModel::Score(std::string_view text, TextModelScratch* s, std::vector<float>* out) const {
  s->normalized = NormalizeForMatch(text);
  ScoreNormalized(s->normalized, s, out);
}

void TextModel::ScoreNormalized(std::string_view text, TextModelScratch* s,
                                std::vector<float>* out) const {
  const size_t k = labels_.size();
  const size_t stride = stride_;
  int words = text.empty() ? 0 : static_cast<int>(std::count(text.begin(), text.end(), ' ')) + 1;
  s->per_word.assign(static_cast<size_t>(std::max(words, 1)) * stride, 0.0f);
  const float* weights = weights_.data();
  float* per_word = s->per_word.data();
  switch (stride) {
    case 1: SumWords<1>(options_, text, weights, per_word); break;
    case 4: SumWords<4>(options_, text, weights, per_word); break;
    case 8: SumWords<8>(options_, text, weights, per_word); break;
    case 12: SumWords<12>(options_, text, weights, per_word); break;
    case 16: SumWords<16>(options_, text, weights, per_word); break;
    default:
      VisitFeatures(options_, text, nullptr, [&](uint32_t b, int w) {
        const float* src = weights + static_cast<size_t>(b) * stride;
        float* dst = per_word + static_cast<size_t>(w) * stride;
        for (size_t l = 0; l < k; ++l) dst[l] += src[l];
      });
  }
  out->assign(k, -1e30f);
  s->window.resize(k);
  ForEachWindow(std::max(words, 1), options_.window, [&](int b, int e) {
    std::copy(bias_.begin(), bias_.end(), s->window.begin());
    for (int w = b; w < e; ++w) {
      const float* pw = s->per_word.data() + static_cast<size_t>(w) * stride;
      for (size_t l = 0; l < k; ++l) s->window[l] += pw[l];
    }
    for (size_t l = 0; l < k; ++l) (*out)[l] = std::max((*out)[l], s->window[l]);
  });
  for (auto& z : *out) z = Logistic(z);
}

std::string TextModel::Explain(std::string_view text, int label, int top) const {
  if (label < 0 || label >= static_cast<int>(labels_.size())) return "";
  std::string normalized = NormalizeForMatch(text);
  std::vector<TextFeature> feats;
  VisitFeatures(options_, normalized, &feats, [](uint32_t, int) {});
  int words = normalized.empty() ? 1 : static_cast<int>(std::count(normalized.begin(), normalized.end(), ' ')) + 1;
  std::vector<float> per_word(static_cast<size_t>(words), 0.0f);
  for (const auto& f : feats) per_word[static_cast<size_t>(f.word)] += weight(f.bucket, label);
  int best_b = 0, best_e = words;
  float best = -1e30f;
  ForEachWindow(words, options_.window, [&](int b, int e) {
    float sum = 0;
    for (int w = b; w < e; ++w) sum += per_word[static_cast<size_t>(w)];
    if (sum > best) best = sum, best_b = b, best_e = e;
  });
  std::map<std::string, float> by_name;
  for (const auto& f : feats) {
    if (f.word >= best_b && f.word < best_e) by_name[f.name] += weight(f.bucket, label);
  }
  std::vector<std::pair<float, std::string>> ranked;
  for (auto& [name, w] : by_name) {
    if (w > 0) ranked.emplace_back(w, name);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string out;
  char num[32];
  for (int i = 0; i < top && i < static_cast<int>(ranked.size()); ++i) {
    std::snprintf(num, sizeof num, " %+.2f", ranked[i].first);
    if (!out.empty()) out += ", ";
    out += ranked[i].second + num;
  }
  return out;
}

std::string TextModel::Serialize() const {
  std::ostringstream o;
  const size_t k = labels_.size();
  o << "tosgate-text-model 1\n";
  o << "bits " << options_.bits << "\n";
  o << "window " << options_.window << "\n";
  o << "features";
  if (options_.words) o << " words";
  if (options_.bigrams) o << " bigrams";
  if (options_.chars) o << " chars";
  o << "\nlabels";
  for (const auto& l : labels_) o << " " << l;
  char num[32];
  o << "\nbias";
  for (float b : bias_) {
    std::snprintf(num, sizeof num, " %.6g", b);
    o << num;
  }
  o << "\n";
  for (size_t b = 0; b < buckets(); ++b) {
    const float* w = weights_.data() + b * stride_;
    if (std::all_of(w, w + k, [](float x) { return x == 0.0f; })) continue;
    o << b;
    for (size_t l = 0; l < k; ++l) {
      if (w[l] == 0.0f) {
        o << " 0";
      } else {
        std::snprintf(num, sizeof num, " %.4g", w[l]);
        o << num;
      }
    }
    o << "\n";
  }
  return o.str();
}

Status TextModel::Parse(std::string_view content, std::string_view name,
                        std::shared_ptr<const TextModel>* out) {
  TextModelOptions o;
  o.words = o.bigrams = o.chars = false;
  std::vector<std::string> labels;
  std::vector<float> bias, weights;
  int line_no = 0;
  bool have_bits = false, have_labels = false, have_bias = false;
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument(std::string(name) + ":" + std::to_string(line_no) + ": " + why);
  };
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    std::string line(content.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    if (line_no == 1) {
      if (line != "tosgate-text-model 1") return fail("not a tosgate text model (expected 'tosgate-text-model 1')");
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(line[0]))) {
      if (!have_bits || !have_labels || !have_bias) return fail("weights before bits, labels and bias");
      if (weights.empty()) weights.assign((size_t{1} << o.bits) * labels.size(), 0.0f);
      uint64_t bucket;
      if (!(in >> bucket) || bucket >= (uint64_t{1} << o.bits)) return fail("bad bucket number");
      float* w = weights.data() + bucket * labels.size();
      for (size_t l = 0; l < labels.size(); ++l) {
        if (!(in >> w[l]) || !std::isfinite(w[l])) return fail("expected " + std::to_string(labels.size()) + " weights");
      }
      std::string extra;
      if (in >> extra) return fail("more weights than labels");
      continue;
    }
    std::string key;
    in >> key;
    if (key == "bits") {
      if (!(in >> o.bits) || o.bits < 8 || o.bits > 24) return fail("bits must be 8 to 24");
      have_bits = true;
    } else if (key == "window") {
      if (!(in >> o.window) || o.window < 4 || o.window > 4096) return fail("window must be 4 to 4096");
    } else if (key == "features") {
      std::string f;
      while (in >> f) {
        if (f == "words") o.words = true;
        else if (f == "bigrams") o.bigrams = true;
        else if (f == "chars") o.chars = true;
        else return fail("unknown feature '" + f + "' (words, bigrams, chars)");
      }
    } else if (key == "labels") {
      std::string l;
      while (in >> l) labels.push_back(l);
      if (labels.empty()) return fail("no labels");
      have_labels = true;
    } else if (key == "bias") {
      float b;
      while (in >> b) bias.push_back(b);
      if (bias.size() != labels.size()) return fail("bias needs one value per label");
      have_bias = true;
    } else {
      return fail("unknown line '" + key + "'");
    }
  }
  if (line_no == 0) return Status::InvalidArgument(std::string(name) + ": empty model file");
  if (!have_bits || !have_labels || !have_bias) {
    return Status::InvalidArgument(std::string(name) + ": model lacks bits, labels or bias");
  }
  if (!o.words && !o.bigrams && !o.chars) {
    return Status::InvalidArgument(std::string(name) + ": model names no features");
  }
  if (weights.empty()) weights.assign((size_t{1} << o.bits) * labels.size(), 0.0f);
  *out = std::make_shared<TextModel>(o, std::move(labels), std::move(bias), std::move(weights));
  return Status::Ok();
}

Status TextModel::Load(const std::string& path, std::shared_ptr<const TextModel>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read the model file");
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path, out);
}

}  // namespace tosgate::engine
