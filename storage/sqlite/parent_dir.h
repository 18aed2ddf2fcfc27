// The folder a store's file (a SQLite database, an anchor file) is to be in.
#pragma once

#include <string>

#include "tosgate/status.h"

namespace tosgate::storage {

// Creates the folder `path` is to be in, with its parents; nothing for a
// bare file name. A failure names the folder.
Status EnsureParentDir(const std::string& path);

}  // namespace tosgate::storage
