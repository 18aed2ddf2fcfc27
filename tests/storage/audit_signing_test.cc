#include "storage/audit/signing.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <string>

#include "temp_dir.h"

namespace tosgate::storage {
namespace {

TEST_CASE("GenerateKey writes a 0600 Ed25519 key once; it signs and verifies checkpoints") {
  test::TempDir dir;
  const std::string path = dir.File("k.pem");
  REQUIRE(GenerateKey(path).ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  Status again = GenerateKey(path);
  CHECK_FALSE(again.ok());
  CHECK(again.message().find("refusing to overwrite") != std::string::npos);

  auto priv = LoadPrivateKey(path);
  REQUIRE_MESSAGE(priv.ok(), priv.status().ToString());
  CHECK(priv->has_private());
  CHECK(priv->key_id().size() == 16);
  const std::string pem = priv->PublicKeyPem();
  CHECK(pem.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);

  const std::string pub_path = dir.Write("pub.pem", pem);
  auto pub = LoadPublicKey(pub_path);
  REQUIRE(pub.ok());
  CHECK_FALSE(pub->has_private());
  CHECK(pub->key_id() == priv->key_id());
  CHECK_FALSE(pub->Sign(1, std::string(32, 'h')).ok());  // no private half

  const std::string hash(32, '\x5a');
  auto sig = priv->Sign(42, hash);
  REQUIRE(sig.ok());
  CHECK(sig->size() == 64);
  CHECK(pub->Verify(42, hash, *sig));
  CHECK_FALSE(pub->Verify(43, hash, *sig));  // another seq
  std::string other = hash;
  other[0] ^= 1;
  CHECK_FALSE(pub->Verify(42, other, *sig));  // another hash
  std::string bad = *sig;
  bad[10] ^= 1;
  CHECK_FALSE(pub->Verify(42, hash, bad));
  CHECK_FALSE(pub->Verify(42, hash, ""));

  // A second key does not verify the first one's signatures.
  REQUIRE(GenerateKey(dir.File("k2.pem")).ok());
  auto second = LoadPublicKey(dir.File("k2.pem"));
  REQUIRE(second.ok());
  CHECK(second->key_id() != priv->key_id());
  CHECK_FALSE(second->Verify(42, hash, *sig));
}

TEST_CASE("loading keys names the file and says why") {
  test::TempDir dir;
  auto missing = LoadPrivateKey(dir.File("nope.pem"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find(dir.File("nope.pem")) != std::string::npos);
  CHECK(missing.status().message().find("cannot read") != std::string::npos);

  const std::string junk = dir.Write("junk.pem", "hello");
  auto not_pem = LoadPublicKey(junk);
  REQUIRE_FALSE(not_pem.ok());
  CHECK(not_pem.status().message().find(junk) != std::string::npos);

  REQUIRE(GenerateKey(dir.File("k.pem")).ok());
  auto pub = LoadPrivateKey(dir.File("k.pem"));
  REQUIRE(pub.ok());
  const std::string pub_only = dir.Write("pub.pem", pub->PublicKeyPem());
  auto as_private = LoadPrivateKey(pub_only);  // a public key is not a signing key
  REQUIRE_FALSE(as_private.ok());
  CHECK(as_private.status().message().find("not a PEM private key") != std::string::npos);

  CHECK_FALSE(GenerateKey(dir.File("no-such-dir/k.pem")).ok());
}

}  // namespace
}  // namespace tosgate::storage
