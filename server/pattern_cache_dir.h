// Compiled pattern databases kept in a folder between runs
// (engine/content/compiled_cache.h), so that a second `tosgate validate`,
// `test`, `replay` or `serve` of the same policies skips Hyperscan's compile.
//
// The folder is $TOSGATE_CACHE_DIR when set (empty: no folder cache), else
// $XDG_CACHE_HOME/tosgate, else $HOME/.cache/tosgate. Best-effort: a folder
// that cannot be created or written only means compiling each time.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "engine/content/compiled_cache.h"

namespace tosgate::server {

// The folder the environment names, or nothing when caching is off.
std::optional<std::filesystem::path> PatternCacheDirFromEnv();

// A store over `dir`: one file per key, written to a temporary name and
// renamed (readers never see half a file); at most `max_files` kept, the
// least recently written removed first.
std::shared_ptr<engine::PatternCacheStore> MakePatternCacheDir(std::filesystem::path dir,
                                                               size_t max_files = 32);

// Installs the environment's folder as the process's store, if any.
void InstallPatternCacheFromEnv();

}  // namespace tosgate::server
