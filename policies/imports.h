// `imports:` of a policy file: where the files a policy set is built from
// come from (a directory, files in memory, a pack), and the expansion of a
// set's imports into the files they bring, depth first, each file once.
//
// An import names a built-in pack ({pack: NAME}, through the PackResolver
// the loader is given) or a file or directory relative to the importing file
// ({path: ...}). A pack's own `path:` imports stay inside the pack. A file
// reached twice (two imports of one pack, a diamond) is loaded once; an
// import that leads back to a set on the chain that imported it is a cycle.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "policies/loader.h"
#include "policies/pack_resolver.h"

namespace tosgate::policies {

// Where files are read from. Names are what diagnostics print.
class FileStore {
 public:
  virtual ~FileStore() = default;
  // The name of `relative` as written in the file named `from`; empty when
  // it leaves the store (a pack's "../x").
  virtual std::string Resolve(const std::string& from, const std::string& relative) const = 0;
  // Reads a file: true with its content, or false with why ("not found").
  virtual bool Read(const std::string& name, std::string* content, std::string* why) const = 0;
  // Whether `name` is a directory.
  virtual bool IsDirectory(const std::string& name) const = 0;
  // The policy files (or, with `tests`, the test files) under the directory
  // `name`, recursively, sorted, skipping hidden names.
  virtual std::vector<std::string> List(const std::string& name, bool tests) const = 0;
  // What identifies a file or directory across imports (a canonical path).
  virtual std::string Key(const std::string& name) const = 0;
};

// Files on disk; names are paths.
std::unique_ptr<FileStore> DiskStore();
// Files in memory, names relative to a root, each under `prefix` ("" for a
// set given in memory, "pack:NAME/" for a pack).
std::unique_ptr<FileStore> MemoryStore(std::string prefix, const std::vector<std::pair<std::string, std::string>>& files);

bool IsPolicyFileName(std::string_view name);
bool IsTestFileName(std::string_view name);

struct SourceFile {
  std::string name;      // as reported in diagnostics
  std::string relative;  // relative to the set's root: sorts root files and feeds the revision
  std::string content;
  const FileStore* store = nullptr;
  int unit = 0;  // index into ImportState::units; 0 is the set itself
};

struct ParsedFile {
  const SourceFile* source;
  YAML::Node root;
};

// One import target: the set itself (unit 0), a pack or an imported path.
struct ImportUnit {
  std::string key;    // identity: "pack:NAME" or the canonical path
  std::string label;  // "pack:prohibited-use", "../shared-ops.yaml"
  int parent = -1;    // the unit that first imported it
  std::vector<int> imports;  // units its files import
  std::set<std::string> file_keys;
  std::vector<std::string> test_files;  // names, in the unit's store
  const FileStore* store = nullptr;
};

// The files of a set and of everything it imports.
struct ImportState {
  std::deque<SourceFile> files;  // stable addresses: ParsedFile points here
  std::vector<ParsedFile> parsed;
  std::vector<ImportUnit> units;
  std::map<std::string, int, std::less<>> unit_by_key;
  std::set<std::string> loaded_file_keys;
  std::vector<std::unique_ptr<FileStore>> stores;  // packs'
  const PackResolver* packs = nullptr;
};

// Parses one file; an empty or comment-only file yields no root.
bool ParseFile(const SourceFile& f, std::vector<Diagnostic>* errors, YAML::Node* root);

// Reads the `imports:` of parsed[index] and of every file they bring,
// appending those files to `state` (parsed), depth first.
void ExpandImports(ImportState* state, size_t index, std::vector<Diagnostic>* errors);

// Unit `unit` and every unit it imports, directly or not.
std::set<int> UnitClosure(const ImportState& state, int unit);

}  // namespace tosgate::policies
