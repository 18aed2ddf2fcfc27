/* The C ABI's per-request entry points for proxies that decide in process
 * (the nginx module, tosgate-extauthz), from plain C11: tosgate_check_request
 * on buffers that are not NUL-terminated decides as tosgate_check does,
 * tosgate_decision_headers routes each header to the upstream or the client,
 * tosgate_decision_awaits says what an admitted request holds, and
 * tosgate_report_relayed_usage settles it. Exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tosgate/tosgate.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static const char* kPolicy =
    "apiVersion: tosgate/v1\n"
    "kind: Policy\n"
    "metadata: {name: proxy}\n"
    "identity:\n"
    "  unknown_keys: {tier: free}\n"
    "operations:\n"
    "  chat: {methods: [POST], paths: [/v1/chat/completions]}\n"
    "  completions: {methods: [POST], paths: [/v1/completions]}\n"
    "  responses: {methods: [POST], paths: [/v1/responses]}\n"
    "rules:\n"
    "  - id: rate.chat\n"
    "    kind: rate_limit\n"
    "    scope: [account]\n"
    "    match: {operations: [chat]}\n"
    "    limit: {requests: 2, per: 1h}\n"
    "  - id: budget.completions\n"
    "    kind: token_budget\n"
    "    scope: [account]\n"
    "    count: total\n"
    "    match: {operations: [completions]}\n"
    "    limit: {tokens: 100000, per: 1h}\n"
    "  - id: one-at-a-time\n"
    "    kind: rate_limit\n"
    "    scope: [account]\n"
    "    match: {operations: [responses]}\n"
    "    limit: {concurrent: 1}\n";

/* `s` in a buffer followed by junk, as a proxy's buffers are: a reader that
 * went past len would see it. */
static char arena[4096];
static size_t used = 0;
static tosgate_str S(const char* s) {
  const size_t n = strlen(s);
  tosgate_str out;
  out.data = arena + used;
  out.len = n;
  memcpy(arena + used, s, n);
  memcpy(arena + used + n, "#JUNK", 5);
  used += n + 5;
  return out;
}

static tosgate_decision* check(tosgate_engine* e, const char* path, const char* key,
                               const char* body, char** error) {
  tosgate_str names[3], values[3];
  tosgate_request r;
  char auth[128];
  memset(&r, 0, sizeof r);
  snprintf(auth, sizeof auth, "Bearer %s", key);
  names[0] = S("Authorization");
  values[0] = S(auth);
  names[1] = S("Content-Type");
  values[1] = S("application/json");
  names[2] = S("Content-Length");
  values[2] = S("99999");  /* the proxy's copy of the body is what counts */
  r.method = S("POST");
  r.path = S(path);
  r.client_ip = S("203.0.113.7");
  r.header_names = names;
  r.header_values = values;
  r.header_count = 3;
  if (body) r.body = S(body);
  used = 0;
  return tosgate_check_request(e, &r, error);
}

/* The routed header named `name`, or NULL. */
static const tosgate_header* routed(const tosgate_decision* d, const char* name) {
  const tosgate_header* h = NULL;
  size_t i, n = tosgate_decision_headers(d, &h);
  for (i = 0; i < n; ++i)
    if (h[i].name.len == strlen(name) && memcmp(h[i].name.data, name, h[i].name.len) == 0)
      return &h[i];
  return NULL;
}

int main(void) {
  char* error = NULL;
  const char* body = "{\"model\":\"m\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  tosgate_config* config = tosgate_config_create();
  tosgate_engine* e;
  tosgate_decision *d, *same;
  const tosgate_header *h, *all;
  size_t i, n;

  tosgate_config_set_policy_yaml(config, kPolicy, "proxy.yaml");
  e = tosgate_engine_create(config, &error);
  tosgate_config_destroy(config);
  if (!e) {
    fprintf(stderr, "engine: %s\n", error ? error : "?");
    return 1;
  }

  /* An allow: decided as tosgate_check decides the same request. */
  d = check(e, "/v1/chat/completions", "sk-1", body, &error);
  CHECK(d != NULL && error == NULL);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  CHECK(strncmp(tosgate_decision_account(d), "key:", 4) == 0);
  {
    const char* names[] = {"Content-Type"};
    const char* values[] = {"application/json"};
    same = tosgate_check(e, "POST", "/v1/chat/completions", "203.0.113.7", "sk-1", names, values,
                         1, body, &error);
    CHECK(same != NULL && strcmp(tosgate_decision_account(same), tosgate_decision_account(d)) == 0);
    CHECK(tosgate_decision_header_count(same) == tosgate_decision_header_count(d));
    tosgate_decision_destroy(same);
  }
  /* Every header with its length, in tosgate_decision_header_name's order;
   * X-Tos-* to the upstream, the limits and the id to the client. */
  n = tosgate_decision_headers(d, &all);
  CHECK(n == tosgate_decision_header_count(d) && n > 0 && all != NULL);
  for (i = 0; i < n; ++i) {
    CHECK(strcmp(all[i].name.data, tosgate_decision_header_name(d, i)) == 0);
    CHECK(all[i].name.len == strlen(all[i].name.data));
    CHECK(all[i].value.len == strlen(all[i].value.data));
  }
  h = routed(d, "X-Tos-Decision-Id");
  CHECK(h && h->to == (TOSGATE_HEADER_UPSTREAM | TOSGATE_HEADER_CLIENT));
  CHECK(h && strcmp(h->value.data, tosgate_decision_id(d)) == 0);
  h = routed(d, "X-Tos-Account");
  CHECK(h && h->to == TOSGATE_HEADER_UPSTREAM);
  h = routed(d, "RateLimit-Policy");
  CHECK(h && h->to == TOSGATE_HEADER_CLIENT);
  h = routed(d, "RateLimit");
  CHECK(h && h->to == TOSGATE_HEADER_CLIENT);
  /* A rate limit holds nothing once decided: no usage to read, no end to report. */
  CHECK(tosgate_decision_awaits(d) == 0);
  CHECK(tosgate_report_relayed_usage(e, tosgate_decision_id(d), 1, 1, &error) == -1);
  CHECK(error != NULL);
  tosgate_free_string(error);
  error = NULL;
  tosgate_decision_destroy(d);

  /* A throttle: nothing for the upstream, Retry-After for the client. */
  tosgate_decision_destroy(check(e, "/v1/chat/completions", "sk-1", body, &error));
  d = check(e, "/v1/chat/completions", "sk-1", body, &error);
  CHECK(tosgate_decision_effect(d) == TOSGATE_THROTTLE);
  n = tosgate_decision_headers(d, &all);
  for (i = 0; i < n; ++i) CHECK(!(all[i].to & TOSGATE_HEADER_UPSTREAM));
  h = routed(d, "Retry-After");
  CHECK(h && h->to == TOSGATE_HEADER_CLIENT);
  h = routed(d, "X-Tos-Status");
  CHECK(h && h->to == 0);
  CHECK(tosgate_decision_awaits(d) == 0);
  tosgate_decision_destroy(d);

  /* A token budget waits for the response's usage, a concurrency cap for
   * the end; the relayed report settles each once. */
  d = check(e, "/v1/completions", "sk-2", "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":50}", &error);
  CHECK(d != NULL && tosgate_decision_effect(d) == TOSGATE_ALLOW);
  CHECK(tosgate_decision_awaits(d) == TOSGATE_AWAITS_USAGE);
  CHECK(tosgate_report_relayed_usage(e, tosgate_decision_id(d), 7, 5, &error) == 0 && error == NULL);
  CHECK(tosgate_report_relayed_usage(e, tosgate_decision_id(d), 7, 5, &error) == -1);
  CHECK(error && strstr(error, "tosgate_report_relayed_usage: "));
  tosgate_free_string(error);
  error = NULL;
  tosgate_decision_destroy(d);
  d = check(e, "/v1/responses", "sk-3", "{\"model\":\"m\",\"input\":\"x\"}", &error);
  CHECK(d != NULL && tosgate_decision_awaits(d) == TOSGATE_AWAITS_COMPLETION);
  same = check(e, "/v1/responses", "sk-3", "{\"model\":\"m\",\"input\":\"x\"}", &error);
  CHECK(same != NULL && tosgate_decision_effect(same) == TOSGATE_THROTTLE);
  CHECK(tosgate_decision_awaits(same) == 0);
  tosgate_decision_destroy(same);
  CHECK(tosgate_report_relayed_usage(e, tosgate_decision_id(d), -1, -1, &error) == 0);
  tosgate_decision_destroy(d);
  d = check(e, "/v1/responses", "sk-3", "{\"model\":\"m\",\"input\":\"x\"}", &error);
  CHECK(d != NULL && tosgate_decision_effect(d) == TOSGATE_ALLOW);  /* the place came back */
  tosgate_decision_destroy(d);

  /* Requests it cannot read are errors, as with tosgate_check. */
  d = check(e, "/v1/chat/completions", "sk-4", "[not json", &error);
  CHECK(d == NULL && error && strstr(error, "bad request"));
  tosgate_free_string(error);
  error = NULL;
  d = check(e, "/v1/chat%2Fcompletions", "sk-4", body, &error);
  CHECK(d == NULL && error && strstr(error, "bad request"));
  tosgate_free_string(error);
  error = NULL;
  CHECK(tosgate_check_request(e, NULL, &error) == NULL);
  CHECK(error && strstr(error, "request is NULL"));
  tosgate_free_string(error);
  error = NULL;
  CHECK(tosgate_check_request(NULL, NULL, NULL) == NULL);
  CHECK(tosgate_decision_headers(NULL, &all) == 0 && all == NULL);
  CHECK(tosgate_decision_awaits(NULL) == 0);

  tosgate_engine_destroy(e);
  if (failures) {
    fprintf(stderr, "capi_proxy_test: %d failed\n", failures);
    return 1;
  }
  printf("capi_proxy_test: all checks passed\n");
  return 0;
}
