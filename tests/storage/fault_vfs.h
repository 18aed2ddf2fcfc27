// A SQLite VFS that wraps the default one and fails writes on demand, so a
// test can fill the disk or make the file system read-only without root and
// without timing: what the audit writer sees is exactly what SQLite returns
// for ENOSPC (SQLITE_FULL) and for EROFS (SQLITE_IOERR_WRITE).
//
// While a FaultVfs lives it is the default VFS, so every connection opened
// meanwhile goes through it; close those connections before it goes.
#pragma once

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>

namespace tosgate::storage::audit_test {

class FaultVfs {
 public:
  enum class Fault { kNone, kDiskFull, kReadOnly };

  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    REQUIRE(real_ != nullptr);
    vfs_ = *real_;  // same pAppData: the real methods see what they expect
    vfs_.zName = "tosgate-fault";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = &Open;
    vfs_.pNext = nullptr;
    REQUIRE(sqlite3_vfs_register(&vfs_, /*makeDflt=*/1) == SQLITE_OK);
  }
  ~FaultVfs() {
    fault_ = Fault::kNone;
    sqlite3_vfs_register(real_, 1);
    sqlite3_vfs_unregister(&vfs_);
  }
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  void Set(Fault f) { fault_ = f; }
  // Writes refused so far (each is one failed SQLite write call).
  static uint64_t refused() { return refused_; }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;  // right after this struct, szOsFile bytes
  };
  static sqlite3_file* R(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  static int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out) {
    File* file = reinterpret_cast<File*>(f);
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    const int rc = real_->xOpen(real_, name, file->real, flags, out);
    file->base.pMethods = file->real->pMethods ? &kMethods : nullptr;
    return rc;
  }
  static int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
    switch (fault_.load()) {
      case Fault::kDiskFull: ++refused_; return SQLITE_FULL;        // ENOSPC
      case Fault::kReadOnly: ++refused_; return SQLITE_IOERR_WRITE;  // EROFS
      case Fault::kNone: break;
    }
    return R(f)->pMethods->xWrite(R(f), p, n, off);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (fault_.load() == Fault::kReadOnly) return SQLITE_IOERR_TRUNCATE;
    return R(f)->pMethods->xTruncate(R(f), size);
  }

  static constexpr sqlite3_io_methods kMethods = {
      3,
      [](sqlite3_file* f) { return R(f)->pMethods->xClose(R(f)); },
      [](sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
        return R(f)->pMethods->xRead(R(f), p, n, off);
      },
      &Write,
      &Truncate,
      [](sqlite3_file* f, int flags) { return R(f)->pMethods->xSync(R(f), flags); },
      [](sqlite3_file* f, sqlite3_int64* size) { return R(f)->pMethods->xFileSize(R(f), size); },
      [](sqlite3_file* f, int l) { return R(f)->pMethods->xLock(R(f), l); },
      [](sqlite3_file* f, int l) { return R(f)->pMethods->xUnlock(R(f), l); },
      [](sqlite3_file* f, int* out) { return R(f)->pMethods->xCheckReservedLock(R(f), out); },
      [](sqlite3_file* f, int op, void* arg) { return R(f)->pMethods->xFileControl(R(f), op, arg); },
      [](sqlite3_file* f) { return R(f)->pMethods->xSectorSize(R(f)); },
      [](sqlite3_file* f) { return R(f)->pMethods->xDeviceCharacteristics(R(f)); },
      [](sqlite3_file* f, int pg, int sz, int extend, void volatile** p) {
        return R(f)->pMethods->xShmMap(R(f), pg, sz, extend, p);
      },
      [](sqlite3_file* f, int off, int n, int flags) {
        return R(f)->pMethods->xShmLock(R(f), off, n, flags);
      },
      [](sqlite3_file* f) { R(f)->pMethods->xShmBarrier(R(f)); },
      [](sqlite3_file* f, int del) { return R(f)->pMethods->xShmUnmap(R(f), del); },
      [](sqlite3_file* f, sqlite3_int64 off, int n, void** p) {
        return R(f)->pMethods->xFetch(R(f), off, n, p);
      },
      [](sqlite3_file* f, sqlite3_int64 off, void* p) {
        return R(f)->pMethods->xUnfetch(R(f), off, p);
      },
  };

  static inline sqlite3_vfs* real_ = nullptr;
  static inline std::atomic<Fault> fault_{Fault::kNone};
  static inline std::atomic<uint64_t> refused_{0};
  sqlite3_vfs vfs_{};
};

}  // namespace tosgate::storage::audit_test
