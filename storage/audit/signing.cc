#include "storage/audit/signing.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/hex.h"

namespace tosgate::storage {
namespace {

constexpr std::string_view kCheckpointDomain = "tosgate.audit.checkpoint.v1";

std::string OpensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Result<std::string> ReadKeyFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(path + ": cannot read the " + std::string(what) + " file (" +
                                   std::strerror(errno) + ")");
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct AuditKey::Pkey {
  EVP_PKEY* p = nullptr;
  ~Pkey() { EVP_PKEY_free(p); }
};

AuditKey::AuditKey(std::unique_ptr<Pkey> key, bool has_private)
    : key_(std::move(key)), has_private_(has_private) {
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_->p, raw, &len) == 1) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(raw, len, digest);
    key_id_ = engine::ToHex(std::string_view(reinterpret_cast<const char*>(digest), 8));
  }
}
AuditKey::~AuditKey() = default;
AuditKey::AuditKey(AuditKey&&) noexcept = default;
AuditKey& AuditKey::operator=(AuditKey&&) noexcept = default;

std::string CheckpointMessage(uint64_t seq, std::string_view hash) {
  std::string m(kCheckpointDomain);
  for (int shift = 56; shift >= 0; shift -= 8) m.push_back(static_cast<char>(seq >> shift));
  m.append(hash);
  return m;
}

std::string AuditKey::PublicKeyPem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_->p) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> AuditKey::Sign(uint64_t seq, std::string_view hash) const {
  if (!has_private_) return Status::InvalidArgument("signing needs a private key");
  const std::string msg = CheckpointMessage(seq, hash);
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->p) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1) {
    return Status::Internal("signing a checkpoint: " + OpensslError());
  }
  sig.resize(len);
  return sig;
}

bool AuditKey::Verify(uint64_t seq, std::string_view hash, std::string_view signature) const {
  const std::string msg = CheckpointMessage(seq, hash);
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->p) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(msg.data()),
                       msg.size()) == 1;
  ERR_clear_error();
  return ok;
}

Status GenerateKey(const std::string& path) {
  EVP_PKEY* raw = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool made = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &raw) == 1;
  EVP_PKEY_CTX_free(ctx);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
  if (!made) return Status::Internal("generating an Ed25519 key: " + OpensslError());

  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Status::Internal("encoding the key: " + OpensslError());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);

  // O_EXCL: never replace a key that may have signed checkpoints already.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError(path + ": cannot create the key file (" + std::strerror(errno) +
                           (errno == EEXIST ? "; refusing to overwrite a key" : "") + ")");
  }
  fchmod(fd, 0600);  // whatever the umask
  ssize_t off = 0;
  while (off < n) {
    const ssize_t w = write(fd, data + off, static_cast<size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const std::string why = std::strerror(errno);
      close(fd);
      unlink(path.c_str());
      return Status::IoError(path + ": writing the key: " + why);
    }
    off += w;
  }
  if (fsync(fd) != 0 || close(fd) != 0)
    return Status::IoError(path + ": writing the key: " + std::strerror(errno));
  return Status::Ok();
}

Result<AuditKey> LoadPrivateKey(const std::string& path) {
  auto pem = ReadKeyFile(path, "signing key");
  if (!pem.ok()) return pem.status();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  auto key = std::make_unique<AuditKey::Pkey>();
  key->p = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!key->p) {
    ERR_clear_error();
    return Status::InvalidArgument(path + ": not a PEM private key");
  }
  if (EVP_PKEY_id(key->p) != EVP_PKEY_ED25519)
    return Status::InvalidArgument(path + ": the signing key must be Ed25519");
  return AuditKey(std::move(key), true);
}

Result<AuditKey> LoadPublicKey(const std::string& path) {
  auto pem = ReadKeyFile(path, "public key");
  if (!pem.ok()) return pem.status();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  auto key = std::make_unique<AuditKey::Pkey>();
  key->p = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  bool has_private = false;
  if (!key->p) {
    ERR_clear_error();
    std::unique_ptr<BIO, BioFree> again(
        BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    key->p = again ? PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr) : nullptr;
    has_private = key->p != nullptr;
  }
  if (!key->p) {
    ERR_clear_error();
    return Status::InvalidArgument(path + ": not a PEM public key");
  }
  if (EVP_PKEY_id(key->p) != EVP_PKEY_ED25519)
    return Status::InvalidArgument(path + ": the key must be Ed25519");
  return AuditKey(std::move(key), has_private);
}

}  // namespace tosgate::storage
