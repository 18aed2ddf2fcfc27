#include "storage/audit/sqlite/wal_checkpointer.h"

#include <system_error>

namespace tosgate::storage {

std::unique_ptr<WalCheckpointer> WalCheckpointer::Start(sqlite3* writer, const std::string& path,
                                                         bool synchronous_full,
                                                         int checkpoint_frames) {
  if (path == ":memory:") return nullptr;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return nullptr;
  // The checkpoint's own syncs follow this connection's setting.
  if (!Exec(raw, synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", path)
           .ok())
    return nullptr;
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, std::move(db), checkpoint_frames));
  try {
    c->thread_ = std::thread([p = c.get()] { p->Run(); });
  } catch (const std::system_error&) {
    return nullptr;
  }
  sqlite3_wal_hook(writer, &WalCheckpointer::Hook, c.get());
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    engine::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// On the writer's thread, right after each commit.
int WalCheckpointer::Hook(void* arg, sqlite3* db, const char* name, int frames) {
  auto* c = static_cast<WalCheckpointer*>(arg);
  if (frames >= 8 * c->frames_) {
    // The hard limit. A PASSIVE checkpoint gives up at once while another
    // one runs, so a background checkpoint kept off a core (a loaded box)
    // would let the WAL grow without bound: wait for it, then copy the rest
    // here. The next commit restarts the WAL from its beginning.
    engine::MutexLock lock(c->mu_);
    c->wanted_ = false;
    c->cv_.wait(lock.native(), [c]() REQUIRES(c->mu_) { return !c->running_; });
    lock.Unlock();
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (frames >= 4 * c->frames_) {
    // Best effort, as SQLite's auto-checkpoint: a failure here does not
    // undo the commit that just happened.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (frames >= c->frames_) {
    engine::MutexLock lock(c->mu_);
    if (!c->running_ && !c->wanted_) {
      c->wanted_ = true;
      c->cv_.notify_one();
    }
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  engine::MutexLock lock(mu_);
  for (;;) {
    cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return wanted_ || stop_; });
    if (stop_) return;
    wanted_ = false;
    running_ = true;
    lock.Unlock();
    // PASSIVE copies what no reader still needs and never blocks the writer.
    sqlite3_wal_checkpoint_v2(db_.get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.Lock();
    running_ = false;
    cv_.notify_all();  // a writer past the hard limit waits for this one
  }
}

}  // namespace tosgate::storage
