// tosgate audit verify | prune | keygen | public-key: the tamper-evidence
// side of the audit store (storage/audit/verify.h, storage/audit/signing.h).
// Dispatched from cli/audit.cc; each returns the exit code (0 ok, 1
// tampered, 2 usage or a store/key that cannot be read).
#pragma once

#include <optional>
#include <string>

#include "cli/commands.h"
#include "storage/audit/anchor.h"
#include "storage/audit/signing.h"
#include "storage/audit/verify.h"

namespace tosgate::cli {

// `args`: what follows "verify": --db FILE [--public-key FILE] [--anchor
// FILE], or --dsn DSN [--instance ID] [--anchor FILE].
int RunAuditVerify(const Args& args);
// `args`: what follows "export-anchor": --db FILE [--public-key FILE] --out
// FILE, or --dsn DSN --instance ID --out FILE (cli/audit_anchor.cc).
int RunAuditExportAnchor(const Args& args);

// Shared by verify, prune and export-anchor. Each says why on stderr when
// it fails.
// Loads --public-key / --anchor when `path` is set; false if unreadable.
bool LoadKey(const std::string& path, std::optional<storage::AuditKey>* out);
bool LoadAnchor(const std::string& path, std::optional<storage::AuditCheckpoint>* out);
// Verifies an SQLite store and prints the verdict (unless ok and
// `quiet_ok`): 1 tampered, 2 unreadable, -1 verified (`out` gets the
// verdict, if given).
int VerifySqlite(const std::string& db, const storage::AuditKey* key,
                 const storage::AuditCheckpoint* anchor, bool quiet_ok,
                 storage::AuditVerdict* out);
// Verifies a fleet's chains (or `instance`'s): a line per instance and one
// for the fleet (only what failed when `quiet_ok`). 0 ok, 1 tampered, 2
// unreadable; `out` gets the first instance's verdict.
int VerifyFleet(const std::string& dsn, const std::string& instance,
                const storage::AuditCheckpoint* anchor, bool quiet_ok,
                storage::AuditVerdict* out);
// `args`: what follows "prune": --db FILE (--older-than 30d | --before TIME)
// [--public-key FILE].
int RunAuditPrune(const Args& args);
// `args` starts with the command: "keygen --out FILE" or
// "public-key --key FILE".
int RunAuditKey(const Args& args);

}  // namespace tosgate::cli
