#include "storage/audit/anchor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/hex.h"
#include "storage/audit/chain.h"

namespace tosgate::storage {
namespace {

using json = nlohmann::ordered_json;

constexpr char kFormat[] = "tosgate.audit.anchor.v1";

Status Errno(const std::string& path, const char* what) {
  return Status::IoError(path + ": " + what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t w = write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno(path, "writing the anchor");
    off += static_cast<size_t>(w);
  }
  return Status::Ok();
}

}  // namespace

std::string AnchorJson(const AuditCheckpoint& cp) {
  json j;
  j["format"] = kFormat;
  j["store"] = cp.store;
  if (!cp.instance.empty()) j["instance"] = cp.instance;
  j["seq"] = cp.seq;
  j["hash"] = engine::ToHex(cp.hash);
  j["signature"] = engine::ToHex(cp.signature);
  j["key_id"] = cp.key_id;
  j["signed_at_ms"] = cp.signed_at_ms;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<AuditCheckpoint> ParseAnchor(std::string_view text, const std::string& what) {
  auto bad = [&what](const std::string& why) {
    return Status::InvalidArgument(what + ": not a tosgate audit anchor (" + why + ")");
  };
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto str = [&j](const char* k) -> const std::string* {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* format = str("format");
  if (!format || *format != kFormat)
    return bad(std::string("\"format\" is not \"") + kFormat + "\"");
  AuditCheckpoint cp;
  const std::string* store = str("store");
  if (!store || (*store != "sqlite" && *store != "postgres"))
    return bad("\"store\" is not \"sqlite\" or \"postgres\"");
  cp.store = *store;
  if (const std::string* inst = str("instance")) cp.instance = *inst;
  if (cp.store == "postgres" && cp.instance.empty())
    return bad("a postgres anchor names no instance");
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0)
    return bad("\"seq\" is not a positive integer");
  cp.seq = seq->get<uint64_t>();
  const std::string* hash = str("hash");
  cp.hash = hash ? engine::FromHex(*hash) : "";
  if (cp.hash.size() != kAuditHashSize) return bad("\"hash\" is not 64 hex digits");
  if (const std::string* sig = str("signature"); sig && !sig->empty()) {
    cp.signature = engine::FromHex(*sig);
    if (cp.signature.size() != 64) return bad("\"signature\" is not 128 hex digits");
  }
  if (const std::string* k = str("key_id")) cp.key_id = *k;
  if (auto t = j.find("signed_at_ms"); t != j.end() && t->is_number_integer())
    cp.signed_at_ms = t->get<int64_t>();
  return cp;
}

Status WriteAnchorFile(const std::string& path, const AuditCheckpoint& cp) {
  const std::string tmp = path + ".tmp";
  const std::string text = AnchorJson(cp);
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(tmp, "cannot create the anchor's temporary file");
  Status s = WriteAll(fd, text, tmp);
  if (s.ok() && fsync(fd) != 0) s = Errno(tmp, "fsync");
  if (close(fd) != 0 && s.ok()) s = Errno(tmp, "close");
  if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    s = Errno(path, "cannot replace the anchor");
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno(dir, "opening the anchor's directory to sync it");
  const bool synced = fsync(dfd) == 0;
  const int saved = errno;
  close(dfd);
  errno = saved;
  if (!synced) return Errno(dir, "fsync of the anchor's directory");
  return Status::Ok();
}

Result<AuditCheckpoint> ReadAnchorFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no anchor file");
    return Errno(path, "cannot read the anchor");
  }
  // An anchor is a few hundred bytes; more is not one.
  constexpr size_t kMaxAnchor = 64 * 1024;
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno(path, "cannot read the anchor");
      close(fd);
      return s;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxAnchor) break;
  }
  close(fd);
  if (text.size() > kMaxAnchor) return ParseAnchor("", path);
  return ParseAnchor(text, path);
}

Result<std::optional<AuditCheckpoint>> AnchorFile::Latest() const {
  auto cp = ReadAnchorFile(path_);
  if (cp.ok()) return std::optional<AuditCheckpoint>(std::move(cp).value());
  if (cp.status().code() == Status::Code::kNotFound) return std::optional<AuditCheckpoint>();
  return cp.status();
}

}  // namespace tosgate::storage
