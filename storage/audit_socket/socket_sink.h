// Audit records to one writer over a Unix socket.
//
// The hash chain of an audit store needs one writer, and nginx's workers are
// separate processes, each with its own engine. So each engine's sink sends
// its records to a local writer process (tools/audit_writer,
// `tosgate-audit-writer`) that owns the SQLite store, and the writer
// answers each record once its own sink accepted it: with
// `--durability sync`, once the record's transaction is committed with
// synchronous=FULL (records from every worker share a commit). Submit waits
// for that answer, so the engine answers a request only once its record is
// as durable as the writer promises: today's guarantee, across processes.
//
// The framing, both ways on one stream connection:
//   request: 4-byte little-endian length, then the record as one JSON object
//   answer:  1 byte per request, in order: 0 accepted, 1 refused
// A refused record, a writer that is gone or one that does not answer within
// the timeout is Unavailable, and the engine decides by failure_mode.
//
// Mode::kAsync is the socket's `audit.durability: async`: Submit appends the
// frame to a queue and returns (no system call, no wait); a thread of the
// sink sends the queue in batches (what gathered while the last one was
// sent, after at most kLinger) and reads the acknowledgements as they come.
// A frame not yet acknowledged when the writer or the process dies is lost;
// a queue over kMaxQueue bytes (the writer gone for long) refuses records.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/audit_sink.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// The record as the frame's JSON, and back. Every field of AuditRecord
// (frame.cc). AppendAuditFrame appends the whole frame, length included.
std::string EncodeAuditRecord(const engine::AuditRecord& r);
void AppendAuditRecordJson(std::string* out, const engine::AuditRecord& r);
void AppendAuditFrame(std::string* out, const engine::AuditRecord& r);
Status DecodeAuditRecord(std::string_view json, engine::AuditRecord* out);

class SocketAuditSink final : public engine::AuditSink {
 public:
  enum class Mode : uint8_t { kSync, kAsync };
  static constexpr std::chrono::milliseconds kLinger{2};
  static constexpr size_t kBatchBytes = 64u << 10;
  static constexpr size_t kMaxQueue = 64u << 20;

  // Connects lazily (at the first record, and again after an error), so the
  // writer may start after the sink. `timeout` bounds every wait for the
  // writer (an answer, room to send).
  explicit SocketAuditSink(std::string path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5),
                           Mode mode = Mode::kSync);
  // kAsync: sends what is queued and waits up to the timeout for its
  // acknowledgements.
  ~SocketAuditSink() override;
  Status Submit(engine::AuditRecord record) override;

  // kAsync: sends what is queued now and waits (up to the timeout) until
  // the writer acknowledged every frame sent; whether it did. kSync: true.
  bool Flush();
  // kAsync's tallies: frames the writer acknowledged, refused, and lost
  // (sent on a connection that broke before their answer).
  uint64_t acknowledged() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

 private:
  Status Connect();
  void Disconnect();
  // kAsync, the sender thread's.
  void SendLoop();
  bool SendAll(const std::string& batch);
  bool ReadAnswers(int wait_ms);
  void DropConnection();

  const std::string path_;
  const std::chrono::milliseconds timeout_;
  const Mode mode_;
  std::mutex mu_;  // kSync: one record in flight per connection
  int fd_ = -1;    // kSync: under mu_; kAsync: the sender's
  // kAsync: the queue, under qmu_.
  std::mutex qmu_;
  std::condition_variable wake_;    // the sender: frames, a flush or stop
  std::condition_variable flushed_;  // Flush: its generation is done
  std::string queue_;
  uint64_t queued_frames_ = 0;
  uint64_t flush_wanted_ = 0, flush_done_ = 0;
  bool flush_ok_ = false;  // the last flush sent everything and had every answer
  bool stop_ = false;
  uint64_t in_flight_ = 0;  // sent, not yet answered (the sender's)
  std::atomic<uint64_t> acked_{0}, refused_{0}, lost_{0};
  std::thread sender_;
};

// The writer's side: accepts connections on `path` and hands every record
// to `sink` (its Submit decides the answer), a thread per connection (one
// per nginx worker). Stop or the destructor closes everything.
class AuditSocketServer {
 public:
  static Result<std::unique_ptr<AuditSocketServer>> Start(std::string path, engine::AuditSink* sink);
  ~AuditSocketServer();
  void Stop();
  uint64_t records() const;

 private:
  AuditSocketServer(std::string path, int listen_fd, engine::AuditSink* sink);
  void AcceptLoop();
  void Serve(int fd);
  const std::string path_;
  int listen_fd_;
  engine::AuditSink* sink_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  bool stopping_ = false;
  std::atomic<uint64_t> records_{0};
};

}  // namespace tosgate::storage
