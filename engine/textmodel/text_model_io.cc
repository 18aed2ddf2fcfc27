// The text model's file format (docs/text-models.md): Serialize, Parse and
// Load. Parsing is in the load path of every policy set that uses a model
// (the prohibited-use pack's is 40,000 lines of 13 weights), so it reads
// the text in place with std::from_chars: no stream and no allocation per
// line. It reads what the former istringstream parser read, item by item
// (whitespace skipped before each item, an item ending where its syntax
// ends), with the same messages.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/textmodel/text_model.h"

namespace tosgate::engine {
namespace {

// What operator>> skips: the C locale's white space but the newline, which
// ends the line before it gets here.
constexpr bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// One line, read item by item as an istringstream with >> reads it.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : p_(line.data()), end_(line.data() + line.size()) {}

  // The next run of non-space bytes; false at the end of the line.
  bool Word(std::string_view* w) {
    SkipSpace();
    const char* b = p_;
    while (p_ < end_ && !IsSpace(*p_)) ++p_;
    *w = std::string_view(b, static_cast<size_t>(p_ - b));
    return p_ != b;
  }

  // A finite decimal float (operator>> takes a leading '+' and refuses
  // "inf" and "nan"; from_chars the reverse). Subnormal values are read
  // (from_chars may call them out of range: strtof on a copy decides), an
  // overflow is refused, as operator>> refuses it.
  bool Float(float* v) {
    SkipPlus();
    auto [ptr, ec] = std::from_chars(p_, end_, *v, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) {
      char buf[64];
      const size_t n = static_cast<size_t>(ptr - p_);
      if (n >= sizeof buf) return false;
      std::memcpy(buf, p_, n);
      buf[n] = '\0';
      *v = std::strtof(buf, nullptr);
    } else if (ec != std::errc()) {
      return false;
    }
    if (!std::isfinite(*v)) return false;
    p_ = ptr;
    return true;
  }

  // A decimal integer that fits T.
  template <typename T>
  bool Int(T* v) {
    SkipPlus();
    auto [ptr, ec] = std::from_chars(p_, end_, *v);
    if (ec != std::errc()) return false;
    p_ = ptr;
    return true;
  }

  // Whether only white space is left.
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }

 private:
  void SkipSpace() {
    while (p_ < end_ && IsSpace(*p_)) ++p_;
  }
  void SkipPlus() {
    SkipSpace();
    if (p_ + 1 < end_ && *p_ == '+' && p_[1] != '-' && p_[1] != '+') ++p_;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

std::string TextModel::Serialize() const {
  std::ostringstream o;
  const size_t k = labels_.size();
  o << "tosgate-text-model 1\n";
  o << "bits " << options_.bits << "\n";
  o << "window " << options_.window << "\n";
  o << "features";
  if (options_.words) o << " words";
  if (options_.bigrams) o << " bigrams";
  if (options_.chars) o << (options_.char_edges ? " edges" : " chars");
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
    const std::string_view line = content.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    LineReader in(line);
    if (line_no == 1) {
      if (line != "tosgate-text-model 1") return fail("not a tosgate text model (expected 'tosgate-text-model 1')");
      continue;
    }
    if (line[0] >= '0' && line[0] <= '9') {
      if (!have_bits || !have_labels || !have_bias) return fail("weights before bits, labels and bias");
      const size_t k = labels.size();
      if (weights.empty()) weights.assign((size_t{1} << o.bits) * k, 0.0f);
      uint64_t bucket;
      if (!in.Int(&bucket) || bucket >= (uint64_t{1} << o.bits)) return fail("bad bucket number");
      float* w = weights.data() + bucket * k;
      for (size_t l = 0; l < k; ++l) {
        if (!in.Float(&w[l])) return fail("expected " + std::to_string(k) + " weights");
      }
      if (!in.AtEnd()) return fail("more weights than labels");
      continue;
    }
    std::string_view key;
    in.Word(&key);
    if (key == "bits") {
      if (!in.Int(&o.bits) || o.bits < 8 || o.bits > 24) return fail("bits must be 8 to 24");
      have_bits = true;
    } else if (key == "window") {
      if (!in.Int(&o.window) || o.window < 4 || o.window > 4096) return fail("window must be 4 to 4096");
    } else if (key == "features") {
      std::string_view f;
      while (in.Word(&f)) {
        if (f == "words") o.words = true;
        else if (f == "bigrams") o.bigrams = true;
        else if (f == "chars") o.chars = true;
        else if (f == "edges") o.chars = o.char_edges = true;
        else return fail("unknown feature '" + std::string(f) + "' (words, bigrams, chars, edges)");
      }
    } else if (key == "labels") {
      std::string_view l;
      while (in.Word(&l)) labels.emplace_back(l);
      if (labels.empty()) return fail("no labels");
      have_labels = true;
    } else if (key == "bias") {
      float b;
      while (in.Float(&b)) bias.push_back(b);
      if (bias.size() != labels.size()) return fail("bias needs one value per label");
      have_bias = true;
    } else {
      return fail("unknown line '" + std::string(key) + "'");
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
  std::string content;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size > 0) {
    content.resize(static_cast<size_t>(size));
    in.seekg(0, std::ios::beg);
    in.read(content.data(), size);
    content.resize(static_cast<size_t>(in.gcount()));
  }
  return Parse(content, path, out);
}

}  // namespace tosgate::engine
