// Keeping the audit chain's latest checkpoint outside the store.
//
// The hash chain and its signed checkpoints prove that the records a store
// holds are the ones written; they cannot prove the store still holds all
// of them. Someone who can write the store can delete the records after a
// checkpoint (a tail cut at a checkpoint leaves nothing dangling), or rewrite
// records, recompute the chain and delete every checkpoint. What catches
// both is a copy of the latest checkpoint somewhere they cannot write: the
// anchor. `tosgate audit verify --anchor FILE` then fails when the store
// lacks the anchored checkpoint, holds a different one, ends before it, or
// has a different record hash at its seq (docs/audit.md, "The anchor").
//
// A CheckpointSink is where the writer publishes each checkpoint after the
// transaction holding it committed (so an anchor never names a record a
// crash could lose). AnchorFile is the one sink today: one small JSON
// document, replaced atomically (temp file, fsync, rename, fsync of the
// directory), so a reader sees the old anchor or the new one, never half.
// Others (a command, an HTTP endpoint, a WORM bucket) can follow by
// implementing the interface.
//
// The SQLite store publishes its signed checkpoints; the PostgreSQL store
// has no signing key and publishes each instance's chain head (seq, hash)
// unsigned, which still pins the chain to a copy outside the database.
//
// Thread-safety: a sink is used by one writer thread; AnchorFile's Publish
// and Latest may also be called from other threads (each is one file
// operation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tosgate/status.h"

namespace tosgate::storage {

struct AuditCheckpoint {
  std::string store = "sqlite";  // "sqlite" | "postgres"
  std::string instance;          // PostgreSQL: the gateway instance; empty for SQLite
  uint64_t seq = 0;              // the record the checkpoint covers (with all before it)
  std::string hash;              // its chain hash, 32 raw bytes
  std::string signature;         // Ed25519, 64 raw bytes; empty when unsigned (PostgreSQL)
  std::string key_id;            // of the signing key; empty when unsigned
  int64_t signed_at_ms = 0;      // wall clock, informational
};

// The anchor file's text: one JSON object, hashes and signature in hex,
// ending in a newline.
std::string AnchorJson(const AuditCheckpoint& cp);
// Parses AnchorJson's text. `what` (a file name) starts the error message.
Result<AuditCheckpoint> ParseAnchor(std::string_view text, const std::string& what);

// Replaces `path` with the anchor atomically: writes `path`.tmp, fsyncs it,
// renames it over `path` and fsyncs the directory.
Status WriteAnchorFile(const std::string& path, const AuditCheckpoint& cp);
// Reads an anchor file. NotFound when it does not exist.
Result<AuditCheckpoint> ReadAnchorFile(const std::string& path);

class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  // Records `cp` as the latest checkpoint. Called after it committed.
  virtual Status Publish(const AuditCheckpoint& cp) = 0;
  // The checkpoint last published, if this sink can read it back (nullopt
  // when nothing was published yet or the sink is write-only); the store
  // checks itself against it when it opens.
  virtual Result<std::optional<AuditCheckpoint>> Latest() const = 0;
  // For messages: "anchor file /var/lib/tosgate/anchor.json".
  virtual std::string Describe() const = 0;
};

class AnchorFile final : public CheckpointSink {
 public:
  explicit AnchorFile(std::string path) : path_(std::move(path)) {}
  Status Publish(const AuditCheckpoint& cp) override { return WriteAnchorFile(path_, cp); }
  Result<std::optional<AuditCheckpoint>> Latest() const override;
  std::string Describe() const override { return "anchor file " + path_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tosgate::storage
