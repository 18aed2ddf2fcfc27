#include "engine/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <memory>

#include "engine/hex.h"

namespace tosgate::engine {
namespace {

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Fetched once for the process (never freed: it lives as long as OpenSSL).
const EVP_MD* Algorithm() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

void Sha256(std::string_view data, unsigned char* out) {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = Algorithm();
  unsigned int len = 0;
  if (md && ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
      EVP_DigestFinal_ex(ctx.get(), out, &len) == 1 && len == kSha256Size)
    return;
  // Only without memory or a provider: the one-shot, which fails the same
  // way loudly elsewhere, still gives the right digest when it can.
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[kSha256Size];
  Sha256(data, digest);
  return ToHex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace tosgate::engine
