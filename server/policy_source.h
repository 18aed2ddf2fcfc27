// Where `serve`, `validate` and `check` get policies from: a directory, or
// the default pack built into the binary when no directory is named.
#pragma once

#include <iostream>
#include <ostream>
#include <string>

#include "policies/loader.h"

namespace tosgate::server {

// How every command and the server load policies: `imports: [{pack: NAME}]`
// resolves to the packs built into the binary, or first to the directory in
// the TOSGATE_PACKS_DIR environment variable when it is set (a pack NAME is
// $TOSGATE_PACKS_DIR/NAME).
policies::LoadOptions PolicyLoadOptions();
policies::LoadResult LoadPolicySource(const std::string& dir);
// Prints every diagnostic and a count on `out`; returns how many.
size_t ReportPolicyErrors(const policies::LoadResult& r, std::ostream& out = std::cerr);
// A cheap fingerprint of the policy files' names, sizes and times, to notice
// edits without reading them.
std::string PolicyDirFingerprint(const std::string& dir);

}  // namespace tosgate::server
