// The audit writer's background WAL checkpointer keeps the WAL bounded
// under steady commits and loses nothing.
#include "storage/audit/sqlite/wal_checkpointer.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "temp_dir.h"

namespace tosgate::storage {
namespace {

TEST_CASE("WalCheckpointer keeps the WAL small under steady commits, and loses no row") {
  test::TempDir dir;
  const std::string path = dir.File("wal.db");
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  SqliteDb db(raw);
  REQUIRE(Exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; CREATE TABLE t (x BLOB)",
               path)
              .ok());
  constexpr int kFrames = 16;  // wake the thread at 16 pages, checkpoint inline at 64
  auto cp = WalCheckpointer::Start(raw, path, /*synchronous_full=*/false, kFrames);
  REQUIRE(cp != nullptr);

  // 3,000 commits of one row a page long: at least 2 WAL frames each, a WAL
  // of 24 MB or more without checkpoints.
  auto st = Prepare(raw, "INSERT INTO t (x) VALUES (zeroblob(4000))", path);
  REQUIRE(st.ok());
  uintmax_t largest_wal = 0;
  for (int i = 0; i < 3000; ++i) {
    REQUIRE(sqlite3_step(st->get()) == SQLITE_DONE);
    sqlite3_reset(st->get());
    largest_wal = std::max(largest_wal, std::filesystem::file_size(path + "-wal"));
  }
  // The writer checkpoints itself at 64 frames unless the background
  // checkpoint is running, and at 128 frames (the hard limit) it waits for
  // that one and checkpoints; the next commit then restarts the WAL. So
  // however long the background thread waits for a core, the WAL stays
  // within the hard limit plus a few commits: 128 + 8 frames of 4,120
  // bytes. Without the hard limit 8.4, 15 and 31 MB were seen on a loaded
  // box; with no checkpoint at all it reaches 24.7 MB.
  CHECK(largest_wal <= 32 + (8 * kFrames + 8) * 4120);
  cp.reset();

  auto count = Prepare(raw, "SELECT count(*) FROM t", path);
  REQUIRE(count.ok());
  REQUIRE(sqlite3_step(count->get()) == SQLITE_ROW);
  CHECK(sqlite3_column_int64(count->get(), 0) == 3000);
}

TEST_CASE("WalCheckpointer is not started for an in-memory database") {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(":memory:", &raw) == SQLITE_OK);
  SqliteDb db(raw);
  CHECK(WalCheckpointer::Start(raw, ":memory:", false) == nullptr);
}

}  // namespace
}  // namespace tosgate::storage
