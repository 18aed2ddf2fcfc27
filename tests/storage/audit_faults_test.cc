// Fault injection for the audit store: the disk fills up, the file system
// turns read-only, another process holds the lock, the file is deleted while
// the writer runs. Each time: a waiting submitter gets an error within
// commit_timeout (the engine's failure_mode then decides), the failure is
// counted, nothing acknowledged is lost, and writing resumes once the fault
// is gone. The table in docs/hardening.md#fault-injection says the same.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "audit_test_support.h"
#include "fault_vfs.h"
#include "storage/audit/verify.h"
#include "storage/audit/sqlite/sink.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::FaultVfs;
using audit_test::LockHolder;
using audit_test::OpenSink;
using audit_test::Rec;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

void ExpectVerifies(const std::string& path, uint64_t records) {
  auto v = VerifyAuditStore(path);
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  CHECK_MESSAGE(v->ok, v->problem);
  CHECK(v->records == records);
}

// Flush returns a commit error that happened meanwhile (an attempt begun
// before the fault was cleared); ask again until it is OK, bounded.
bool FlushWithin(SqliteAuditSink& sink, std::chrono::milliseconds limit) {
  const auto until = SteadyClock::now() + limit;
  while (!sink.Flush().ok())
    if (SteadyClock::now() > until) return false;
  return true;
}

SqliteAuditOptions FaultOptions(const std::string& path) {
  SqliteAuditOptions o;
  o.path = path;
  o.durability = Durability::kSync;
  o.queue_capacity = 4;
  o.queue_wait = 10ms;
  o.busy_timeout = 10ms;
  o.commit_timeout = 100ms;
  return o;
}

// While `fault` lasts: the waiting submitter is answered after
// commit_timeout, a full queue refuses at once, both counted; then the fault
// is cleared and everything accepted is written.
void FailThenRecover(SqliteAuditSink& sink, const std::string& path, const std::function<void()>& fault,
                     const std::function<void()>& clear, const std::string& why) {
  for (int i = 0; i < 3; ++i) REQUIRE(sink.Submit(Rec("before-" + std::to_string(i))).ok());
  fault();

  const auto start = SteadyClock::now();
  Status late = sink.Submit(Rec("during"));
  const auto waited = SteadyClock::now() - start;
  CHECK(late.code() == Status::Code::kUnavailable);
  CHECK_MESSAGE(late.message().find(why) != std::string::npos, late.message());
  CHECK_MESSAGE(late.message().find("stays queued") != std::string::npos, late.message());
  CHECK(waited >= 100ms);
  CHECK(waited < 3s);

  // Three more fill the queue (capacity 4, "during" holds one place)...
  for (int i = 0; i < 3; ++i) sink.SubmitThen(Rec("queued-" + std::to_string(i)), [](Status) {});
  // ...so the next is refused after queue_wait, naming the write error.
  Status full = sink.Submit(Rec("refused"));
  CHECK(full.code() == Status::Code::kResourceExhausted);
  CHECK_MESSAGE(full.message().find(why) != std::string::npos, full.message());

  SqliteAuditSink::Stats st = sink.stats();
  CHECK(st.write_errors >= 1);
  CHECK(st.commit_timeouts >= 1);
  CHECK(st.rejected_full == 1);
  CHECK(st.written == 3);
  CHECK(st.queue_depth == 4);

  clear();
  REQUIRE(FlushWithin(sink, 5s));
  st = sink.stats();
  CHECK(st.written == 7);
  CHECK(st.dropped == 0);
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE id = 'during'") == 1);
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE id = 'refused'") == 0);
  REQUIRE(sink.Submit(Rec("after")).ok());
  REQUIRE(sink.Close().ok());
  ExpectVerifies(path, 8);
}

TEST_CASE("faults: disk full fails commits, keeps what was accepted, and writing resumes") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  FaultVfs vfs;
  auto sink = OpenSink(FaultOptions(path));
  FailThenRecover(
      *sink, path, [&] { vfs.Set(FaultVfs::Fault::kDiskFull); },
      [&] { vfs.Set(FaultVfs::Fault::kNone); }, "database or disk is full");
  CHECK(FaultVfs::refused() > 0);
}

TEST_CASE("faults: a file system turned read-only fails commits the same way") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  FaultVfs vfs;
  auto sink = OpenSink(FaultOptions(path));
  FailThenRecover(
      *sink, path, [&] { vfs.Set(FaultVfs::Fault::kReadOnly); },
      [&] { vfs.Set(FaultVfs::Fault::kNone); }, "disk I/O error");
}

TEST_CASE("faults: a store locked by another connection fails commits until the lock goes") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink(FaultOptions(path));
  std::unique_ptr<LockHolder> lock;
  FailThenRecover(
      *sink, path, [&] { lock = std::make_unique<LockHolder>(path); }, [&] { lock.reset(); },
      "database is locked");
}

void Unlink(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
}

TEST_CASE("faults: a store file deleted while the writer runs is written back whole") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink(FaultOptions(path));
  for (int i = 0; i < 3; ++i) REQUIRE(sink->Submit(Rec("before-" + std::to_string(i))).ok());
  Unlink(path);
  REQUIRE_FALSE(std::filesystem::exists(path));
  // Noticed before the next commit: the copy holds the chain from seq 1.
  REQUIRE(sink->Submit(Rec("after-0")).ok());
  CHECK(sink->stats().recreated == 1);
  CHECK(std::filesystem::exists(path));
  CHECK(CountSql(path, "SELECT count(*) FROM decisions") == 4);
  REQUIRE(sink->Submit(Rec("after-1")).ok());
  CHECK(sink->stats().write_errors == 0);
  REQUIRE(sink->Close().ok());
  ExpectVerifies(path, 5);
}

TEST_CASE("faults: a deletion after the last commit is written back at Close") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink(FaultOptions(path));
  for (int i = 0; i < 3; ++i) REQUIRE(sink->Submit(Rec("r" + std::to_string(i))).ok());
  Unlink(path);
  REQUIRE(sink->Close().ok());
  CHECK(sink->stats().recreated == 1);
  ExpectVerifies(path, 3);
}

TEST_CASE("faults: a deleted directory holds records in memory until it is back") {
  test::TempDir dir;
  const std::string sub = dir.File("var");
  std::filesystem::create_directory(sub);
  const std::string path = sub + "/audit.db";
  auto sink = OpenSink(FaultOptions(path));
  FailThenRecover(
      *sink, path, [&] { std::filesystem::remove_all(sub); },
      [&] { std::filesystem::create_directory(sub); }, "deleted or moved while open");
  CHECK(sink->stats().recreated == 1);
}

TEST_CASE("faults: another file put at the path is left alone, never continued") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink(FaultOptions(path));
  REQUIRE(sink->Submit(Rec("mine")).ok());
  Unlink(path);
  {  // someone else's store appears at the path
    auto other = OpenSink({.path = path});
    REQUIRE(other->Submit(Rec("theirs")).ok());
    REQUIRE(other->Close().ok());
  }
  Status s = sink->Submit(Rec("late"));
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK_MESSAGE(s.message().find("another file is at that path") != std::string::npos, s.message());
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE id = 'theirs'") == 1);
  CHECK(CountSql(path, "SELECT count(*) FROM decisions") == 1);
  // Moving the stranger away lets ours come back, with both of our records.
  std::filesystem::rename(path, dir.File("theirs.db"));
  for (const char* suffix : {"-wal", "-shm"}) ::unlink((path + suffix).c_str());
  REQUIRE(FlushWithin(*sink, 5s));
  REQUIRE(sink->Close().ok());
  ExpectVerifies(path, 2);
}

}  // namespace
}  // namespace tosgate::storage
