#include "engine/textmodel/train.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "engine/normalize.h"

namespace tosgate::engine {
namespace {

bool IsBenign(const std::string& l) { return l.empty() || l == "benign" || l == "none"; }

// An example as the model sees it: its windows' feature buckets, and which
// labels it carries.
struct Prepared {
  std::vector<std::vector<uint32_t>> windows;
  std::vector<uint8_t> positive;  // per label
};

void Collect(void* ctx, uint32_t bucket, int word) {
  static_cast<std::vector<std::pair<uint32_t, int>>*>(ctx)->emplace_back(bucket, word);
}

Prepared Prepare(const TextModelOptions& o, const TrainExample& ex,
                 const std::vector<std::string>& labels) {
  Prepared p;
  p.positive.assign(labels.size(), 0);
  for (const auto& l : ex.labels) {
    auto it = std::find(labels.begin(), labels.end(), l);
    if (it != labels.end()) p.positive[static_cast<size_t>(it - labels.begin())] = 1;
  }
  std::string norm = NormalizeForMatch(ex.text);
  std::vector<std::pair<uint32_t, int>> feats;
  ForEachTextFeature(o, norm, nullptr, &Collect, &feats);
  int words = norm.empty() ? 1 : static_cast<int>(std::count(norm.begin(), norm.end(), ' ')) + 1;
  // The same windows TextModel::ScoreNormalized scores.
  auto add = [&](int b, int e) {
    auto& w = p.windows.emplace_back();
    for (auto [bucket, word] : feats) {
      if (word >= b && word < e) w.push_back(bucket);
    }
  };
  if (words <= o.window) {
    add(0, words);
  } else {
    int stride = std::max(1, o.window / 2);
    for (int b = 0;; b += stride) {
      if (b + o.window >= words) {
        add(words - o.window, words);
        break;
      }
      add(b, b + o.window);
    }
  }
  return p;
}

struct Trainer {
  const TrainOptions& opt;
  size_t k;
  std::vector<float> w, g;          // bucket-major weights and AdaGrad sums
  std::vector<float> bias, bias_g;  // per label
  std::vector<double> pos_weight;   // per label

  float Z(const std::vector<uint32_t>& feats, size_t l) const {
    float z = bias[l];
    for (uint32_t b : feats) z += w[static_cast<size_t>(b) * k + l];
    return z;
  }

  // One logistic step for label l on one window; returns the log loss.
  double Step(const std::vector<uint32_t>& feats, size_t l, bool y) {
    float z = Z(feats, l);
    float p = 1.0f / (1.0f + std::exp(-z));
    double cw = y ? pos_weight[l] : 1.0;
    float grad = static_cast<float>((p - (y ? 1.0f : 0.0f)) * cw);
    float lr = static_cast<float>(opt.learning_rate);
    bias_g[l] += grad * grad;
    bias[l] -= lr * grad / std::sqrt(bias_g[l] + 1e-8f);
    for (uint32_t b : feats) {
      size_t i = static_cast<size_t>(b) * k + l;
      float gi = grad + static_cast<float>(opt.l2) * w[i];
      g[i] += gi * gi;
      w[i] -= lr * gi / std::sqrt(g[i] + 1e-8f);
    }
    double q = y ? p : 1 - p;
    return -cw * std::log(std::max(1e-7, q));
  }
};

}  // namespace

Status TrainTextModel(const std::vector<TrainExample>& examples, const TrainOptions& options,
                      std::shared_ptr<const TextModel>* out) {
  if (examples.empty()) return Status::InvalidArgument("no training examples");
  const TextModelOptions& mo = options.model;
  if (mo.bits < 8 || mo.bits > 24) return Status::InvalidArgument("bits must be 8 to 24");
  if (mo.window < 4) return Status::InvalidArgument("window must be at least 4 words");
  std::vector<std::string> labels = options.labels;
  if (labels.empty()) {
    std::set<std::string> seen;
    for (const auto& ex : examples) {
      for (const auto& l : ex.labels) {
        if (!IsBenign(l)) seen.insert(l);
      }
    }
    labels.assign(seen.begin(), seen.end());
  }
  if (labels.empty()) return Status::InvalidArgument("no labels: every example is benign");
  for (const auto& l : labels) {
    if (IsBenign(l) || l.find_first_of(" \t\n") != std::string::npos) {
      return Status::InvalidArgument("bad label '" + l + "'");
    }
  }
  const size_t k = labels.size();
  std::vector<Prepared> data;
  data.reserve(examples.size());
  for (const auto& ex : examples) data.push_back(Prepare(mo, ex, labels));

  Trainer t{options, k, {}, {}, {}, {}, {}};
  size_t cells = (size_t{1} << mo.bits) * k;
  t.w.assign(cells, 0.0f);
  t.g.assign(cells, 0.0f);
  t.bias.assign(k, 0.0f);
  t.bias_g.assign(k, 0.0f);
  t.pos_weight.assign(k, 1.0);
  for (size_t l = 0; l < k; ++l) {
    size_t pos = 0;
    for (const auto& p : data) pos += p.positive[l];
    if (pos == 0) return Status::InvalidArgument("label '" + labels[l] + "' has no examples");
    double auto_w = std::min(20.0, double(data.size() - pos) / double(pos));
    t.pos_weight[l] = options.positive_weight > 0 ? options.positive_weight : std::max(1.0, auto_w);
  }

  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(options.seed);
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss = 0;
    size_t steps = 0;
    for (size_t idx : order) {
      const Prepared& p = data[idx];
      for (size_t l = 0; l < k; ++l) {
        if (p.positive[l]) {
          // Only the window that looks most like the label is a positive:
          // the rest of a long document may well be harmless.
          size_t best = 0;
          float best_z = -1e30f;
          for (size_t wi = 0; wi < p.windows.size(); ++wi) {
            float z = t.Z(p.windows[wi], l);
            if (z > best_z) best_z = z, best = wi;
          }
          loss += t.Step(p.windows[best], l, true);
          ++steps;
        } else {
          for (const auto& win : p.windows) {
            loss += t.Step(win, l, false);
            ++steps;
          }
        }
      }
    }
    if (options.progress) options.progress(epoch, steps ? loss / double(steps) : 0);
  }
  for (auto& x : t.w) {
    if (std::fabs(x) < options.prune) x = 0;
  }
  *out = std::make_shared<TextModel>(mo, std::move(labels), std::move(t.bias), std::move(t.w));
  return Status::Ok();
}

namespace {
bool Carries(const TrainExample& ex, const std::string& label) {
  return std::find(ex.labels.begin(), ex.labels.end(), label) != ex.labels.end();
}
}  // namespace

std::vector<LabelEvaluation> EvaluateTextModel(const TextModel& model,
                                               const std::vector<TrainExample>& examples,
                                               const std::vector<float>& thresholds) {
  const auto& labels = model.labels();
  std::vector<LabelEvaluation> out(labels.size());
  for (size_t l = 0; l < labels.size(); ++l) {
    out[l].label = labels[l];
    out[l].threshold = l < thresholds.size() ? thresholds[l] : 0.5;
  }
  TextModelScratch scratch;
  std::vector<float> scores;
  for (const auto& ex : examples) {
    model.Score(ex.text, &scratch, &scores);
    for (size_t l = 0; l < labels.size(); ++l) {
      bool hit = scores[l] >= out[l].threshold;
      if (Carries(ex, labels[l])) {
        ++out[l].positives;
        out[l].true_positives += hit;
      } else {
        ++out[l].negatives;
        out[l].false_positives += hit;
      }
    }
  }
  return out;
}

float ThresholdForFalsePositiveRate(const TextModel& model,
                                    const std::vector<TrainExample>& examples, int label,
                                    double max_fpr) {
  std::vector<float> neg;
  TextModelScratch scratch;
  std::vector<float> scores;
  const std::string& name = model.labels()[static_cast<size_t>(label)];
  for (const auto& ex : examples) {
    if (Carries(ex, name)) continue;
    model.Score(ex.text, &scratch, &scores);
    neg.push_back(scores[static_cast<size_t>(label)]);
  }
  if (neg.empty()) return 0.5f;
  std::sort(neg.begin(), neg.end(), std::greater<float>());
  // At most `allowed` negatives may score at or above the threshold.
  size_t allowed = static_cast<size_t>(std::floor(max_fpr * double(neg.size())));
  if (allowed >= neg.size()) return 0.0f;
  return std::nextafter(neg[allowed], 2.0f);
}

}  // namespace tosgate::engine
