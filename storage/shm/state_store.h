// A StateStore in shared memory, for processes on one machine that must
// count the same limits: nginx's worker processes, each with its own engine
// (plugins/nginx/). The memory store's semantics exactly (engine/meters.h
// holds the one copy of the meter arithmetic), over a fixed table that lives
// in a region every process maps at its own address.
//
// Layout: a header, then `stripes` stripes of `slots_per_stripe` slots. A key
// goes to the stripe its fingerprint names; each stripe has its own
// process-shared robust mutex (a worker that dies holding it does not stop
// the others) and is searched linearly, so a stripe is small (64 slots by
// default: 3.5 KiB, a few cache lines a lookup). A meter takes one slot; a
// concurrency lease takes one slot per lease held. A full stripe evicts its
// idle slots (counted) and otherwise refuses the new key (ResourceExhausted,
// counted), like the memory store: a live count is never forgotten.
//
// Nothing in the region is a pointer, so each process may map it anywhere.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/state_store.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct ShmStateOptions {
  size_t slots_per_stripe = 64;
};

// Bytes a region needs to hold `max_entries` slots.
size_t ShmStateBytes(size_t max_entries, ShmStateOptions opts = {});

// Lays out an empty table in `bytes` at `base` (zeroed or not), for the
// process that creates the region, before any other process attaches.
Status InitShmState(void* base, size_t bytes, ShmStateOptions opts = {});

// A store over a region InitShmState laid out (checked: a region of another
// layout or version is an error). The region must outlive the store; the
// store does not unmap it.
Result<std::unique_ptr<engine::StateStore>> AttachShmState(void* base, size_t bytes);

// An anonymous shared mapping: what fork()ed children inherit and share.
// For tests and for hosts without their own shared memory.
class ShmRegion {
 public:
  static Result<std::unique_ptr<ShmRegion>> Create(size_t bytes);
  ~ShmRegion();
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;
  void* base() const { return base_; }
  size_t bytes() const { return bytes_; }

 private:
  ShmRegion(void* base, size_t bytes) : base_(base), bytes_(bytes) {}
  void* base_;
  size_t bytes_;
};

}  // namespace tosgate::storage
