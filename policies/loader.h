// Loads a policy set (a directory of YAML files, or the same files in
// memory) and compiles it into an engine::PolicySnapshot.
//
// The loader is strict: an unknown key, a value of the wrong type, an
// unknown field or kind, a bad duration or address, a duplicate rule id or
// operation, all become Diagnostics naming file, line, column and key path.
// Every error of every file is reported in one pass, so an author fixes a
// policy set in one round trip. Nothing throws out of these functions;
// yaml-cpp's exceptions are caught inside and become Diagnostics.
//
// Thread-safety: the functions keep no state; any number of threads may load
// at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/snapshot.h"
#include "policies/pack_resolver.h"

namespace tosgate::policies {

enum class Severity : uint8_t {
  kError,    // the set does not load
  kWarning,  // the set loads, but probably does not do what its author meant
};

// One problem in a policy set. `line` and `column` are 1-based; both are 0
// when the problem is the file or directory as a whole.
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // dotted path of the offending key, e.g. "rules[2].limit.free.per"
  std::string message;
  Severity severity = Severity::kError;

  // "file:line:column: key: message", with "warning: " in front for a
  // warning. Without a position the "line:column" part is left out, and
  // without a key the "key: " part.
  std::string ToString() const;
};

// A pack or path the set imports (directly or through another import).
struct ImportedSet {
  std::string name;  // "pack:prohibited-use", or the imported path as the loader names it
  // Its test files (*.test.yaml under the pack or the imported directory),
  // as (name, content).
  std::vector<std::pair<std::string, std::string>> test_files;
};

struct LoadResult {
  std::shared_ptr<engine::PolicySnapshot> snapshot;  // null when `errors` is not empty
  std::vector<Diagnostic> errors;                    // in file order, then line order
  std::vector<std::string> files;                    // the policy files read: the set's, sorted, then imported ones
  std::vector<ImportedSet> imports;                  // in the order first imported
};

struct LoadOptions {
  // Resolves `imports: [{pack: NAME}]`; null: no pack can be imported.
  const PackResolver* packs = nullptr;
  // When not empty, a name from LoadResult::imports: the snapshot holds only
  // the rules of that import and of what it imports, as written (the set's
  // overrides are not applied), with the set's settings, identity,
  // operations and lists. How an imported pack's own tests run inside a set.
  std::string only_import;
};

// Loads every *.yaml / *.yml file under `dir`, recursively, in sorted path
// order. Files ending in .test.yaml / .test.yml are policy tests and are not
// loaded; neither are hidden files and folders (names starting with '.', such
// as the "..data" folders of a Kubernetes ConfigMap volume). A directory that
// is missing, unreadable or holds no policy file is one Diagnostic naming it.
//
// `imports:` in a file bring in packs (through options.packs) and files or
// directories relative to that file (docs/policy-language.md).
LoadResult LoadPolicyDir(const std::string& dir, const LoadOptions& options = {});

// The same from files in memory, as (name, content) pairs; names are paths
// relative to the policy set's root. Only names ending in .yaml / .yml (and
// not .test.yaml / .test.yml) are policies; other entries are data files
// that `lists:` entries may name.
// A `path:` import resolves among these names and cannot leave them.
LoadResult LoadPolicyFiles(const std::vector<std::pair<std::string, std::string>>& files,
                           const LoadOptions& options = {});

}  // namespace tosgate::policies
