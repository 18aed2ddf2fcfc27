// Where `imports: [{pack: NAME}]` finds a pack. The loader is given one, so
// it does not decide where packs live: the CLI and the server give it the
// packs built into the binary (policies/builtin/builtin_packs.h), tests give
// it packs in memory, and a program that gives none rejects `pack:` imports.
//
// Thread-safety: implementations are read-only after construction; any
// number of loads may share one.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tosgate::policies {

// (name relative to the pack's root, content): its policy files, test
// files (*.test.yaml) and the data files they name (lists, models).
using PackFiles = std::vector<std::pair<std::string, std::string>>;

class PackResolver {
 public:
  virtual ~PackResolver() = default;
  // The files of pack `name`; false when there is no such pack.
  virtual bool Find(std::string_view name, PackFiles* files) const = 0;
  // Every pack's name, sorted, for the message about an unknown one.
  virtual std::vector<std::string> Names() const = 0;
};

// Packs given in memory (tests; a program that builds packs itself).
class MemoryPackResolver : public PackResolver {
 public:
  void Add(std::string name, PackFiles files) { packs_.emplace_back(std::move(name), std::move(files)); }
  bool Find(std::string_view name, PackFiles* files) const override {
    for (const auto& [n, f] : packs_)
      if (n == name) {
        *files = f;
        return true;
      }
    return false;
  }
  std::vector<std::string> Names() const override {
    std::vector<std::string> out;
    for (const auto& p : packs_) out.push_back(p.first);
    return out;
  }

 private:
  std::vector<std::pair<std::string, PackFiles>> packs_;
};

}  // namespace tosgate::policies
