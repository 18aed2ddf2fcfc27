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

struct LoadResult {
  std::shared_ptr<engine::PolicySnapshot> snapshot;  // null when `errors` is not empty
  std::vector<Diagnostic> errors;                    // in file order, then line order
  std::vector<std::string> files;                    // the policy files read, sorted
};

// Loads every *.yaml / *.yml file under `dir`, recursively, in sorted path
// order. Files ending in .test.yaml / .test.yml are policy tests and are not
// loaded; neither are hidden files and folders (names starting with '.', such
// as the "..data" folders of a Kubernetes ConfigMap volume). A directory that
// is missing, unreadable or holds no policy file is one Diagnostic naming it.
LoadResult LoadPolicyDir(const std::string& dir);

// The same from files in memory, as (name, content) pairs; names are paths
// relative to the policy set's root. Only names ending in .yaml / .yml (and
// not .test.yaml / .test.yml) are policies; other entries are data files
// that `lists:` entries may name.
LoadResult LoadPolicyFiles(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace tosgate::policies
