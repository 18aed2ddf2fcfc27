// Training a TextModel: one-vs-rest logistic regression over the hashed
// features, by AdaGrad with L2, examples shuffled per epoch (seeded: the same
// corpus and options give the same model). Pure: no I/O (the `tosgate train`
// command reads the JSONL and writes the file).
//
// An example has a text and the labels it carries; a label of the model an
// example does not carry is a negative for it. An example with no label
// (label "benign", "none" or "") is a negative for every label.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/textmodel/text_model.h"

namespace tosgate::engine {

struct TrainExample {
  std::string text;
  std::vector<std::string> labels;
};

struct TrainOptions {
  TextModelOptions model;
  int epochs = 8;
  double learning_rate = 0.2;
  double l2 = 1e-6;
  // Positives of a label weigh `positive_weight` times a negative (class
  // imbalance); 0: balance automatically (negatives / positives, at most 20).
  double positive_weight = 0;
  // Weights below this in magnitude are dropped from the model (smaller file).
  double prune = 1e-3;
  uint64_t seed = 1;
  // Labels of the model, in order; empty: every label seen, sorted.
  std::vector<std::string> labels;
  // Called after each epoch with (epoch, mean log loss), for progress.
  std::function<void(int, double)> progress;
};

// Builds the model. InvalidArgument when there are no examples or no labels.
Status TrainTextModel(const std::vector<TrainExample>& examples, const TrainOptions& options,
                      std::shared_ptr<const TextModel>* out);

// Per-label figures of a model on labelled examples at given thresholds.
struct LabelEvaluation {
  std::string label;
  double threshold = 0.5;
  int positives = 0, true_positives = 0;  // examples carrying the label, caught
  int negatives = 0, false_positives = 0;  // examples not carrying it, flagged
  double recall() const { return positives ? double(true_positives) / positives : 0; }
  double false_positive_rate() const { return negatives ? double(false_positives) / negatives : 0; }
};

// thresholds: per label (model order); empty means 0.5 for all.
std::vector<LabelEvaluation> EvaluateTextModel(const TextModel& model,
                                               const std::vector<TrainExample>& examples,
                                               const std::vector<float>& thresholds);

// The lowest threshold for `label` at which at most `max_fpr` of the benign
// examples (no label) score at or above it, for picking thresholds on a dev
// split. Examples of other labels do not count: a prompt of one prohibited
// category scored high for another is still caught.
float ThresholdForFalsePositiveRate(const TextModel& model,
                                    const std::vector<TrainExample>& examples, int label,
                                    double max_fpr);

}  // namespace tosgate::engine
