// Ed25519 keys and signatures for audit checkpoints (OpenSSL).
//
// A checkpoint signs the message
//   "tosgate.audit.checkpoint.v1" || seq (u64 big-endian) || hash (32 bytes)
// where hash is the chain hash of the record at `seq` (storage/audit/chain.h).
// Keys are PEM files: PKCS#8 private keys, SubjectPublicKeyInfo public keys.
// A key id is the first 16 hex digits of SHA-256 over the raw 32-byte public
// key, so a checkpoint says which key made it.
//
// Thread-safety: a SigningKey / VerifyKey may be used from one thread at a
// time; the free functions are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::storage {

class AuditKey {
 public:
  ~AuditKey();
  AuditKey(AuditKey&&) noexcept;
  AuditKey& operator=(AuditKey&&) noexcept;

  bool has_private() const { return has_private_; }
  const std::string& key_id() const { return key_id_; }
  // The public half as PEM (SubjectPublicKeyInfo).
  std::string PublicKeyPem() const;
  // A 64-byte signature of the checkpoint message; needs the private half.
  Result<std::string> Sign(uint64_t seq, std::string_view hash) const;
  // Whether `signature` is a valid signature of (seq, hash) by this key.
  bool Verify(uint64_t seq, std::string_view hash, std::string_view signature) const;

 private:
  friend Result<AuditKey> LoadPrivateKey(const std::string& path);
  friend Result<AuditKey> LoadPublicKey(const std::string& path);
  struct Pkey;
  AuditKey(std::unique_ptr<Pkey> key, bool has_private);
  std::unique_ptr<Pkey> key_;
  bool has_private_ = false;
  std::string key_id_;
};

// Writes a new Ed25519 private key to `path` (PEM, mode 0600). Refuses to
// overwrite an existing file.
Status GenerateKey(const std::string& path);
// Loads a PEM Ed25519 private key. The error names the path and says why
// (missing, unreadable, not PEM, not Ed25519).
Result<AuditKey> LoadPrivateKey(const std::string& path);
// Loads a PEM Ed25519 public key (a private key file is accepted too).
Result<AuditKey> LoadPublicKey(const std::string& path);

// The exact bytes a checkpoint signs.
std::string CheckpointMessage(uint64_t seq, std::string_view hash);

}  // namespace tosgate::storage
