// tosgate audit verify | prune | keygen | public-key: the tamper-evidence
// side of the audit store (storage/audit_verify.h, storage/audit_signing.h).
// Dispatched from cli/audit.cc; each returns the exit code (0 ok, 1
// tampered, 2 usage or a store/key that cannot be read).
#pragma once

#include "cli/commands.h"

namespace tosgate::cli {

// `args`: what follows "verify": --db FILE [--public-key FILE].
int RunAuditVerify(const Args& args);
// `args`: what follows "prune": --db FILE (--older-than 30d | --before TIME)
// [--public-key FILE].
int RunAuditPrune(const Args& args);
// `args` starts with the command: "keygen --out FILE" or
// "public-key --key FILE".
int RunAuditKey(const Args& args);

}  // namespace tosgate::cli
