// extauthz_load: checks per second against tosgate-extauthz, the way Envoy
// calls it, for bench/extauthz_compare.sh (which runs the HTTP endpoint
// beside it with wrk). THREADS blocking clients, each on its own channel,
// for SECONDS; keys sk-bench-1..ACCOUNTS in turn.
//
//   extauthz_load ADDR SECONDS THREADS ACCOUNTS   ->  "<checks/s> <non-OK>"
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "api/extauthz/ext_authz.grpc.pb.h"

using envoy::service::auth::v3::Authorization;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: extauthz_load ADDR SECONDS THREADS ACCOUNTS\n");
    return 2;
  }
  const std::string addr = argv[1];
  const double seconds = std::stod(argv[2]);
  const int threads = std::stoi(argv[3]), accounts = std::stoi(argv[4]);
  std::atomic<long> done{0}, refused{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("grpc.channel_id", t);  // a connection per client
      auto stub = Authorization::NewStub(
          grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args));
      CheckRequest req;
      auto* http = req.mutable_attributes()->mutable_request()->mutable_http();
      req.mutable_attributes()->mutable_source()->mutable_address()->mutable_socket_address()->set_address("127.0.0.1");
      http->set_method("POST");
      http->set_path("/v1/chat/completions");
      (*http->mutable_headers())["content-type"] = "application/json";
      http->set_body(R"({"model":"m-large","messages":[{"role":"user","content":"hello"}],"max_tokens":16})");
      long i = t * 7919;
      while (!stop.load(std::memory_order_relaxed)) {
        (*http->mutable_headers())["authorization"] = "Bearer sk-bench-" + std::to_string(i++ % accounts + 1);
        CheckResponse resp;
        grpc::ClientContext ctx;
        grpc::Status s = stub->Check(&ctx, req, &resp);
        done.fetch_add(1, std::memory_order_relaxed);
        if (!s.ok() || resp.status().code() != 0) refused.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : ts) th.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f %ld\n", done.load() / elapsed, refused.load());
  return 0;
}
