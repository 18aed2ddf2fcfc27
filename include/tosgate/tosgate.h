/* tosgate.h: the C ABI of libtosgate, for programs that link tosgate's
 * decision engine in instead of asking a gateway over HTTP.
 *
 * Contract, in short (docs/embedding.md has the long form and an example):
 * - Every object is an opaque handle made by a *_create function (or by a
 *   check) and given back by the matching *_destroy. Every function accepts
 *   NULL handles and NULL strings without crashing: it fails cleanly.
 * - Functions that can fail take `char** error` last. On failure they store a
 *   message in *error (freeing a message already there) that the caller
 *   frees with tosgate_free_string; on success they leave *error alone.
 *   `error` itself may be NULL when the caller does not want the message.
 * - No C++ exception ever leaves the library.
 * - Strings returned as `const char*` by a decision belong to that decision
 *   and stay valid until tosgate_decision_destroy. Strings returned as
 *   `char*` belong to the caller (tosgate_free_string).
 * - Thread-safety: tosgate_check, tosgate_check_json, tosgate_report_usage and
 *   the reload functions may be called on one engine from any number of
 *   threads at once. A decision may be read from several threads at once.
 *   tosgate_engine_destroy must not race any other call on that engine, and
 *   a config must not be changed while another thread uses it.
 * - Time is the machine's: rates and windows use the monotonic clock, audit
 *   records and time.* conditions the real-time clock.
 */
#ifndef TOSGATE_TOSGATE_H_
#define TOSGATE_TOSGATE_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define TOSGATE_API __attribute__((visibility("default")))
#else
#define TOSGATE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tosgate_config tosgate_config;
typedef struct tosgate_engine tosgate_engine;
typedef struct tosgate_decision tosgate_decision;

/* The effect of a decision. Deny beats throttle beats allow. */
typedef enum tosgate_effect {
  TOSGATE_ALLOW = 0,
  TOSGATE_THROTTLE = 1,
  TOSGATE_DENY = 2
} tosgate_effect;

/* The library's version, e.g. "0.1.0". Static storage; do not free. */
TOSGATE_API const char* tosgate_version(void);

/* Frees a string the library gave the caller (an error message, a revision).
 * NULL is fine. */
TOSGATE_API void tosgate_free_string(char* s);

/* ---- Configuration: what tosgate_engine_create builds an engine from. ---- */

/* A configuration with defaults: no policies (one of the two policy setters
 * below is required), at most 1,000,000 tracked state entries, no accounts
 * file (every key is an unknown key, see the policy's identity.unknown_keys),
 * no audit store. NULL only when out of memory. */
TOSGATE_API tosgate_config* tosgate_config_create(void);
TOSGATE_API void tosgate_config_destroy(tosgate_config* config);

/* Policies from a directory of YAML files (as `tosgate serve --policies`).
 * Replaces policy text set before. */
TOSGATE_API void tosgate_config_set_policy_dir(tosgate_config* config, const char* dir);

/* Policies from one YAML document in memory. `name` is the file name that
 * error messages give ("name:line:column: key: message"); NULL means
 * "policy.yaml". Replaces a directory set before. The text is copied. */
TOSGATE_API void tosgate_config_set_policy_yaml(tosgate_config* config, const char* yaml,
                                                const char* name);

/* Bound on tracked rate/budget entries (state.max_entries); 0 keeps the
 * default. Idle entries beyond it are evicted. */
TOSGATE_API void tosgate_config_set_state_max_entries(tosgate_config* config, size_t max_entries);

/* Accounts from a JSON Lines file (docs/cli.md, the accounts format), read
 * once at tosgate_engine_create. NULL or "" for none. */
TOSGATE_API void tosgate_config_set_accounts_file(tosgate_config* config, const char* path);

/* Records every decision in the SQLite audit store at `path` (created when
 * missing; its directory must exist). NULL or "" for no audit store.
 * `synchronous_full` nonzero: each commit is durable (PRAGMA synchronous =
 * FULL), else NORMAL. Records are written by a background thread in groups;
 * tosgate_engine_destroy flushes them. */
TOSGATE_API void tosgate_config_set_audit(tosgate_config* config, const char* path,
                                          int synchronous_full);

/* Sends every decision's audit record to the writer listening on the Unix
 * socket `path` (`tosgate-audit-writer`, docs/deploy-nginx.md) instead of
 * writing a store itself: the one writer of one store for engines in several
 * processes. A check returns only once the writer acknowledged the record
 * (with its --durability sync: committed durably); a writer that is gone or
 * refuses makes the record's decision follow failure_mode (closed: an allow
 * becomes 503 audit-unavailable). A store set with tosgate_config_set_audit
 * wins over the socket. NULL or "" for none. */
TOSGATE_API void tosgate_config_set_audit_socket(tosgate_config* config, const char* path);

/* Nonzero: the socket's records are sent asynchronously. A check only
 * queues its record (no system call, no wait); a thread of the engine sends
 * the queue to the writer in batches (what gathered while the last batch was
 * sent, at most 2 ms after its first record) and reads its
 * acknowledgements. A record the writer has not acknowledged is lost if the
 * writer or this process dies: the guarantee of `audit.durability: async`.
 * A queue that grows past 64 MiB (the writer gone) refuses records, and
 * their decisions follow failure_mode. 0 (the default): every check waits
 * for its record's acknowledgement. */
TOSGATE_API void tosgate_config_set_audit_socket_async(tosgate_config* config, int async);

/* ---- Limits shared by processes (nginx workers) in shared memory ---- */

/* Bytes of shared memory a table of `max_entries` rate and budget entries
 * needs (docs/deploy-nginx.md sizes it). */
TOSGATE_API size_t tosgate_shm_state_bytes(size_t max_entries);

/* Lays out an empty table in the `bytes` at `base` (64-byte aligned), once,
 * in the process that creates the region, before any engine uses it.
 * Returns 0, or -1 with *error set (too small, misaligned). */
TOSGATE_API int tosgate_shm_state_init(void* base, size_t bytes, char** error);

/* Counts limits in the region at `base` (laid out by tosgate_shm_state_init,
 * mapped shared by every process whose engine uses it) instead of in the
 * engine's own memory, so that the engines of several processes enforce one
 * limit exactly. The region must outlive every engine made with this config;
 * its size bounds the entries (tosgate_config_set_state_max_entries does not
 * apply). NULL base: back to the engine's own memory. */
TOSGATE_API void tosgate_config_set_state_shm(tosgate_config* config, void* base, size_t bytes);

/* ---- Engine ---- */

/* Loads the policies, the accounts file and the audit store named by
 * `config` and returns a ready engine, or NULL with *error set (every policy
 * error on its own line, each naming file:line:column). The engine keeps no
 * reference to `config`. */
TOSGATE_API tosgate_engine* tosgate_engine_create(const tosgate_config* config, char** error);

/* Flushes and closes the audit store, then frees the engine. Decisions made
 * by it stay valid. NULL is fine. */
TOSGATE_API void tosgate_engine_destroy(tosgate_engine* engine);

/* Loads the policies again from where they came from (the directory is read
 * again; policy text is compiled again) and makes them the ones new checks
 * see. Returns 0, or -1 with *error set; on error the active policies stay.
 * Counters of rules whose id and limit did not change survive. */
TOSGATE_API int tosgate_engine_reload(tosgate_engine* engine, char** error);

/* Replaces the engine's policies with one YAML document (`name` as in
 * tosgate_config_set_policy_yaml); later tosgate_engine_reload calls compile
 * this text. Returns 0, or -1 with *error set and the active policies kept. */
TOSGATE_API int tosgate_engine_reload_yaml(tosgate_engine* engine, const char* yaml,
                                           const char* name, char** error);

/* The active policy revision (a hash of the policy files), for logs.
 * Caller frees with tosgate_free_string; NULL for a NULL engine. */
TOSGATE_API char* tosgate_engine_policy_revision(const tosgate_engine* engine);

/* ---- Checking a request ---- */

/* Decides one request given as fields, exactly as the forward-auth endpoint
 * would decide it. `method` (NULL: "POST"), `path` (the client's path; a
 * query is dropped; NULL: "/"), `client_ip` (NULL: "127.0.0.1"), `api_key`
 * (the secret as the client sent it; only its SHA-256 is used; NULL or "":
 * none), `header_count` headers as two arrays of names and values (any case;
 * a NULL name is skipped), `body_json` the request body as JSON text (NULL
 * or "": no body). Returns the decision, which the caller frees with
 * tosgate_decision_destroy, or NULL with *error set when the request itself
 * is malformed (e.g. a body that is not a JSON object). */
TOSGATE_API tosgate_decision* tosgate_check(tosgate_engine* engine, const char* method,
                                            const char* path, const char* client_ip,
                                            const char* api_key, const char* const* header_names,
                                            const char* const* header_values, size_t header_count,
                                            const char* body_json, char** error);

/* The same, from one JSON object in the format `tosgate check --request FILE`
 * reads (one line of a traffic capture): {"method": "POST", "path":
 * "/v1/chat/completions", "client_ip": "203.0.113.7", "headers":
 * {"authorization": "Bearer sk-...", "x-usage-purpose": "chatbot"}, "body":
 * {...}}. Every member is optional; others ("ts", "usage") are ignored. */
TOSGATE_API tosgate_decision* tosgate_check_json(tosgate_engine* engine, const char* request_json,
                                                 char** error);

/* ---- Checking a request in a proxy, without copying it ---- */

/* A string by address and length (`data` need not be NUL-terminated; NULL
 * with len 0 is the empty string). */
typedef struct tosgate_str {
  const char* data;
  size_t len;
} tosgate_str;

/* A request as a proxy holds it: the fields of tosgate_check, each by
 * address and length, so that a proxy passes its own buffers (nginx's
 * ngx_str_t) without making NUL-terminated copies. Empty method, path and
 * client_ip take tosgate_check's defaults; an empty api_key or body is
 * none. */
typedef struct tosgate_request {
  tosgate_str method;
  tosgate_str path;
  tosgate_str client_ip;
  tosgate_str api_key;
  const tosgate_str* header_names;  /* header_count of each */
  const tosgate_str* header_values;
  size_t header_count;
  tosgate_str body;
} tosgate_request;

/* tosgate_check for a tosgate_request: the same decision, the same errors.
 * The request is read during the call only. */
TOSGATE_API tosgate_decision* tosgate_check_request(tosgate_engine* engine,
                                                    const tosgate_request* request, char** error);

/* Where a proxy puts a decision's header (tosgate_decision_headers). */
#define TOSGATE_HEADER_UPSTREAM 1u /* on the request to the upstream (allow: every X-Tos-*) */
#define TOSGATE_HEADER_CLIENT 2u   /* on the answer to the client (RateLimit-Policy, RateLimit,
                                      X-Tos-Decision-Id; Retry-After unless allowed) */

typedef struct tosgate_header {
  tosgate_str name;   /* NUL-terminated too */
  tosgate_str value;  /* NUL-terminated too */
  unsigned to;        /* TOSGATE_HEADER_* bits; 0: for a forward-auth answer only */
} tosgate_header;

/* The headers of tosgate_decision_header_name/_value, in the same order,
 * with their lengths and where a proxy that decides in process puts them,
 * as the nginx module and tosgate-extauthz do. Sets *headers to the first
 * (valid until tosgate_decision_destroy) and returns the count. */
TOSGATE_API size_t tosgate_decision_headers(const tosgate_decision* decision,
                                            const tosgate_header** headers);

/* What an admitted request's decision waits for when the request ends:
 * TOSGATE_AWAITS_COMPLETION (concurrency leases to give back) and
 * TOSGATE_AWAITS_USAGE (token or cost reservations that the response's
 * usage settles). 0: nothing, so a proxy need neither read the response's
 * usage nor report the end (tosgate_report_usage would refuse it). */
#define TOSGATE_AWAITS_COMPLETION 1
#define TOSGATE_AWAITS_USAGE 2
TOSGATE_API int tosgate_decision_awaits(const tosgate_decision* decision);

/* tosgate_report_usage from a caller that relays the response itself and
 * read its usage there (the nginx module), as tosgate's inline proxy
 * reports its own: not an audit record of its own unless it settles a cost
 * budget's cost. Same arguments, same errors. */
TOSGATE_API int tosgate_report_relayed_usage(tosgate_engine* engine, const char* decision_id,
                                             int64_t input_tokens, int64_t output_tokens,
                                             char** error);

/* Reports what the upstream used for the request decided by `decision_id`
 * (tokens not known: -1; known: at most 1,000,000,000 each). Reconciles its
 * token reservations and releases its concurrency leases: call it once when
 * the request completes. With an audit store, each accepted report is an
 * audit record (reason "usage-report"). Returns 0, or -1 with *error set
 * (e.g. a count above the bound, or the decision holds nothing, was already
 * reported, or expired). */
TOSGATE_API int tosgate_report_usage(tosgate_engine* engine, const char* decision_id,
                                     int64_t input_tokens, int64_t output_tokens, char** error);

/* ---- Reading usage from the upstream's response ---- */

/* Reads the token usage out of a model API's response as it streams past
 * (a JSON body with `usage`, or server-sent events: OpenAI's final chunk,
 * the Responses API's response.completed, Anthropic's message_start and
 * message_delta), for tosgate_report_usage. One per response, one thread
 * at a time. `content_type` is the response's Content-Type (NULL: none,
 * nothing is read). NULL only when out of memory. */
typedef struct tosgate_usage_scanner tosgate_usage_scanner;
TOSGATE_API tosgate_usage_scanner* tosgate_usage_scanner_create(const char* content_type);
TOSGATE_API void tosgate_usage_scanner_feed(tosgate_usage_scanner* scanner, const char* bytes,
                                            size_t size);
/* The counts found (-1: not in the response). Call once, at the end. */
TOSGATE_API void tosgate_usage_scanner_finish(tosgate_usage_scanner* scanner,
                                              int64_t* input_tokens, int64_t* output_tokens);
TOSGATE_API void tosgate_usage_scanner_destroy(tosgate_usage_scanner* scanner);

/* ---- Reading a decision. A NULL decision reads as empty (0, "", NULL). ---- */

TOSGATE_API void tosgate_decision_destroy(tosgate_decision* decision);

TOSGATE_API tosgate_effect tosgate_decision_effect(const tosgate_decision* decision);
/* "allow", "throttle" or "deny". */
TOSGATE_API const char* tosgate_decision_effect_name(const tosgate_decision* decision);
/* 1 when enforced; 0 when only shadow rules would have acted. */
TOSGATE_API int tosgate_decision_enforced(const tosgate_decision* decision);
/* The HTTP status to give the client: 200, 403, 429, 503 ... */
TOSGATE_API int tosgate_decision_status(const tosgate_decision* decision);
/* Stable reason code, e.g. "rate-limited"; "" for a plain allow. */
TOSGATE_API const char* tosgate_decision_reason(const tosgate_decision* decision);
/* Unique id of this decision (36 hex digits: the time, then 96 random
 * bits; treat it as opaque): pass it to tosgate_report_usage. */
TOSGATE_API const char* tosgate_decision_id(const tosgate_decision* decision);
TOSGATE_API const char* tosgate_decision_account(const tosgate_decision* decision);
TOSGATE_API const char* tosgate_decision_policy_revision(const tosgate_decision* decision);

/* The ids of the rules that decided the effect; index from 0 to count-1
 * (out of range: NULL). */
TOSGATE_API size_t tosgate_decision_rule_count(const tosgate_decision* decision);
TOSGATE_API const char* tosgate_decision_rule_id(const tosgate_decision* decision, size_t index);

/* Delay mode: admitted, but hold the request this long before passing it. */
TOSGATE_API int64_t tosgate_decision_delay_ms(const tosgate_decision* decision);
/* Throttles: seconds until a retry may succeed (the Retry-After value). */
TOSGATE_API int64_t tosgate_decision_retry_after_s(const tosgate_decision* decision);

/* Headers to add, exactly those tosgate's forward-auth endpoint answers
 * with: X-Tos-Decision, X-Tos-Decision-Id, RateLimit-Policy, RateLimit;
 * on allow X-Tos-Account, X-Tos-Operation; on deny and throttle X-Tos-Reason,
 * X-Tos-Rule, X-Tos-Status and (throttle) Retry-After. Compare names without
 * regard to case. Values hold no control characters. Out of range: NULL. */
TOSGATE_API size_t tosgate_decision_header_count(const tosgate_decision* decision);
TOSGATE_API const char* tosgate_decision_header_name(const tosgate_decision* decision,
                                                     size_t index);
TOSGATE_API const char* tosgate_decision_header_value(const tosgate_decision* decision,
                                                      size_t index);

/* The application/problem+json body (RFC 9457) for a deny or throttle;
 * "" for an allow. */
TOSGATE_API const char* tosgate_decision_problem_json(const tosgate_decision* decision);
/* A multi-line account of the decision for people (`tosgate check
 * --explain`). */
TOSGATE_API const char* tosgate_decision_explain(const tosgate_decision* decision);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TOSGATE_TOSGATE_H_ */
