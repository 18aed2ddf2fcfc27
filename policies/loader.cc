#include "policies/loader.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "policies/content_set.h"
#include "policies/context.h"
#include "policies/document.h"

namespace tosgate::policies {
namespace {

namespace fs = std::filesystem;

struct SourceFile {
  std::string name;      // as reported in diagnostics
  std::string relative;  // relative to the set's root: sorts files and feeds the revision
  std::string content;
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsPolicyFileName(std::string_view name) {
  if (EndsWith(name, ".test.yaml") || EndsWith(name, ".test.yml")) return false;
  return EndsWith(name, ".yaml") || EndsWith(name, ".yml");
}

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

struct ParsedFile {
  const SourceFile* source;
  YAML::Node root;
};

// Parses one file; an empty or comment-only file yields no root. A syntax
// error becomes a Diagnostic at yaml-cpp's mark.
bool Parse(const SourceFile& f, std::vector<Diagnostic>* errors, YAML::Node* root) {
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

// Reads a list file named in a policy file: (policy file, list file) ->
// (name to report, content) or why not.
using ReadDataFile = std::function<bool(const std::string&, const std::string&, std::string*,
                                        std::string*, std::string*)>;

LoadResult Compile(std::vector<SourceFile> files, const std::string& set_name,
                   ReadDataFile read_data_file) {
  LoadResult result;
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.relative < b.relative; });
  for (const SourceFile& f : files) result.files.push_back(f.name);
  if (files.empty()) {
    result.errors.push_back(WholeFile(set_name, "no policy files (*.yaml, *.yml) found"));
    return result;
  }

  std::vector<ParsedFile> parsed;
  for (const SourceFile& f : files) {
    YAML::Node root;
    if (Parse(f, &result.errors, &root)) parsed.push_back({&f, root});
  }

  auto snapshot = std::make_shared<engine::PolicySnapshot>();
  SetBuilder set;
  set.snapshot = snapshot.get();
  ContentSet content(&result.errors);
  set.content = &content;
  // List files feed the revision too: a changed list is a changed policy.
  std::vector<SourceFile> data_files;
  set.read_data_file = [&](const std::string& policy, const std::string& list, std::string* name,
                           std::string* text, std::string* why) {
    if (!read_data_file(policy, list, name, text, why)) return false;
    // Named relative to the set's root, as policy files are, so that a
    // directory and its in-memory copy share a revision; '\x01' keeps the
    // name apart from any policy file's.
    std::string relative = policy;
    for (const SourceFile& f : files)
      if (f.name == policy) relative = f.relative;
    relative = (fs::path(relative).parent_path() / list).lexically_normal().generic_string();
    data_files.push_back({*name, "\x01" + relative, *text});
    return true;
  };
  content.set_read_data_file(set.read_data_file);  // classifier models
  for (const ParsedFile& p : parsed)
    Guarded(p, &result.errors, [&](Context& ctx, const YAML::Node& root) {
      AddOperations(ctx, root, &set);
    });
  for (const ParsedFile& p : parsed)
    Guarded(p, &result.errors, [&](Context& ctx, const YAML::Node& root) {
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
  files.insert(files.end(), data_files.begin(), data_files.end());
  snapshot->revision = Revision(files);
  if (snapshot->revision.empty()) {
    result.errors.push_back(WholeFile(set_name, "cannot compute the policy revision (SHA-256)"));
    return result;
  }
  result.snapshot = std::move(snapshot);
  return result;
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string out = severity == Severity::kWarning ? "warning: " + file : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

LoadResult LoadPolicyDir(const std::string& dir) {
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
  std::vector<SourceFile> files;
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
    files.push_back({it->path().string(), it->path().lexically_relative(dir).generic_string(),
                     content.str()});
  }
  if (ec) {
    LoadResult r;
    r.errors.push_back(WholeFile(dir, "cannot read policy directory: " + ec.message()));
    return r;
  }
  LoadResult r = Compile(std::move(files), dir,
                         [](const std::string& policy, const std::string& list, std::string* name,
                            std::string* content, std::string* why) {
                           const fs::path path = fs::path(policy).parent_path() / list;
                           std::error_code e;
                           if (!fs::is_regular_file(path, e)) {
                             *why = "not found";
                             return false;
                           }
                           // stdio, because an iostream hides read errors.
                           std::FILE* in = std::fopen(path.c_str(), "rb");
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
                           if (failed) {
                             *why = std::strerror(err);
                             return false;
                           }
                           *name = path.string();
                           return true;
                         });
  if (!read_errors.empty()) {
    r.snapshot.reset();
    r.errors.insert(r.errors.begin(), read_errors.begin(), read_errors.end());
  }
  return r;
}

LoadResult LoadPolicyFiles(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<SourceFile> policies;
  std::map<std::string, const std::string*, std::less<>> names;  // normalized name -> content
  std::vector<Diagnostic> name_errors;
  for (const auto& [name, content] : files) {
    // Two entries for one path would load its rules twice; a directory
    // cannot hold that, so neither can an upload.
    if (!names.emplace(fs::path(name).lexically_normal().generic_string(), &content).second) {
      name_errors.push_back(WholeFile(name, "the file is given twice"));
      continue;
    }
    if (IsPolicyFileName(name)) policies.push_back({name, name, content});
  }
  LoadResult r = Compile(std::move(policies), "<policy files>",
                         [&names](const std::string& policy, const std::string& list,
                                  std::string* name, std::string* content, std::string* why) {
                           const std::string path = (fs::path(policy).parent_path() / list)
                                                        .lexically_normal()
                                                        .generic_string();
                           auto it = names.find(path);
                           if (it == names.end()) {
                             *why = "not found";
                             return false;
                           }
                           *name = path;
                           *content = *it->second;
                           return true;
                         });
  if (!name_errors.empty()) {
    r.snapshot.reset();
    r.errors.insert(r.errors.begin(), name_errors.begin(), name_errors.end());
  }
  return r;
}

}  // namespace tosgate::policies
