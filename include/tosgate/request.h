// Request: what tosgate knows about one API request when it decides.
//
// Filled by the front end (forward-auth handler, inline proxy, replay, or an
// embedding program) and read by the engine. It owns its strings; the engine
// never keeps a reference past check(). Not synchronized: one request is
// handled by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tosgate {

// A per-account replacement for one limit of one rule (set in the accounts
// registry or through the admin API): it replaces the amount and burst of the
// limit the account's tier would get; per_ns 0 keeps that limit's window.
struct LimitOverride {
  std::string rule_id;
  int64_t amount = 0;   // requests, tokens or concurrent requests
  int64_t per_ns = 0;   // window; 0 keeps the rule's
  int64_t burst = 0;    // extra requests at once
  // How the amount was written: requests, tokens or concurrent ("" reads as
  // requests). Initialized so that {rule, amount, per, burst} still compiles.
  std::string unit{};
};

// An account as the registry knows it. Keys are stored only as key ids
// (SHA-256 of the secret, hex), never as secrets.
struct Account {
  std::string id;
  std::string org;
  std::string tier;
  std::string country;
  std::vector<std::string> flags;
  bool suspended = false;
  int64_t created_ms = 0;  // since the Unix epoch; 0 when unknown
  std::string payment_fingerprint;
  std::string device_fingerprint;  // optional; competitor_training links accounts by it
  std::vector<std::string> key_ids;
  std::vector<LimitOverride> limit_overrides;
  // When the API key this request came with was created (ms since the Unix
  // epoch); 0 when unknown or the account was not found by key. Directories
  // that know key ages (the accounts registry) fill it per key.
  int64_t key_created_ms = 0;
};

// What the request body says, when there is a body that was understood.
// Numbers are -1 when the body does not give them.
struct RequestBody {
  bool present = false;
  std::string model;
  int64_t max_tokens = -1;
  int64_t n = -1;
  bool stream = false;
  bool logprobs = false;
  int64_t top_logprobs = -1;
  int64_t logit_bias_count = 0;
  int64_t tools_count = 0;
  int64_t message_count = 0;
  int64_t prompt_chars = 0;
  std::string prompt_text;  // all messages concatenated with their roles
  // Which body shape was understood: "chat", "responses", "completions",
  // "embeddings", "messages" (Anthropic), "gemini" (generateContent),
  // "batch" (Anthropic Message Batches, Gemini batches) or "files" (a
  // multipart upload); empty when unknown.
  std::string api;
  std::string system_text;  // system / developer / instructions text only
  std::string user_text;    // user turns only
  std::string reasoning_effort;     // "low" | "medium" | "high" when given
  int64_t thinking_budget = -1;     // Anthropic thinking.budget_tokens
  double temperature = -1;          // temperature, when given
  uint64_t tools_hash = 0;          // of the tool definitions as sent; 0: none
  std::string user;                 // `user` or metadata.user_id
  std::string metadata_purpose;     // metadata.purpose, when given
  // What the body holds that no content rule can read, so a policy can
  // refuse it (docs/request-understanding.md): a prompt or input given as
  // token ids (body.token_prompt), and the number of content parts that are
  // not text: images, audio, files referenced by id or URL, token arrays
  // (body.unscanned_parts).
  bool token_prompt = false;
  int64_t unscanned_parts = 0;
  // Requests in a batch (Anthropic Message Batches, a JSON Lines file
  // upload), whose texts are all in the fields above; 0 for one request.
  int64_t batch_requests = 0;
  std::string file_purpose;  // a file upload's `purpose` form field
  // Requests of the batch that set no max_tokens (a cost budget reserves
  // its default output for each).
  int64_t batch_unbounded_requests = 0;
  // OpenAI Batch: the `input_file_id` of a batch create (POST /v1/batches).
  // The gateway fills the batch fields above from the upload of that file
  // when it saw one (api/request/batch_ledger.h); batch_requests stays 0
  // when it did not.
  std::string batch_input_file;
};

struct Request {
  // Transport.
  std::string request_id;  // from the proxy (X-Request-Id) when it sends one
  std::string method;      // the client's original method, upper case
  std::string path;        // the client's original path, without the query
  std::string client_ip;
  // Header names lower case, values as received. Authorization is removed by
  // the front end after the key id is taken from it.
  std::vector<std::pair<std::string, std::string>> headers;

  // Identity. key_id is the hex SHA-256 of the presented API key. When
  // `account` is set the front end already resolved it (trusted headers or an
  // embedding program); otherwise the engine resolves key_id through its
  // account directory and the policy's unknown_keys setting.
  std::string key_id;
  std::optional<Account> account;

  // Filled by the engine from the policy's operations when empty.
  std::string operation;
  // Declared usage purpose (x-usage-purpose header or body metadata).
  std::string purpose;

  RequestBody body;

  // How the front end received the request; defaults suit an embedding
  // program that built the request itself.
  //
  // false when the TCP peer is outside gateway.trusted_proxies: the engine
  // then ignores identity.trusted_headers (a client cannot name its own
  // account), and the front end has already dropped forwarding headers.
  bool peer_trusted = true;
  // true when the gateway relays the request itself (inline proxy): it
  // observes the usage, and a usage report from elsewhere cannot reconcile it.
  bool inline_proxy = false;
  // true when a body arrived that was not read (not JSON, cut short, or a
  // form the gateway does not parse) and gateway.unreadable_body let it
  // pass; a policy can refuse it with the field body.unread.
  bool body_unread = false;

  // Returns the first header with this lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return &v;
    return nullptr;
  }
};

}  // namespace tosgate
