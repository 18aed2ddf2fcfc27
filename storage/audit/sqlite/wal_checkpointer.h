// WalCheckpointer: checkpoints the audit store's WAL on its own thread and
// connection, so the writer's commits neither copy pages into the database
// file nor fsync it. Private to storage/ (sqlite_audit.cc).
//
// It replaces SQLite's auto-checkpoint on the writer's connection (both are
// a WAL hook): after a commit that leaves the WAL at kCheckpointFrames pages
// or more, it wakes its thread for a PASSIVE checkpoint, which never blocks
// the writer. A PASSIVE checkpoint copies only the frames committed when it
// starts, and the WAL restarts from its beginning only once a checkpoint has
// copied everything; under steady writes that rarely happens between two
// commits, so at four times kCheckpointFrames the writer checkpoints itself after its
// commit. The background one has copied most frames by then, so that one is
// short. That inline checkpoint gives up while the background one still
// runs (one checkpoint at a time); at eight times kCheckpointFrames, the
// hard limit, the writer waits for it and then checkpoints, so the WAL stays
// bounded however long the background thread waits for a core.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/thread_annotations.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {

class WalCheckpointer {
 public:
  static constexpr int kCheckpointFrames = 8192;  // 32 MB of 4 KB pages

  // Opens a second connection to `path`, starts the thread and installs
  // the hook on `writer`. Null when it cannot (":memory:", no connection,
  // no thread): the writer then keeps SQLite's own auto-checkpoint.
  // `checkpoint_frames` wakes the thread; the writer checkpoints itself at
  // four times that, and waits for the thread's checkpoint at eight times.
  static std::unique_ptr<WalCheckpointer> Start(sqlite3* writer, const std::string& path,
                                                bool synchronous_full,
                                                int checkpoint_frames = kCheckpointFrames);

  // Removes the hook, stops the thread, closes its connection. Call it
  // before closing the writer's connection (the last one to close
  // checkpoints everything and removes the WAL), and not while the writer
  // commits.
  ~WalCheckpointer();

  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  WalCheckpointer(sqlite3* writer, SqliteDb db, int frames)
      : writer_(writer), db_(std::move(db)), frames_(frames) {}
  static int Hook(void* arg, sqlite3* db, const char* name, int frames);
  void Run();

  sqlite3* const writer_;
  SqliteDb db_;
  const int frames_;
  std::thread thread_;
  engine::Mutex mu_;
  std::condition_variable cv_;
  bool wanted_ GUARDED_BY(mu_) = false;
  bool running_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
};

}  // namespace tosgate::storage
