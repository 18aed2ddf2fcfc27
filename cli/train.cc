// `tosgate train` and `tosgate eval --model`: build a text model from
// labelled JSONL and measure one on another labelled file.
// docs/text-models.md describes the corpus format and the protocol.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/textmodel/train.h"

namespace tosgate::cli {
namespace {

using engine::TrainExample;

// One object per line: {"text": ..., "label": "x"} or {"labels": [...]}.
bool ReadCorpus(const std::string& path, std::vector<TrainExample>* out) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "tosgate: " << path << ": cannot read\n";
    return false;
  }
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      std::cerr << "tosgate: " << path << ":" << n << ": expected {\"text\": \"...\", \"label\": \"...\"}\n";
      return false;
    }
    TrainExample ex;
    ex.text = j["text"].get<std::string>();
    if (j.contains("label")) {
      if (!j["label"].is_string()) {
        std::cerr << "tosgate: " << path << ":" << n << ": label must be a string\n";
        return false;
      }
      ex.labels.push_back(j["label"].get<std::string>());
    }
    if (j.contains("labels")) {
      if (!j["labels"].is_array()) {
        std::cerr << "tosgate: " << path << ":" << n << ": labels must be an array of strings\n";
        return false;
      }
      for (const auto& l : j["labels"]) {
        if (!l.is_string()) {
          std::cerr << "tosgate: " << path << ":" << n << ": labels must be an array of strings\n";
          return false;
        }
        ex.labels.push_back(l.get<std::string>());
      }
    }
    out->push_back(std::move(ex));
  }
  return true;
}

// "--data a --data b": every value of a repeated flag.
bool TakeAll(Args* args, const std::string& name, std::vector<std::string>* values, bool* bad) {
  std::string v;
  while (TakeFlag(args, name, &v, bad)) values->push_back(v);
  return !values->empty();
}

bool ParseInt(const std::string& s, int* out) {
  try {
    size_t used = 0;
    *out = std::stoi(s, &used);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

bool ParseDouble(const std::string& s, double* out) {
  try {
    size_t used = 0;
    *out = std::stod(s, &used);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void PrintTable(const std::vector<engine::LabelEvaluation>& ev) {
  std::printf("%-28s %9s %10s %8s %10s %8s %9s\n", "label", "threshold", "positives", "recall",
              "negatives", "fp rate", "precision");
  for (const auto& e : ev) {
    int flagged = e.true_positives + e.false_positives;
    std::printf("%-28s %9.4f %10d %7.1f%% %10d %7.2f%% %8.1f%%\n", e.label.c_str(), e.threshold,
                e.positives, 100 * e.recall(), e.negatives, 100 * e.false_positive_rate(),
                flagged ? 100.0 * e.true_positives / flagged : 0.0);
  }
}

constexpr char kTrainUsage[] =
    "usage: tosgate train --data FILE.jsonl [--data MORE.jsonl] --out MODEL [--labels a,b,...]\n"
    "                     [--bits 18] [--window 64] [--features words,bigrams,chars|edges] [--epochs 8]\n"
    "                     [--seed 1] [--learning-rate 0.2] [--l2 1e-6] [--positive-weight W]\n"
    "                     [--dev DEV.jsonl [--max-fpr 0.005]]\n";

}  // namespace

int RunTrain(const Args& in) {
  Args args = in;
  bool bad = false;
  std::vector<std::string> data;
  std::string out_path, labels, v, dev_path;
  engine::TrainOptions opt;
  double max_fpr = 0.005;
  TakeAll(&args, "--data", &data, &bad);
  TakeFlag(&args, "--out", &out_path, &bad);
  if (TakeFlag(&args, "--labels", &labels, &bad)) opt.labels = SplitComma(labels);
  if (TakeFlag(&args, "--bits", &v, &bad) && !ParseInt(v, &opt.model.bits)) bad = true;
  if (TakeFlag(&args, "--window", &v, &bad) && !ParseInt(v, &opt.model.window)) bad = true;
  if (TakeFlag(&args, "--features", &v, &bad)) {
    opt.model.words = opt.model.bigrams = opt.model.chars = false;
    for (const auto& f : SplitComma(v)) {
      if (f == "words") opt.model.words = true;
      else if (f == "bigrams") opt.model.bigrams = true;
      else if (f == "chars") opt.model.chars = true;
      else if (f == "edges") opt.model.chars = opt.model.char_edges = true;
      else bad = true;
    }
  }
  if (TakeFlag(&args, "--epochs", &v, &bad) && (!ParseInt(v, &opt.epochs) || opt.epochs < 1)) bad = true;
  int seed = 1;
  if (TakeFlag(&args, "--seed", &v, &bad) && !ParseInt(v, &seed)) bad = true;
  opt.seed = static_cast<uint64_t>(seed);
  if (TakeFlag(&args, "--learning-rate", &v, &bad) && !ParseDouble(v, &opt.learning_rate)) bad = true;
  if (TakeFlag(&args, "--positive-weight", &v, &bad) && (!ParseDouble(v, &opt.positive_weight) || opt.positive_weight < 0)) bad = true;
  if (TakeFlag(&args, "--l2", &v, &bad) && (!ParseDouble(v, &opt.l2) || opt.l2 < 0)) bad = true;
  TakeFlag(&args, "--dev", &dev_path, &bad);
  if (TakeFlag(&args, "--max-fpr", &v, &bad) && (!ParseDouble(v, &max_fpr) || max_fpr < 0 || max_fpr >= 1)) bad = true;
  if (bad || !args.empty() || data.empty() || out_path.empty()) {
    for (const auto& a : args) std::cerr << "tosgate train: unexpected argument '" << a << "'\n";
    std::cerr << kTrainUsage;
    return 2;
  }
  std::vector<TrainExample> examples, dev;
  for (const auto& d : data) {
    if (!ReadCorpus(d, &examples)) return 2;
  }
  if (!dev_path.empty() && !ReadCorpus(dev_path, &dev)) return 2;
  std::cerr << "tosgate train: " << examples.size() << " examples, 2^" << opt.model.bits
            << " buckets, " << opt.epochs << " epochs\n";
  opt.progress = [&](int epoch, double loss) {
    std::cerr << "  epoch " << epoch << "/" << opt.epochs << ": mean log loss " << loss << "\n";
  };
  std::shared_ptr<const engine::TextModel> model;
  if (Status s = engine::TrainTextModel(examples, opt, &model); !s.ok()) {
    std::cerr << "tosgate train: " << s.message() << "\n";
    return 2;
  }
  std::string text = model->Serialize();
  {
    std::string tmp = out_path + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
      std::cerr << "tosgate train: cannot write " << out_path << "\n";
      return 1;
    }
  }
  std::cerr << "tosgate train: wrote " << out_path << " (" << model->labels().size() << " labels, "
            << text.size() / 1024 << " KiB)\n";
  if (!dev.empty()) {
    std::vector<float> thresholds;
    for (size_t l = 0; l < model->labels().size(); ++l) {
      thresholds.push_back(engine::ThresholdForFalsePositiveRate(*model, dev, static_cast<int>(l), max_fpr));
    }
    std::printf("dev thresholds flagging at most %.3f%% of the benign examples:\n", 100 * max_fpr);
    PrintTable(engine::EvaluateTextModel(*model, dev, thresholds));
  }
  return 0;
}

int RunEvalModel(Args args) {
  bool bad = false;
  std::string model_path, v;
  std::vector<std::string> data, th;
  TakeFlag(&args, "--model", &model_path, &bad);
  TakeAll(&args, "--data", &data, &bad);
  TakeAll(&args, "--threshold", &th, &bad);
  double max_fpr = -1;
  if (TakeFlag(&args, "--max-fpr", &v, &bad) && (!ParseDouble(v, &max_fpr) || max_fpr < 0 || max_fpr >= 1)) bad = true;
  if (bad || !args.empty() || data.empty() || model_path.empty()) {
    for (const auto& a : args) std::cerr << "tosgate eval: unexpected argument '" << a << "'\n";
    std::cerr << "usage: tosgate eval --model MODEL --data FILE.jsonl [--threshold label=x ... | --max-fpr X]\n";
    return 2;
  }
  std::shared_ptr<const engine::TextModel> model;
  if (Status s = engine::TextModel::Load(model_path, &model); !s.ok()) {
    std::cerr << "tosgate eval: " << s.message() << "\n";
    return 2;
  }
  std::vector<float> thresholds(model->labels().size(), 0.5f);
  for (const auto& t : th) {
    size_t eq = t.find('=');
    double x = 0;
    int l = eq == std::string::npos ? -1 : model->LabelIndex(t.substr(0, eq));
    if (l < 0 || !ParseDouble(t.substr(eq + 1), &x)) {
      std::cerr << "tosgate eval: bad --threshold '" << t << "' (LABEL=VALUE, a label of the model)\n";
      return 2;
    }
    thresholds[static_cast<size_t>(l)] = static_cast<float>(x);
  }
  std::vector<TrainExample> examples;
  for (const auto& d : data) {
    if (!ReadCorpus(d, &examples)) return 2;
  }
  if (max_fpr >= 0) {
    // Thresholds picked on this file: at most max_fpr of its benign examples flagged.
    for (size_t l = 0; l < thresholds.size(); ++l) {
      thresholds[l] = engine::ThresholdForFalsePositiveRate(*model, examples, static_cast<int>(l), max_fpr);
    }
  }
  PrintTable(engine::EvaluateTextModel(*model, examples, thresholds));
  return 0;
}

int RunEval(const Args& args) {
  // Other modes (--policies) dispatch from here.
  for (const std::string& a : args)
    if (a == "--policies" || a.rfind("--policies=", 0) == 0) return RunEvalPolicies(args);
  return RunEvalModel(args);
}

}  // namespace tosgate::cli
