#include "policies/loader.h"

#include <openssl/evp.h>

#include <algorithm>
#include <deque>
#include <set>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "policies/content_set.h"
#include "policies/context.h"
#include "policies/document.h"
#include "policies/imports.h"

namespace tosgate::policies {
namespace {

namespace fs = std::filesystem;

Diagnostic WholeFile(std::string file, std::string message) {
  Diagnostic d;
  d.file = std::move(file);
  d.message = std::move(message);
  return d;
}

// The first 12 hex digits of SHA-256 over every file's relative name and
// content, length-prefixed so that no two different sets hash alike by
// shifting bytes between name and content. Independent of where the set lies
// on disk, so a directory and its in-memory copy share a revision.
std::string Revision(const std::vector<SourceFile>& files) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1;
  for (const SourceFile& f : files) {
    const std::string header =
        std::to_string(f.relative.size()) + ":" + f.relative + std::to_string(f.content.size()) + ":";
    ok = ok && EVP_DigestUpdate(md, header.data(), header.size()) == 1 &&
         EVP_DigestUpdate(md, f.content.data(), f.content.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(md, digest, &len) == 1;
  EVP_MD_CTX_free(md);
  if (!ok) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len && out.size() < 12; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// Runs one pass over one file; yaml-cpp throws from a few accessors, and an
// exception must not end the whole load.
template <typename Pass>
void Guarded(const ParsedFile& p, std::vector<Diagnostic>* errors, Pass pass) {
  Context ctx(p.source->name, errors);
  try {
    pass(ctx, p.root);
  } catch (const YAML::Exception& e) {
    ctx.Error(e.mark, "", "internal error while reading: " + e.msg);
  } catch (const std::exception& e) {
    ctx.Error(YAML::Mark::null_mark(), "", std::string("internal error while reading: ") + e.what());
  }
}

// Builds the set from its own files (`roots`, unit 0 of `state`) and
// everything they import.
LoadResult Compile(ImportState* state, const std::string& set_name, const LoadOptions& options) {
  LoadResult result;
  std::deque<SourceFile>& files = state->files;
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.relative < b.relative; });
  if (files.empty()) {
    result.errors.push_back(WholeFile(set_name, "no policy files (*.yaml, *.yml) found"));
    return result;
  }
  const size_t root_files = files.size();
  for (const SourceFile& f : files) state->units[0].file_keys.insert(f.store->Key(f.name));
  state->loaded_file_keys = state->units[0].file_keys;
  for (size_t i = 0; i < root_files; ++i) {
    YAML::Node root;
    if (ParseFile(files[i], &result.errors, &root)) state->parsed.push_back({&files[i], root});
  }
  // Imports, depth first; appends to files and parsed.
  const size_t root_parsed = state->parsed.size();
  for (size_t i = 0; i < root_parsed; ++i) ExpandImports(state, i, &result.errors);
  for (const SourceFile& f : files) result.files.push_back(f.name);
  for (size_t u = 1; u < state->units.size(); ++u) {
    ImportedSet imported{state->units[u].label, {}};
    for (const std::string& t : state->units[u].test_files) {
      std::string content, why;
      if (state->units[u].store->Read(t, &content, &why)) imported.test_files.emplace_back(t, content);
      else result.errors.push_back(WholeFile(t, "cannot read file: " + why));
    }
    result.imports.push_back(std::move(imported));
  }
  // The units whose rules are compiled.
  std::set<int> rule_units;
  if (!options.only_import.empty()) {
    for (size_t u = 1; u < state->units.size(); ++u)
      if (state->units[u].label == options.only_import)
        rule_units = UnitClosure(*state, static_cast<int>(u));
    if (rule_units.empty())
      result.errors.push_back(WholeFile(set_name, "the set does not import " + options.only_import));
  }

  auto snapshot = std::make_shared<engine::PolicySnapshot>();
  SetBuilder set;
  set.snapshot = snapshot.get();
  ContentSet content(&result.errors);
  set.content = &content;
  std::map<std::string, const SourceFile*, std::less<>> by_name;
  for (const SourceFile& f : files) by_name.emplace(f.name, &f);
  // List files feed the revision too: a changed list is a changed policy.
  std::vector<SourceFile> data_files;
  set.read_data_file = [&](const std::string& policy, const std::string& list, std::string* name,
                           std::string* text, std::string* why) {
    auto it = by_name.find(policy);
    if (it == by_name.end()) {
      *why = "not found";
      return false;
    }
    const SourceFile& from = *it->second;
    *name = from.store->Resolve(from.name, list);
    if (name->empty() || !from.store->Read(*name, text, why)) {
      if (name->empty()) *why = "not found";
      return false;
    }
    // Named relative to the set's root, as policy files are, so that a
    // directory and its in-memory copy share a revision; '\x01' keeps the
    // name apart from any policy file's.
    const std::string relative =
        (fs::path(from.relative).parent_path() / list).lexically_normal().generic_string();
    data_files.push_back({*name, "\x01" + relative, *text});
    return true;
  };
  content.set_read_data_file(set.read_data_file);  // classifier models
  for (const ParsedFile& p : state->parsed)
    Guarded(p, &result.errors, [&](Context& ctx, const YAML::Node& root) {
      set.imported_file = p.source->unit != 0;
      AddOperations(ctx, root, &set);
    });
  for (const ParsedFile& p : state->parsed)
    Guarded(p, &result.errors, [&](Context& ctx, const YAML::Node& root) {
      set.imported_file = p.source->unit != 0;
      set.skip_rules = !options.only_import.empty() && !rule_units.contains(p.source->unit);
      CompileDocument(ctx, root, &set);
    });

  // Every content pattern of the set in one Hyperscan database.
  if (result.errors.empty()) content.Finish();

  // Files in load order, then positions within each; the passes found them
  // in a different order.
  std::map<std::string, size_t, std::less<>> file_order;
  for (size_t i = 0; i < files.size(); ++i) file_order.emplace(files[i].name, i);
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) {
                     auto fa = file_order.find(a.file), fb = file_order.find(b.file);
                     size_t ia = fa == file_order.end() ? 0 : fa->second;
                     size_t ib = fb == file_order.end() ? 0 : fb->second;
                     return std::tie(ia, a.line, a.column) < std::tie(ib, b.line, b.column);
                   });
  if (!result.errors.empty()) return result;

  std::sort(data_files.begin(), data_files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.relative < b.relative; });
  std::vector<SourceFile> hashed(files.begin(), files.end());
  hashed.insert(hashed.end(), data_files.begin(), data_files.end());
  snapshot->revision = Revision(hashed);
  if (snapshot->revision.empty()) {
    result.errors.push_back(WholeFile(set_name, "cannot compute the policy revision (SHA-256)"));
    return result;
  }
  result.snapshot = std::move(snapshot);
  return result;
}

ImportState NewState(const FileStore* store, std::string key, std::string label,
                     const LoadOptions& options) {
  ImportState state;
  state.packs = options.packs;
  ImportUnit root;
  root.key = std::move(key);
  root.label = std::move(label);
  root.store = store;
  state.units.push_back(std::move(root));
  state.unit_by_key.emplace(state.units[0].key, 0);
  return state;
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string out = severity == Severity::kWarning ? "warning: " + file : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

LoadResult LoadPolicyDir(const std::string& dir, const LoadOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (!fs::is_directory(status)) {
    LoadResult r;
    // libstdc++ reports a missing path both as not_found and in `ec`.
    r.errors.push_back(WholeFile(
        dir, status.type() == fs::file_type::not_found ? "policy directory does not exist"
             : ec ? "cannot read policy directory: " + ec.message()
                  : "not a directory"));
    return r;
  }
  std::unique_ptr<FileStore> store = DiskStore();
  ImportState state = NewState(store.get(), store->Key(dir), dir, options);
  std::vector<Diagnostic> read_errors;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string base = it->path().filename().string();
    if (!base.empty() && base.front() == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!IsPolicyFileName(base) || !it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in.good() && !in.eof()) {
      read_errors.push_back(WholeFile(it->path().string(), "cannot read file"));
      continue;
    }
    state.files.push_back({it->path().string(), it->path().lexically_relative(dir).generic_string(),
                           content.str(), store.get(), 0});
  }
  if (ec) {
    LoadResult r;
    r.errors.push_back(WholeFile(dir, "cannot read policy directory: " + ec.message()));
    return r;
  }
  LoadResult r = Compile(&state, dir, options);
  if (!read_errors.empty()) {
    r.snapshot.reset();
    r.errors.insert(r.errors.begin(), read_errors.begin(), read_errors.end());
  }
  return r;
}

LoadResult LoadPolicyFiles(const std::vector<std::pair<std::string, std::string>>& files,
                           const LoadOptions& options) {
  std::set<std::string, std::less<>> names;  // normalized
  std::vector<Diagnostic> name_errors;
  std::vector<std::pair<std::string, std::string>> unique;
  for (const auto& entry : files) {
    // Two entries for one path would load its rules twice; a directory
    // cannot hold that, so neither can an upload.
    if (!names.insert(fs::path(entry.first).lexically_normal().generic_string()).second) {
      name_errors.push_back(WholeFile(entry.first, "the file is given twice"));
      continue;
    }
    unique.push_back(entry);
  }
  std::unique_ptr<FileStore> store = MemoryStore("", unique);
  ImportState state = NewState(store.get(), store->Key("."), "the set", options);
  for (const auto& [name, content] : unique)
    if (IsPolicyFileName(name)) state.files.push_back({name, name, content, store.get(), 0});
  LoadResult r = Compile(&state, "<policy files>", options);
  if (!name_errors.empty()) {
    r.snapshot.reset();
    r.errors.insert(r.errors.begin(), name_errors.begin(), name_errors.end());
  }
  return r;
}

}  // namespace tosgate::policies
