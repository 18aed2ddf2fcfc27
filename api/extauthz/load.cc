// extauthz_load: checks per second against tosgate-extauthz, the way Envoy
// calls it, for bench/extauthz_compare.sh (which runs the HTTP endpoint
// beside it with wrk). CONNECTIONS channels, each with one check in flight
// at a time (as wrk keeps one request in flight per connection), all driven
// by one thread through a completion queue, for SECONDS; keys
// sk-bench-1..ACCOUNTS in turn, the requests built once beforehand (as
// wrk's script formats its requests once). A client as cheap as wrk, so
// that the figure is the server's.
//
//   extauthz_load ADDR SECONDS CONNECTIONS ACCOUNTS   ->  "<checks/s> <non-OK>"
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "api/extauthz/ext_authz.grpc.pb.h"

using envoy::service::auth::v3::Authorization;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

namespace {

struct Call {
  int channel = 0;
  std::unique_ptr<grpc::ClientContext> ctx;
  CheckResponse resp;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<CheckResponse>> rpc;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: extauthz_load ADDR SECONDS CONNECTIONS ACCOUNTS\n");
    return 2;
  }
  const std::string addr = argv[1];
  const double seconds = std::stod(argv[2]);
  const int connections = std::stoi(argv[3]), accounts = std::stoi(argv[4]);
  if (connections < 1 || accounts < 1) return 2;

  std::vector<CheckRequest> reqs(static_cast<size_t>(accounts));
  for (int k = 0; k < accounts; ++k) {
    CheckRequest& req = reqs[static_cast<size_t>(k)];
    req.mutable_attributes()->mutable_source()->mutable_address()->mutable_socket_address()->set_address(
        "127.0.0.1");
    auto* http = req.mutable_attributes()->mutable_request()->mutable_http();
    http->set_method("POST");
    http->set_path("/v1/chat/completions");
    (*http->mutable_headers())["content-type"] = "application/json";
    (*http->mutable_headers())["authorization"] = "Bearer sk-bench-" + std::to_string(k + 1);
    http->set_body(R"({"model":"m-large","messages":[{"role":"user","content":"hello"}],"max_tokens":16})");
  }
  std::vector<std::unique_ptr<Authorization::Stub>> stubs;
  for (int c = 0; c < connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // a connection per channel
    stubs.push_back(Authorization::NewStub(
        grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args)));
  }

  grpc::CompletionQueue cq;
  size_t next = 0;
  auto start_call = [&](Call* call) {
    call->ctx = std::make_unique<grpc::ClientContext>();
    call->resp.Clear();
    call->rpc = stubs[static_cast<size_t>(call->channel)]->PrepareAsyncCheck(
        call->ctx.get(), reqs[next++ % reqs.size()], &cq);
    call->rpc->StartCall();
    call->rpc->Finish(&call->resp, &call->status, call);
  };
  std::vector<Call> calls(static_cast<size_t>(connections));
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(seconds));
  for (int c = 0; c < connections; ++c) {
    calls[static_cast<size_t>(c)].channel = c;
    start_call(&calls[static_cast<size_t>(c)]);
  }
  long done = 0, refused = 0;
  int in_flight = connections;
  void* tag = nullptr;
  bool ok = false;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    auto* call = static_cast<Call*>(tag);
    --in_flight;
    ++done;
    if (!ok || !call->status.ok() || call->resp.status().code() != 0) ++refused;
    if (std::chrono::steady_clock::now() < end) {
      start_call(call);
      ++in_flight;
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  std::printf("%.0f %ld\n", static_cast<double>(done) / elapsed, refused);
  return 0;
}
