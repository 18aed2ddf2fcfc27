#include "policies/context.h"

#include <charconv>
#include <cmath>

#include "policies/duration.h"

namespace tosgate::policies {
namespace {

Field Child(const YAML::Node& value, std::string path, const YAML::Mark& key_mark) {
  // An empty value's own mark points at the next line; its key is where the
  // author looks.
  return Field{value, std::move(path), value.IsNull() ? key_mark : value.Mark()};
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

}  // namespace

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  if (!key.empty() && key.front() == '[') return std::string(parent) + std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: {
      std::string s = node.Scalar();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      return "\"" + s + "\"";
    }
    default: return "nothing";
  }
}

bool IsQuoted(const YAML::Node& node) {
  // yaml-cpp tags plain scalars "?", quoted ones "!" (non-specific).
  return node.IsScalar() && (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str");
}

bool ScalarBool(const YAML::Node& node, bool* out) {
  if (!node.IsScalar() || IsQuoted(node)) return false;
  const std::string& s = node.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return *out = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *out = false, true;
  return false;
}

bool ScalarNumber(const YAML::Node& node, double* out) {
  if (!node.IsScalar() || IsQuoted(node)) return false;
  const std::string& s = node.Scalar();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty() && std::isfinite(*out);
}

std::string Context::Where(const YAML::Mark& mark) const {
  return file_ + ":" + std::to_string(mark.line >= 0 ? mark.line + 1 : 0);
}

void Context::Error(const YAML::Mark& at, std::string key, std::string message) {
  Diagnostic d;
  d.file = file_;
  if (at.line >= 0) {
    d.line = at.line + 1;
    d.column = at.column + 1;
  }
  d.key = std::move(key);
  d.message = std::move(message);
  errors_->push_back(std::move(d));
  ++error_count_;
}

bool Context::String(const Field& f, std::string* out) {
  if (!f.node.IsScalar()) {
    Error(f, "expected a string, got " + Describe(f.node));
    return false;
  }
  *out = f.node.Scalar();
  return true;
}

bool Context::Bool(const Field& f, bool* out) {
  if (ScalarBool(f.node, out)) return true;
  Error(f, "expected true or false, got " + Describe(f.node));
  return false;
}

bool Context::Int(const Field& f, int64_t* out) {
  if (f.node.IsScalar() && !IsQuoted(f.node)) {
    const std::string& s = f.node.Scalar();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (ec == std::errc::result_out_of_range) {
      Error(f, "number " + s + " is too large");
      return false;
    }
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return true;
  }
  Error(f, "expected a whole number, got " + Describe(f.node));
  return false;
}

bool Context::Number(const Field& f, double* out) {
  if (ScalarNumber(f.node, out)) return true;
  Error(f, "expected a number, got " + Describe(f.node));
  return false;
}

bool Context::Duration(const Field& f, int64_t* ns) {
  if (!f.node.IsScalar()) {
    Error(f, "expected a duration such as 30s, got " + Describe(f.node));
    return false;
  }
  Result<int64_t> d = ParseDuration(f.node.Scalar());
  if (!d.ok()) {
    Error(f, d.status().message());
    return false;
  }
  *ns = *d;
  return true;
}

bool Context::Enum(const Field& f, std::initializer_list<std::string_view> names, size_t* index) {
  std::string allowed;
  size_t i = 0;
  for (std::string_view n : names) {
    allowed += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(n);
    ++i;
  }
  if (f.node.IsScalar()) {
    i = 0;
    for (std::string_view n : names) {
      if (f.node.Scalar() == n) return *index = i, true;
      ++i;
    }
  }
  Error(f, "expected " + allowed + ", got " + Describe(f.node));
  return false;
}

bool Context::Sequence(const Field& f, std::vector<Field>* items) {
  if (!f.node.IsSequence()) {
    Error(f, "expected a list, got " + Describe(f.node));
    return false;
  }
  items->clear();
  size_t i = 0;
  for (const YAML::Node& item : f.node) {
    items->push_back(Child(item, f.path + "[" + std::to_string(i) + "]", f.mark));
    ++i;
  }
  return true;
}

bool Context::StringList(const Field& f, std::vector<std::string>* out) {
  std::vector<Field> items;
  if (!Sequence(f, &items)) return false;
  bool ok = true;
  out->clear();
  for (const Field& item : items) {
    std::string s;
    if (String(item, &s)) {
      out->push_back(std::move(s));
    } else {
      ok = false;
    }
  }
  return ok;
}

MapReader::MapReader(Context& ctx, const Field& map) : ctx_(ctx), map_(map) {
  if (!map.node.IsMap()) {
    ctx_.Error(map, "expected a map, got " + Describe(map.node));
    return;
  }
  ok_ = true;
  for (const auto& kv : map.node) {
    const YAML::Node key = kv.first;
    if (!key.IsScalar()) {
      ctx_.Error(key.Mark(), map.path, "a key must be text, got " + Describe(key));
      continue;
    }
    std::string name = key.Scalar();
    std::string path = JoinPath(map.path, name);
    if (Slot* first = Find(name)) {
      ctx_.Error(key.Mark(), path,
                 "duplicate key; first written at line " +
                     std::to_string(first->entry.key_mark.line + 1));
      continue;
    }
    entries_.push_back(Slot{Entry{name, key.Mark(), Child(kv.second, path, key.Mark())}});
  }
}

MapReader::Slot* MapReader::Find(std::string_view key) {
  for (Slot& s : entries_)
    if (s.entry.key == key) return &s;
  return nullptr;
}

void MapReader::Expect(std::string_view key) {
  for (const std::string& k : expected_)
    if (k == key) return;
  expected_.emplace_back(key);
}

std::optional<Field> MapReader::Take(std::string_view key) {
  Expect(key);
  Slot* s = Find(key);
  if (!s) return std::nullopt;
  s->used = true;
  return s->entry.value;
}

std::optional<MapReader::Entry> MapReader::TakeEntry(std::string_view key) {
  Expect(key);
  Slot* s = Find(key);
  if (!s) return std::nullopt;
  s->used = true;
  return s->entry;
}

std::optional<Field> MapReader::Require(std::string_view key) {
  std::optional<Field> f = Take(key);
  if (!f && ok_) ctx_.Error(map_.mark, JoinPath(map_.path, key), "required key is missing");
  return f;
}

std::optional<Field> MapReader::Peek(std::string_view key) {
  Expect(key);
  Slot* s = Find(key);
  if (!s) return std::nullopt;
  return s->entry.value;
}

std::vector<MapReader::Entry> MapReader::TakeAll() {
  std::vector<Entry> out;
  for (Slot& s : entries_) {
    s.used = true;
    out.push_back(s.entry);
  }
  return out;
}

void MapReader::RejectUnknown() {
  for (const Slot& s : entries_) {
    if (s.used) continue;
    std::string message = "unknown key";
    if (!expected_.empty()) message += "; expected one of: " + JoinList(expected_);
    ctx_.Error(s.entry.key_mark, JoinPath(map_.path, s.entry.key), std::move(message));
  }
}

}  // namespace tosgate::policies
