#include "policies/imports.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "policies/context.h"

namespace tosgate::policies {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool Hidden(const fs::path& p) {
  for (const fs::path& part : p) {
    const std::string s = part.string();
    if (s.size() > 1 && s.front() == '.' && s != "..") return true;
  }
  return false;
}

class Disk : public FileStore {
 public:
  std::string Resolve(const std::string& from, const std::string& relative) const override {
    const std::string joined = (fs::path(from).parent_path() / relative).string();
    // "dir/../shared.yaml" reads better as "shared.yaml"; a plain join stays as it was.
    return relative.find("..") == std::string::npos && relative.find("./") == std::string::npos
               ? joined
               : fs::path(joined).lexically_normal().string();
  }
  bool Read(const std::string& name, std::string* content, std::string* why) const override {
    std::error_code e;
    if (!fs::is_regular_file(name, e)) {
      *why = "not found";
      return false;
    }
    // stdio, because an iostream hides read errors.
    std::FILE* in = std::fopen(name.c_str(), "rb");
    if (!in) {
      *why = std::strerror(errno);
      return false;
    }
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) content->append(buf, n);
    const bool failed = std::ferror(in);
    const int err = errno;
    std::fclose(in);
    if (failed) *why = std::strerror(err);
    return !failed;
  }
  bool IsDirectory(const std::string& name) const override {
    std::error_code e;
    return fs::is_directory(name, e);
  }
  std::vector<std::string> List(const std::string& name, bool tests) const override {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(name, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string base = it->path().filename().string();
      if (!base.empty() && base.front() == '.') {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      if (tests ? IsTestFileName(base) : IsPolicyFileName(base)) out.push_back(it->path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string Key(const std::string& name) const override {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(name, ec);
    return ec ? fs::absolute(name, ec).lexically_normal().string() : p.string();
  }
};

class Memory : public FileStore {
 public:
  Memory(std::string prefix, const std::vector<std::pair<std::string, std::string>>& files)
      : prefix_(std::move(prefix)) {
    for (const auto& [name, content] : files)
      files_.emplace(fs::path(name).lexically_normal().generic_string(), content);
  }
  std::string Resolve(const std::string& from, const std::string& relative) const override {
    std::string inner = from.substr(std::min(from.size(), prefix_.size()));
    std::string out = (fs::path(inner).parent_path() / relative).lexically_normal().generic_string();
    if (out.empty() || out == "." ) return prefix_ + ".";
    if (out == ".." || out.rfind("../", 0) == 0 || out.front() == '/') return "";
    if (out.back() == '/') out.pop_back();
    return prefix_ + out;
  }
  bool Read(const std::string& name, std::string* content, std::string* why) const override {
    auto it = name.rfind(prefix_, 0) == 0 ? files_.find(name.substr(prefix_.size())) : files_.end();
    if (it == files_.end()) {
      *why = "not found";
      return false;
    }
    *content = it->second;
    return true;
  }
  bool IsDirectory(const std::string& name) const override {
    if (name.rfind(prefix_, 0) != 0) return false;
    const std::string dir = Dir(name);
    for (const auto& [n, c] : files_)
      if (n.rfind(dir, 0) == 0) return true;
    return false;
  }
  std::vector<std::string> List(const std::string& name, bool tests) const override {
    std::vector<std::string> out;
    if (name.rfind(prefix_, 0) != 0) return out;
    const std::string dir = Dir(name);
    for (const auto& [n, c] : files_) {
      if (n.rfind(dir, 0) != 0 || Hidden(fs::path(n.substr(dir.size())))) continue;
      if (tests ? IsTestFileName(n) : IsPolicyFileName(n)) out.push_back(prefix_ + n);
    }
    return out;  // the map is sorted
  }
  std::string Key(const std::string& name) const override {
    if (!prefix_.empty()) return name;  // Resolve normalized it
    std::string n = fs::path(name).lexically_normal().generic_string();
    if (!n.empty() && n.back() == '/') n.pop_back();
    return "memory:" + (n.empty() ? "." : n);
  }

 private:
  // "pack:x/lists" -> "lists/"; the root ("pack:x/.") -> "".
  std::string Dir(const std::string& name) const {
    std::string inner = name.substr(prefix_.size());
    return inner.empty() || inner == "." ? "" : inner + "/";
  }
  std::string prefix_;
  std::map<std::string, std::string, std::less<>> files_;
};

// Records where each document's root node starts (where the document
// starts when it has none) and ignores the rest.
struct DocumentStarts : YAML::EventHandler {
  std::vector<YAML::Mark> marks;
  bool want_root = false;
  void Node(const YAML::Mark& mark) {
    if (want_root) marks.back() = mark;
    want_root = false;
  }
  void OnDocumentStart(const YAML::Mark& mark) override {
    marks.push_back(mark);
    want_root = true;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(m);
  }
  void OnMapEnd() override {}
};

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// The chain of imports from the set down to `unit`, as labels.
std::string Chain(const ImportState& s, int unit) {
  std::vector<std::string> labels;
  for (int u = unit; u > 0; u = s.units[static_cast<size_t>(u)].parent)
    labels.push_back(s.units[static_cast<size_t>(u)].label);
  std::string out = s.units[0].label;
  for (auto it = labels.rbegin(); it != labels.rend(); ++it) out += " -> " + *it;
  return out;
}

// Adds `names` of `store` as files of `unit`, parsed, skipping files already
// in the set; returns the indexes into state->parsed of those added.
std::vector<size_t> AddFiles(ImportState* s, int unit, const FileStore* store,
                             const std::vector<std::string>& names, std::vector<Diagnostic>* errors) {
  std::vector<size_t> added;
  for (const std::string& name : names) {
    const std::string key = store->Key(name);
    s->units[static_cast<size_t>(unit)].file_keys.insert(key);
    if (!s->loaded_file_keys.insert(key).second) continue;
    SourceFile f;
    f.name = name;
    f.relative = "\x02" + s->units[static_cast<size_t>(unit)].key + "\x02" + name;
    f.store = store;
    f.unit = unit;
    std::string why;
    if (!store->Read(name, &f.content, &why)) {
      errors->push_back({name, 0, 0, "", "cannot read file: " + why});
      continue;
    }
    s->files.push_back(std::move(f));
    YAML::Node root;
    if (ParseFile(s->files.back(), errors, &root)) {
      s->parsed.push_back({&s->files.back(), root});
      added.push_back(s->parsed.size() - 1);
    }
  }
  return added;
}

// One entry of `imports:`: the unit it names, loaded if new; -1 on an error
// (reported).
int ResolveImport(ImportState* s, Context& ctx, const SourceFile& from, const Field& item,
                  std::vector<size_t>* added, std::vector<Diagnostic>* errors) {
  MapReader entry(ctx, item);
  if (!entry.ok()) return -1;
  std::optional<Field> pack = entry.Take("pack");
  std::optional<Field> path = entry.Take("path");
  entry.RejectUnknown();
  if (pack.has_value() == path.has_value()) {
    ctx.Error(item, "an import takes either pack: NAME (a built-in pack) or path: FILE-OR-DIRECTORY");
    return -1;
  }
  std::string text;
  if (!ctx.String(pack ? *pack : *path, &text)) return -1;
  const Field& at = pack ? *pack : *path;

  std::string key, label, target;
  const FileStore* store = from.store;
  if (pack) {
    key = label = "pack:" + text;
  } else {
    target = text.empty() ? "" : from.store->Resolve(from.name, text);
    if (target.empty() || (!from.store->IsDirectory(target) && !IsPolicyFileName(target))) {
      ctx.Error(at, target.empty() ? "path \"" + text + "\" is outside the pack or empty"
                                   : "path \"" + text + "\" names no directory and no policy file "
                                     "(*.yaml, *.yml, not *.test.yaml)");
      return -1;
    }
    std::string why, content;
    if (!from.store->IsDirectory(target) && !from.store->Read(target, &content, &why)) {
      ctx.Error(at, "path \"" + text + "\" " +
                        (why == "not found" ? "not found (paths are relative to this file)"
                                            : "cannot be read: " + why));
      return -1;
    }
    key = from.store->Key(target);
    label = target;
  }

  // A cycle: the target is a unit on the chain that imported this file, or
  // holds one of that chain's files.
  // A file of the importing unit itself is already there.
  if (!pack && s->units[static_cast<size_t>(from.unit)].file_keys.contains(key)) return -1;
  for (int u = from.unit; u >= 0; u = s->units[static_cast<size_t>(u)].parent) {
    const ImportUnit& on_chain = s->units[static_cast<size_t>(u)];
    if (on_chain.key == key || (!pack && on_chain.file_keys.contains(key))) {
      ctx.Error(at, "import cycle: " + Chain(*s, from.unit) + " -> " + label +
                        ", which is already on the chain");
      return -1;
    }
  }
  if (auto it = s->unit_by_key.find(key); it != s->unit_by_key.end()) return it->second;

  PackFiles pack_files;
  if (pack) {
    if (!s->packs || !s->packs->Find(text, &pack_files)) {
      ctx.Error(at, "unknown pack \"" + text + "\"; the packs are: " +
                        (s->packs ? JoinNames(s->packs->Names()) : "none (this program has none)"));
      return -1;
    }
    s->stores.push_back(MemoryStore(key + "/", pack_files));
    store = s->stores.back().get();
    target = key + "/.";
  }
  std::vector<std::string> names =
      store->IsDirectory(target) ? store->List(target, false) : std::vector<std::string>{target};
  if (names.empty()) {
    ctx.Error(at, (pack ? "pack \"" : "directory \"") + text + "\" holds no policy file");
    return -1;
  }
  const int unit = static_cast<int>(s->units.size());
  ImportUnit u;
  u.key = key;
  u.label = label;
  u.parent = from.unit;
  u.store = store;
  if (store->IsDirectory(target)) u.test_files = store->List(target, true);
  s->units.push_back(std::move(u));
  s->unit_by_key.emplace(key, unit);
  *added = AddFiles(s, unit, store, names, errors);
  return unit;
}

}  // namespace

bool IsPolicyFileName(std::string_view name) {
  if (IsTestFileName(name)) return false;
  return EndsWith(name, ".yaml") || EndsWith(name, ".yml");
}

bool IsTestFileName(std::string_view name) {
  return EndsWith(name, ".test.yaml") || EndsWith(name, ".test.yml");
}

std::unique_ptr<FileStore> DiskStore() { return std::make_unique<Disk>(); }

std::unique_ptr<FileStore> MemoryStore(std::string prefix,
                                       const std::vector<std::pair<std::string, std::string>>& files) {
  return std::make_unique<Memory>(std::move(prefix), files);
}

bool ParseFile(const SourceFile& f, std::vector<Diagnostic>* errors, YAML::Node* root) {
  Context ctx(f.name, errors);
  try {
    // Not YAML::LoadAll: on a stray ',' outside any flow collection
    // yaml-cpp 0.7 yields an empty document without consuming the ',',
    // forever, until memory runs out (found by tests/fuzz). Load reads one
    // document; a second is looked for at most once.
    YAML::Node doc = YAML::Load(f.content);
    DocumentStarts starts;
    std::istringstream in(f.content);
    YAML::Parser parser(in);
    for (int i = 0; i < 2 && parser.HandleNextDocument(starts); ++i) {
    }
    if (starts.marks.size() > 1) {
      const size_t at = static_cast<size_t>(starts.marks[1].pos);
      const bool comma = at < f.content.size() && f.content[at] == ',';
      ctx.Error(starts.marks[1], "",
                comma ? "unexpected ',' outside [...] or {...}"
                      : "a policy file holds one YAML document; this is a second one");
      return false;
    }
    if (!doc || doc.IsNull()) return false;
    *root = doc;
    return true;
  } catch (const YAML::Exception& e) {
    ctx.Error(e.mark, "", e.msg);
  } catch (const std::exception& e) {
    ctx.Error(YAML::Mark::null_mark(), "", std::string("cannot parse: ") + e.what());
  }
  return false;
}

void ExpandImports(ImportState* s, size_t index, std::vector<Diagnostic>* errors) {
  const ParsedFile p = s->parsed[index];
  if (!p.root.IsMap()) return;
  for (const auto& kv : p.root) {
    if (!kv.first.IsScalar() || kv.first.Scalar() != "imports") continue;
    Context ctx(p.source->name, errors);
    std::vector<Field> items;
    const YAML::Node value = kv.second;
    std::vector<std::pair<int, std::vector<size_t>>> found;
    try {
      if (!ctx.Sequence(Field{value, "imports", value.IsNull() ? kv.first.Mark() : value.Mark()},
                        &items))
        return;
      for (const Field& item : items) {
        std::vector<size_t> added;
        const int unit = ResolveImport(s, ctx, *p.source, item, &added, errors);
        if (unit >= 0) found.emplace_back(unit, std::move(added));
      }
    } catch (const YAML::Exception& e) {
      ctx.Error(e.mark, "imports", "internal error while reading: " + e.msg);
    }
    for (auto& [unit, added] : found) {
      auto& edges = s->units[static_cast<size_t>(p.source->unit)].imports;
      if (std::find(edges.begin(), edges.end(), unit) == edges.end()) edges.push_back(unit);
      for (size_t i : added) ExpandImports(s, i, errors);
    }
    return;  // a second `imports:` key is reported as a duplicate by the document pass
  }
}

std::set<int> UnitClosure(const ImportState& s, int unit) {
  std::set<int> out;
  std::vector<int> todo{unit};
  while (!todo.empty()) {
    const int u = todo.back();
    todo.pop_back();
    if (!out.insert(u).second) continue;
    for (int next : s.units[static_cast<size_t>(u)].imports) todo.push_back(next);
  }
  return out;
}

}  // namespace tosgate::policies
