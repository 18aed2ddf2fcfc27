// The files of policies/packs/*, assembled into the binary by
// policies/builtin/CMakeLists.txt (generated builtin_pack_data.cc).
#pragma once

#include <span>
#include <string_view>

namespace tosgate::policies {

struct BuiltinPackFile {
  std::string_view pack;  // "prohibited-use"
  std::string_view path;  // relative to the pack: "policy.yaml", "lists/cbrn.txt"
  const char* begin;
  const char* end;
};

// Sorted by pack, then path.
std::span<const BuiltinPackFile> BuiltinPackData();

}  // namespace tosgate::policies
