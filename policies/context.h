// Reading YAML strictly: typed readers and a map reader that remembers which
// keys were used, so that every key nobody asked for is reported as unknown.
//
// Every reader reports what is wrong as a Diagnostic (file, 1-based line and
// column, dotted key path) and returns false; the compiler carries on, so one
// load reports every error. Nothing here throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "policies/loader.h"

namespace tosgate::policies {

class ContentSet;  // policies/content_set.h
}  // namespace tosgate::policies
namespace tosgate::engine {
class PriceTable;  // engine/prices.h
}  // namespace tosgate::engine
namespace tosgate::policies {

// A value in a policy file with where it is: its dotted key path and the
// position to report (the value's, or its key's when the value is empty,
// because yaml-cpp places empty values at the start of the next line).
struct Field {
  YAML::Node node;
  std::string path;
  YAML::Mark mark;
};

// "rules[2]" + "limit" -> "rules[2].limit"; "" + "rules" -> "rules".
std::string JoinPath(std::string_view parent, std::string_view key);
// How a node reads in an error message: "a map", "a list", "\"abc\"", "nothing".
std::string Describe(const YAML::Node& node);
// A scalar the author quoted (or tagged !!str) is text whatever it looks like.
bool IsQuoted(const YAML::Node& node);
// An unquoted YAML 1.2 core-schema boolean (true/True/TRUE, false/...);
// "yes" and "on" are text.
bool ScalarBool(const YAML::Node& node, bool* out);
// An unquoted, finite decimal number.
bool ScalarNumber(const YAML::Node& node, double* out);

// Reports into one file's diagnostics. One per policy file being compiled.
class Context {
 public:
  Context(std::string file, std::vector<Diagnostic>* errors)
      : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const { return file_; }
  // Condition nodes compiled from this file so far; bounds what YAML aliases
  // can multiply (see condition_compiler.cc).
  int& condition_nodes() { return condition_nodes_; }
  // "file:line" of a position, for notes such as "first defined at ...".
  std::string Where(const YAML::Mark& mark) const;
  int error_count() const { return error_count_; }
  // Where errors go (the whole load's list), for passes that adjust what a
  // step reported (overrides.cc points errors in an override's values at it).
  std::vector<Diagnostic>* errors() const { return errors_; }
  // What content rules share across the set being compiled (lists, the one
  // pattern database); null outside a policy-set load.
  ContentSet* content_set() const { return content_set_; }
  void set_content_set(ContentSet* set) { content_set_ = set; }
  // The set's `prices:` (every file's, read in pass 1) for cost budgets;
  // null outside a policy-set load.
  const std::shared_ptr<const engine::PriceTable>& prices() const { return prices_; }
  void set_prices(std::shared_ptr<const engine::PriceTable> p) { prices_ = std::move(p); }

  void Error(const YAML::Mark& at, std::string key, std::string message);
  void Error(const Field& at, std::string message) { Error(at.mark, at.path, std::move(message)); }

  // Typed readers. Each returns false, having reported why, when `f` does
  // not hold a value of the type.
  bool String(const Field& f, std::string* out);  // any scalar, as its text
  bool Bool(const Field& f, bool* out);           // true / false
  bool Int(const Field& f, int64_t* out);         // a whole decimal number
  bool Number(const Field& f, double* out);       // a finite decimal number
  bool Duration(const Field& f, int64_t* ns);     // see duration.h
  // One of `names`; `*index` is its position in the list.
  bool Enum(const Field& f, std::initializer_list<std::string_view> names, size_t* index);
  // A list; `items` get paths "path[i]".
  bool Sequence(const Field& f, std::vector<Field>* items);
  bool StringList(const Field& f, std::vector<std::string>* out);

 private:
  std::string file_;
  std::vector<Diagnostic>* errors_;
  int error_count_ = 0;
  int condition_nodes_ = 0;
  ContentSet* content_set_ = nullptr;
  std::shared_ptr<const engine::PriceTable> prices_;
};

// A YAML map read key by key. Construction reports a value that is not a
// map, keys that are not plain text and keys written twice. Take() marks a
// key used; RejectUnknown() then reports every key not used, listing the keys
// that were asked for.
class MapReader {
 public:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    Field value;
  };

  MapReader(Context& ctx, const Field& map);

  bool ok() const { return ok_; }  // it is a map
  const Field& field() const { return map_; }
  size_t size() const { return entries_.size(); }

  std::optional<Field> Take(std::string_view key);
  // Like Take, with where the key itself is written.
  std::optional<Entry> TakeEntry(std::string_view key);
  // Like Take, and reports the key as missing when it is absent.
  std::optional<Field> Require(std::string_view key);
  // Looks without using the key.
  std::optional<Field> Peek(std::string_view key);
  // Every entry in file order, each marked used (for maps whose keys are
  // names the author chose, such as operations or tiers).
  std::vector<Entry> TakeAll();

  void RejectUnknown();

 private:
  struct Slot {
    Entry entry;
    bool used = false;
  };
  Slot* Find(std::string_view key);
  void Expect(std::string_view key);

  Context& ctx_;
  Field map_;
  bool ok_ = false;
  std::vector<Slot> entries_;
  std::vector<std::string> expected_;  // keys asked for, in order, for error messages
};

}  // namespace tosgate::policies
