// The normalizer as it was before the fast rewrite (engine/normalize.cc at
// b93dd86), kept only so that the differential test and bench/normalize_bench
// can compare the new one against it. Not part of any library; slow
// (std::u32string per word) on purpose, being the plainest statement of the
// rules. docs/normalization.md describes them.
#pragma once

#include <string>
#include <string_view>

namespace tosgate::engine::reference {

std::string NormalizeForMatch(std::string_view utf8);

}  // namespace tosgate::engine::reference
