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
#pragma once

#include <atomic>
#include <chrono>
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

// The record as the frame's JSON, and back. Every field of AuditRecord.
std::string EncodeAuditRecord(const engine::AuditRecord& r);
Status DecodeAuditRecord(std::string_view json, engine::AuditRecord* out);

class SocketAuditSink final : public engine::AuditSink {
 public:
  // Connects lazily (at the first Submit, and again after an error), so the
  // writer may start after the sink.
  explicit SocketAuditSink(std::string path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~SocketAuditSink() override;
  Status Submit(engine::AuditRecord record) override;

 private:
  Status Connect();
  void Disconnect();
  const std::string path_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;  // one record in flight per connection
  int fd_ = -1;
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
