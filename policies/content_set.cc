#include "policies/content_set.h"

#include "engine/normalize.h"

namespace tosgate::policies {

void ContentSet::Error(const Source& at, std::string message) {
  Diagnostic d;
  d.file = at.file;
  d.line = at.line;
  d.column = at.column;
  d.key = at.key;
  d.message = std::move(message);
  errors_->push_back(std::move(d));
}

bool ContentSet::AddList(std::string name, std::string file, std::string_view written,
                         std::string_view content, bool words, const Source& where_defined) {
  List list;
  list.file = file;
  list.words = words;
  bool ok = true;
  int line = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    std::string_view text = content.substr(pos, nl - pos);
    pos = nl + 1;
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos || text[first] == '#') continue;
    text = text.substr(first, text.find_last_not_of(" \t") - first + 1);
    if (engine::NormalizeForMatch(text).empty()) {
      Error({file, line, static_cast<int>(first) + 1, ""},
            "list entry \"" + std::string(text) +
                "\" is empty once normalized (no letters or digits); it would match everything");
      ok = false;
      continue;
    }
    list.entries.emplace_back(line, std::string(text));
  }
  if (ok && list.entries.empty()) {
    Error(where_defined, "list file \"" + std::string(written) +
                             "\" has no entries (one phrase per line; '#' starts a comment)");
    ok = false;
  }
  lists_.emplace(std::move(name), std::move(list));
  return ok;
}

const ContentSet::List* ContentSet::FindList(std::string_view name) const {
  auto it = lists_.find(name);
  return it == lists_.end() ? nullptr : &it->second;
}

std::shared_ptr<const engine::TextModel> ContentSet::Model(const std::string& policy_file,
                                                           const std::string& written,
                                                           std::string* why) {
  const auto key = std::make_pair(policy_file, written);
  if (auto it = models_.find(key); it != models_.end()) {
    if (!it->second) *why = model_errors_[key];
    return it->second;
  }
  std::shared_ptr<const engine::TextModel> model;
  std::string name, content, error;
  if (written.empty() || !read_ || !read_(policy_file, written, &name, &content, &error)) {
    *why = error == "not found" || written.empty() || !read_
               ? "model file \"" + written + "\" not found (paths are relative to this file)"
               : "model file \"" + written + "\" cannot be read: " + error;
  } else if (Status s = engine::TextModel::Parse(content, name, &model); !s.ok()) {
    *why = "model file \"" + written + "\" is not a text model: " + s.message();
    model.reset();
  }
  if (!model) model_errors_[key] = *why;
  models_.emplace(key, model);
  return model;
}

std::shared_ptr<const engine::ContentIndex> ContentSet::AddPatterns(
    const std::vector<engine::ContentPattern>& patterns, std::vector<Source> sources,
    uint32_t* first) {
  if (!index_) index_ = std::make_shared<engine::ContentIndex>();
  *first = index_->Add(patterns);
  for (Source& s : sources) sources_.push_back(std::move(s));
  return index_;
}

bool ContentSet::Finish() {
  if (!index_) return true;
  std::string why;
  size_t bad = 0;
  if (index_->Build(&why, &bad)) return true;
  if (bad < sources_.size()) {
    Error(sources_[bad], "pattern \"" + index_->patterns()[bad].id +
                             "\" is rejected by Hyperscan: " + why);
  } else {
    Error(sources_.empty() ? Source{} : sources_.front(),
          "the content patterns of this policy set do not compile into one Hyperscan database: " +
              why);
  }
  return false;
}

}  // namespace tosgate::policies
