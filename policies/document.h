// One policy file's top level: apiVersion, kind, metadata, settings,
// identity, operations, lists and rules, added to the policy set being built
// (imports are read before, by imports.h, and overrides by overrides.h).
//
// Two passes over the files of a set: first every file's operations (a rule
// may name an operation defined in another file), then everything else.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <yaml-cpp/yaml.h>

#include "engine/prices.h"
#include "engine/snapshot.h"
#include "policies/content_set.h"
#include "policies/context.h"
#include "policies/overrides.h"
#include "policies/rule_compiler.h"

namespace tosgate::policies {

// The policy set being built, shared by the files compiled into it in order.
struct SetBuilder {
  engine::PolicySnapshot* snapshot = nullptr;
  RuleSetIndex index;
  // Where each operation and list was first defined ("file:line:column")
  // and what it was, so that an identical second definition (two packs
  // sharing the operations of an API) merges and a different one is an error.
  struct Defined {
    std::string at;
    std::string what;  // a canonical text of the definition; empty if it had errors
  };
  std::map<std::string, Defined, std::less<>> operations_at;
  std::map<std::string, Defined, std::less<>> lists_at;
  std::string settings_at;  // "file:line" of the file that set settings, if one did
  std::string identity_at;
  bool named = false;  // snapshot->name is set
  // The file being compiled came through `imports:`: its settings and
  // identity are checked but not used (the set's own files own them).
  bool imported_file = false;
  // The file's rules are checked for ids only, not compiled (LoadOptions::only_import).
  bool skip_rules = false;
  // Reads `list_file`, written in `policy_file` (relative to it): true with
  // the name to report it by and its content; false with why not, "not
  // found" or the read error.
  std::function<bool(const std::string& policy_file, const std::string& list_file,
                     std::string* name, std::string* content, std::string* error)>
      read_data_file;
  ContentSet* content = nullptr;  // lists and content patterns of the set
  RuleOverrides overrides;        // every file's `overrides:`, read before pass 2
  // Every file's `prices:` (pass 1), shared by the cost budgets that use it.
  std::shared_ptr<engine::PriceTable> prices = std::make_shared<engine::PriceTable>();
  // What each priced model was first defined as, for merging (prices.cc).
  std::map<std::string, Defined, std::less<>> prices_at;
};

// Pass 1: `prices:` (policies/prices.cc).
void AddPrices(Context& ctx, const Field& prices, SetBuilder* set);

// Pass 1: the file's `operations:` and `lists:` (read, for content rules).
void AddOperations(Context& ctx, const YAML::Node& root, SetBuilder* set);
// Pass 2: the rest of the file.
void CompileDocument(Context& ctx, const YAML::Node& root, SetBuilder* set);

}  // namespace tosgate::policies
