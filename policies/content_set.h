// What the content rules of one policy set share while it compiles: the
// lists of the `lists:` section (read in the first pass, so a rule in any
// file may use a list defined in any other) and the one ContentIndex that
// every content rule adds its patterns to. Finish compiles that index into
// one Hyperscan database per snapshot; a pattern Hyperscan rejects becomes an
// error at the place it was written.
//
// Not thread-safe: one per load.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/content/index.h"
#include "engine/textmodel/text_model.h"
#include "policies/loader.h"

namespace tosgate::policies {

class ContentSet {
 public:
  // Where a pattern came from, for errors: a policy file position or a list
  // file line.
  struct Source {
    std::string file;
    int line = 0, column = 0;  // 1-based
    std::string key;           // dotted key path; empty for a list file line
  };
  struct List {
    std::string file;  // as reported in errors
    bool words = true;  // match: word (default) or phrase
    std::vector<std::pair<int, std::string>> entries;  // (line, text)
  };

  explicit ContentSet(std::vector<Diagnostic>* errors) : errors_(errors) {}

  // Parses a list file: one phrase per line; blank lines and lines starting
  // with '#' are skipped. A line that is empty once normalized, or a file
  // with no entries, is an error naming the list file (and its line).
  // Returns false having reported why.
  // `file` names the list file in errors at its lines; `written` is the path
  // as the policy wrote it, for errors at `where_defined`.
  bool AddList(std::string name, std::string file, std::string_view written,
               std::string_view content, bool words, const Source& where_defined);
  const List* FindList(std::string_view name) const;

  // Reads a data file named in a policy file (relative to it): true with the
  // name to report it by and its content; false with why not ("not found"
  // or the read error). The loader's reader, which also feeds the revision.
  using ReadDataFile = std::function<bool(const std::string& policy_file,
                                          const std::string& data_file, std::string* name,
                                          std::string* content, std::string* error)>;
  void set_read_data_file(ReadDataFile read) { read_ = std::move(read); }
  // The same reader, for other data files (indicators rules' bundles); may be empty.
  const ReadDataFile& read_data_file() const { return read_; }

  // The classifier model `written` in `policy_file` (relative to it), read
  // and parsed once per set however many rules name it. Null with why not
  // (a message for the author) when it is missing or not a model.
  std::shared_ptr<const engine::TextModel> Model(const std::string& policy_file,
                                                 const std::string& written, std::string* why);

  // Adds one rule's patterns, each with where it was written; returns the
  // index the rule reads and, in *first, the id of its first pattern.
  std::shared_ptr<const engine::ContentIndex> AddPatterns(
      const std::vector<engine::ContentPattern>& patterns, std::vector<Source> sources,
      uint32_t* first);

  // Compiles every pattern into the index's one database. Reports a pattern
  // Hyperscan rejects at its source; returns false then.
  bool Finish();

  void Error(const Source& at, std::string message);

 private:
  std::vector<Diagnostic>* errors_;
  std::map<std::string, List, std::less<>> lists_;
  std::shared_ptr<engine::ContentIndex> index_;
  std::vector<Source> sources_;
  ReadDataFile read_;
  // (policy file, path as written) -> model; a failed read is cached too (null).
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const engine::TextModel>>
      models_;
  std::map<std::pair<std::string, std::string>, std::string> model_errors_;
};

}  // namespace tosgate::policies
