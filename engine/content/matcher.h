// ContentMatcher: a set of patterns compiled into one Hyperscan database,
// scanned in time linear in the input. Hyperscan stays behind this pimpl so
// that the rule headers do not pull it in.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tosgate::engine {

struct ContentPattern {
  enum class Type { kPhrase, kWord, kRegex };
  std::string id;  // reported in the decision when it matches
  Type type = Type::kPhrase;
  std::string text;  // phrase, word or Hyperscan regex
};

// One match: the pattern's index and where it ends in the scanned text.
struct ContentHit {
  size_t pattern = 0;
  size_t end = 0;
};

class ContentMatcher {
 public:
  // Compiles `patterns`; on failure returns null and, when `error` is given,
  // says why and which pattern (`*bad_index`) Hyperscan rejected.
  static std::shared_ptr<const ContentMatcher> Compile(std::vector<ContentPattern> patterns,
                                                       std::string* error,
                                                       size_t* bad_index = nullptr);
  // The Hyperscan expression a pattern becomes (phrases escaped, words
  // bounded by \b).
  static std::string Expression(const ContentPattern& p);

  ~ContentMatcher();
  ContentMatcher(const ContentMatcher&) = delete;
  ContentMatcher& operator=(const ContentMatcher&) = delete;

  const std::vector<ContentPattern>& patterns() const { return patterns_; }
  // First hit of each pattern that matches `text`, in pattern order.
  // Thread-safe: scratch space comes from a pool inside the matcher.
  std::vector<ContentHit> Scan(std::string_view text) const;

 private:
  struct Impl;
  ContentMatcher(std::vector<ContentPattern> patterns, std::unique_ptr<Impl> impl);
  std::vector<ContentPattern> patterns_;
  std::unique_ptr<Impl> impl_;
};

// "...ho* t* m**e s***n...": up to `context` characters either side of the
// hit ending at `end`, every letter or digit but the first of each word
// masked with '*'. Never more than a few characters of the prompt.
std::string RedactedEvidence(std::string_view text, size_t end, size_t context = 12);

}  // namespace tosgate::engine
