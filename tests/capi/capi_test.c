/* The C ABI from plain C11, as a host program uses it: an engine from inline
 * YAML, allow / deny / throttle, headers and the decision id, usage reports,
 * reloads, every error path and NULL everywhere. Exits 1 on any failure.
 * docs/embedding.md shows the first part of it as its example. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tosgate/tosgate.h"

static int failures = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

/* `*error` must hold a message containing `part`; it is freed and reset. */
#define CHECK_ERROR(error, part)                                                \
  do {                                                                          \
    if (!(error) || !strstr((error), (part))) {                                 \
      fprintf(stderr, "%s:%d: expected an error containing \"%s\", got \"%s\"\n", \
              __FILE__, __LINE__, (part), (error) ? (error) : "(null)");        \
      ++failures;                                                               \
    }                                                                           \
    tosgate_free_string(error);                                                 \
    (error) = NULL;                                                             \
  } while (0)

static const char* kPolicy =
    "apiVersion: tosgate/v1\n"
    "kind: Policy\n"
    "metadata: {name: embedded}\n"
    "identity:\n"
    "  unknown_keys: {tier: free}\n"
    "operations:\n"
    "  chat: {methods: [POST], paths: [/v1/chat/completions]}\n"
    "rules:\n"
    "  - id: purpose.no-model-training\n"
    "    kind: attribute\n"
    "    when: {field: request.purpose, eq: model-training}\n"
    "    action: deny\n"
    "    reason: competitor-training-declared\n"
    "  - id: rate.rpm\n"
    "    kind: rate_limit\n"
    "    scope: [account]\n"
    "    limit: {requests: 2, per: 1m}\n"
    "  - id: budget.tpm\n"
    "    kind: token_budget\n"
    "    scope: [account]\n"
    "    count: total\n"
    "    limit: {tokens: 100000, per: 1m}\n";

static const char* kBody =
    "{\"model\": \"m\", \"max_tokens\": 100,"
    " \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}]}";

/* The value of the first header named `name` (exact case), or NULL. */
static const char* header(const tosgate_decision* d, const char* name) {
  size_t i;
  for (i = 0; i < tosgate_decision_header_count(d); ++i)
    if (strcmp(tosgate_decision_header_name(d, i), name) == 0)
      return tosgate_decision_header_value(d, i);
  return NULL;
}

static tosgate_decision* chat(tosgate_engine* engine, const char* key, const char* purpose,
                              char** error) {
  const char* names[] = {"X-Usage-Purpose"};
  const char* values[] = {purpose};
  return tosgate_check(engine, "POST", "/v1/chat/completions", "203.0.113.7", key, names,
                       values, purpose ? 1 : 0, kBody, error);
}

static void test_allow_deny_throttle_usage(tosgate_engine* engine) {
  char* error = NULL;

  /* Allowed, with the RateLimit fields and the decision id among the headers. */
  tosgate_decision* d = chat(engine, "sk-a", NULL, &error);
  CHECK(d != NULL && error == NULL);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  CHECK(strcmp(tosgate_decision_effect_name(d), "allow") == 0);
  CHECK(tosgate_decision_status(d) == 200);
  CHECK(tosgate_decision_enforced(d) == 1);
  CHECK(tosgate_decision_rule_count(d) == 0);
  CHECK(tosgate_decision_rule_id(d, 0) == NULL);
  CHECK(strlen(tosgate_decision_id(d)) > 0);
  CHECK(header(d, "X-Tos-Decision-Id") && strcmp(header(d, "X-Tos-Decision-Id"), tosgate_decision_id(d)) == 0);
  CHECK(header(d, "RateLimit-Policy") && strstr(header(d, "RateLimit-Policy"), "\"rate.rpm\";q=2;w=60"));
  CHECK(header(d, "RateLimit") && strstr(header(d, "RateLimit"), "\"rate.rpm\";r=1"));
  CHECK(tosgate_decision_header_name(d, tosgate_decision_header_count(d)) == NULL);
  CHECK(strcmp(tosgate_decision_problem_json(d), "") == 0);
  CHECK(tosgate_decision_delay_ms(d) == 0);
  CHECK(strncmp(tosgate_decision_account(d), "key:", 4) == 0);
  CHECK(strlen(tosgate_decision_policy_revision(d)) > 0);

  /* The token budget reserved for it is reconciled once, then it is gone. */
  CHECK(tosgate_report_usage(engine, tosgate_decision_id(d), 12, 30, &error) == 0);
  CHECK(error == NULL);
  CHECK(tosgate_report_usage(engine, tosgate_decision_id(d), 12, 30, &error) == -1);
  CHECK_ERROR(error, "tosgate_report_usage: ");
  CHECK(tosgate_report_usage(engine, "no-such-decision", -1, -1, &error) == -1);
  CHECK_ERROR(error, "tosgate_report_usage: ");
  tosgate_decision_destroy(d);

  /* A declared training purpose is denied with 403 and problem+json. */
  d = chat(engine, "sk-b", "model-training", &error);
  CHECK(d != NULL && error == NULL);
  CHECK(tosgate_decision_effect(d) == TOSGATE_DENY);
  CHECK(tosgate_decision_status(d) == 403);
  CHECK(strcmp(tosgate_decision_reason(d), "competitor-training-declared") == 0);
  CHECK(tosgate_decision_rule_count(d) == 1);
  CHECK(strcmp(tosgate_decision_rule_id(d, 0), "purpose.no-model-training") == 0);
  CHECK(strstr(tosgate_decision_problem_json(d), "\"status\":403"));
  CHECK(strstr(tosgate_decision_problem_json(d), tosgate_decision_id(d)));
  CHECK(header(d, "X-Tos-Rule") && strcmp(header(d, "X-Tos-Rule"), "purpose.no-model-training") == 0);
  CHECK(strstr(tosgate_decision_explain(d), "purpose.no-model-training"));
  tosgate_decision_destroy(d);

  /* The second request of sk-a in the minute passes, the third is throttled. */
  d = chat(engine, "sk-a", NULL, &error);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  tosgate_decision_destroy(d);
  d = chat(engine, "sk-a", NULL, &error);
  CHECK(d != NULL && error == NULL);
  CHECK(tosgate_decision_effect(d) == TOSGATE_THROTTLE);
  CHECK(tosgate_decision_status(d) == 429);
  CHECK(strcmp(tosgate_decision_reason(d), "rate-limited") == 0);
  CHECK(tosgate_decision_rule_count(d) == 1 && strcmp(tosgate_decision_rule_id(d, 0), "rate.rpm") == 0);
  /* A sliding window: up to two windows away. */
  CHECK(tosgate_decision_retry_after_s(d) > 0 && tosgate_decision_retry_after_s(d) <= 120);
  CHECK(header(d, "Retry-After") != NULL);
  CHECK(strstr(tosgate_decision_problem_json(d), "\"status\":429"));
  tosgate_decision_destroy(d);

  /* Another key has its own count. */
  d = chat(engine, "sk-c", NULL, &error);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  tosgate_decision_destroy(d);
  CHECK(error == NULL);
}

static void test_check_json(tosgate_engine* engine) {
  char* error = NULL;
  tosgate_decision* d = tosgate_check_json(
      engine,
      "{\"ts\": 1764331200123, \"method\": \"POST\", \"path\": \"/v1/chat/completions\","
      " \"client_ip\": \"203.0.113.9\","
      " \"headers\": {\"authorization\": \"Bearer sk-json\", \"x-usage-purpose\": \"model-training\"},"
      " \"body\": {\"model\": \"m\", \"messages\": []}}",
      &error);
  CHECK(d != NULL && error == NULL);
  CHECK(tosgate_decision_effect(d) == TOSGATE_DENY);
  CHECK(tosgate_decision_rule_count(d) == 1);
  tosgate_decision_destroy(d);

  d = tosgate_check_json(engine, "{\"path\": \"/v1/chat/completions\"}", &error);
  CHECK(d != NULL && tosgate_decision_effect(d) == TOSGATE_ALLOW);
  tosgate_decision_destroy(d);

  /* Malformed requests are errors, not decisions. */
  CHECK(tosgate_check_json(engine, "{\"method\": \"POST\",", &error) == NULL);
  CHECK_ERROR(error, "not a JSON object");
  CHECK(tosgate_check_json(engine, "[1, 2]", &error) == NULL);
  CHECK_ERROR(error, "not a JSON object");
  CHECK(tosgate_check_json(engine, "{\"path\": 5}", &error) == NULL);
  CHECK_ERROR(error, "\"path\" must be a string");
  CHECK(tosgate_check_json(engine, "{\"headers\": [\"a\"]}", &error) == NULL);
  CHECK_ERROR(error, "\"headers\" must be an object");
  CHECK(tosgate_check_json(engine, "{\"body\": \"not an object\"}", &error) == NULL);
  CHECK_ERROR(error, "bad request");
  CHECK(tosgate_check(engine, "POST", "/v1/chat/completions", NULL, "sk-a", NULL, NULL, 0,
                      "{\"model\": ", &error) == NULL);
  CHECK_ERROR(error, "bad request");
}

static void test_reload(tosgate_engine* engine) {
  char* error = NULL;
  char* before = tosgate_engine_policy_revision(engine);
  CHECK(before != NULL && strlen(before) > 0);

  /* A policy with an error never replaces the active one; the message names
   * the file, line and column. */
  CHECK(tosgate_engine_reload_yaml(engine,
                                   "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: n}\nrules:\n"
                                   "  - id: r\n    kind: rate_limit\n    limit: {requests: 2, per: 1 minute}\n",
                                   "next.yaml", &error) == -1);
  CHECK_ERROR(error, "next.yaml:7:31: rules[0].limit.per: bad duration");
  char* same = tosgate_engine_policy_revision(engine);
  CHECK(same && before && strcmp(same, before) == 0);
  tosgate_free_string(same);

  CHECK(tosgate_engine_reload(engine, &error) == 0 && error == NULL);
  /* Without the deny rule, the training purpose passes. */
  CHECK(tosgate_engine_reload_yaml(engine,
                                   "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: open}\n"
                                   "identity: {unknown_keys: {tier: free}}\n"
                                   "operations: {chat: {methods: [POST], paths: [/v1/chat/completions]}}\n"
                                   "rules: []\n",
                                   NULL, &error) == 0);
  CHECK(error == NULL);
  char* after = tosgate_engine_policy_revision(engine);
  CHECK(after && before && strcmp(after, before) != 0);
  tosgate_decision* d = chat(engine, "sk-b", "model-training", &error);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  tosgate_decision_destroy(d);
  /* reload now compiles the text given last. */
  CHECK(tosgate_engine_reload(engine, &error) == 0);
  char* again = tosgate_engine_policy_revision(engine);
  CHECK(again && after && strcmp(again, after) == 0);
  tosgate_free_string(again);
  tosgate_free_string(after);
  tosgate_free_string(before);
}

static void test_null_and_config_errors(void) {
  char* error = NULL;
  /* NULL handles and strings fail cleanly. */
  CHECK(tosgate_engine_create(NULL, &error) == NULL);
  CHECK_ERROR(error, "config is NULL");
  CHECK(tosgate_engine_create(NULL, NULL) == NULL); /* error itself may be NULL */
  CHECK(tosgate_check(NULL, "POST", "/", NULL, NULL, NULL, NULL, 0, NULL, &error) == NULL);
  CHECK_ERROR(error, "engine is NULL");
  CHECK(tosgate_check_json(NULL, "{}", &error) == NULL);
  CHECK_ERROR(error, "engine is NULL");
  CHECK(tosgate_report_usage(NULL, "x", 1, 1, &error) == -1);
  CHECK_ERROR(error, "engine is NULL");
  CHECK(tosgate_engine_reload(NULL, &error) == -1);
  CHECK_ERROR(error, "engine is NULL");
  CHECK(tosgate_engine_reload_yaml(NULL, "x", NULL, &error) == -1);
  CHECK_ERROR(error, "engine is NULL");
  CHECK(tosgate_engine_policy_revision(NULL) == NULL);
  tosgate_config_set_policy_dir(NULL, "x");
  tosgate_config_set_policy_yaml(NULL, "x", NULL);
  tosgate_config_set_state_max_entries(NULL, 5);
  tosgate_config_set_accounts_file(NULL, "x");
  tosgate_config_set_audit(NULL, "x", 1);
  tosgate_config_destroy(NULL);
  tosgate_engine_destroy(NULL);
  tosgate_decision_destroy(NULL);
  tosgate_free_string(NULL);
  CHECK(tosgate_decision_effect(NULL) == TOSGATE_ALLOW);
  CHECK(tosgate_decision_status(NULL) == 0);
  CHECK(strcmp(tosgate_decision_id(NULL), "") == 0);
  CHECK(strcmp(tosgate_decision_reason(NULL), "") == 0);
  CHECK(strcmp(tosgate_decision_explain(NULL), "") == 0);
  CHECK(strcmp(tosgate_decision_problem_json(NULL), "") == 0);
  CHECK(tosgate_decision_rule_count(NULL) == 0 && tosgate_decision_rule_id(NULL, 0) == NULL);
  CHECK(tosgate_decision_header_count(NULL) == 0 && tosgate_decision_header_value(NULL, 0) == NULL);
  CHECK(strlen(tosgate_version()) > 0);

  /* A configuration without policies, with bad YAML, a missing directory, a
   * missing accounts file or an audit store that cannot be opened. */
  tosgate_config* config = tosgate_config_create();
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "no policies");
  tosgate_config_set_policy_yaml(config, "apiVersion: tosgate/v1\nkind: Policy\nrules: [\n", "bad.yaml");
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "bad.yaml:4:1: ");
  tosgate_config_set_policy_yaml(config,
                                 "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: n}\nrules:\n"
                                 "  - id: r\n    kind: attribute\n    when: {field: request.nope, eq: 1}\n",
                                 "bad.yaml");
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "bad.yaml:7:19: rules[0].when.field: unknown field \"request.nope\"");
  tosgate_config_set_policy_dir(config, "/nonexistent/tosgate-policies");
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "/nonexistent/tosgate-policies");
  tosgate_config_set_policy_yaml(config, kPolicy, NULL);
  tosgate_config_set_accounts_file(config, "/nonexistent/accounts.jsonl");
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "accounts");
  tosgate_config_set_accounts_file(config, NULL);
  tosgate_config_set_audit(config, "/nonexistent/dir/audit.db", 0);
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "audit store");
  tosgate_config_set_audit(config, NULL, 0);

  /* header_count without arrays is an error, a NULL header name is skipped. */
  tosgate_engine* engine = tosgate_engine_create(config, &error);
  CHECK(engine != NULL && error == NULL);
  CHECK(tosgate_check(engine, NULL, NULL, NULL, NULL, NULL, NULL, 2, NULL, &error) == NULL);
  CHECK_ERROR(error, "header_count");
  const char* names[] = {NULL, "x-usage-purpose"};
  const char* values[] = {"ignored", NULL};
  tosgate_decision* d = tosgate_check(engine, "POST", "/v1/chat/completions", NULL, NULL, names, values, 2,
                                      NULL, &error);
  CHECK(d != NULL && error == NULL);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  tosgate_decision_destroy(d);
  CHECK(tosgate_check_json(engine, NULL, &error) == NULL);
  CHECK_ERROR(error, "request_json is NULL");
  CHECK(tosgate_report_usage(engine, NULL, 1, 1, &error) == -1);
  CHECK_ERROR(error, "decision_id is NULL");
  CHECK(tosgate_engine_reload_yaml(engine, NULL, NULL, &error) == -1);
  CHECK_ERROR(error, "yaml is NULL");
  tosgate_engine_destroy(engine);
  tosgate_config_destroy(config);
}

static int write_file(const char* path, const char* text) {
  FILE* f = fopen(path, "w");
  if (!f) return 0;
  fputs(text, f);
  return fclose(f) == 0;
}

/* Policies from a directory, accounts from a file, an audit store. */
static void test_files(void) {
  char dir[] = "/tmp/tosgate-capi-XXXXXX";
  char policies[64], policy[96], accounts[96], audit[96];
  char* error = NULL;
  CHECK(mkdtemp(dir) != NULL);
  snprintf(policies, sizeof policies, "%s/policies", dir);
  snprintf(policy, sizeof policy, "%s/policy.yaml", policies);
  snprintf(accounts, sizeof accounts, "%s/accounts.jsonl", dir);
  snprintf(audit, sizeof audit, "%s/audit.db", dir);
  CHECK(mkdir(policies, 0700) == 0);
  CHECK(write_file(policy, kPolicy));
  CHECK(write_file(accounts, "{\"id\": \"acct-1\", \"org\": \"org-1\", \"tier\": \"pro\", \"keys\": [\"sk-pro-1\"]}\n"));

  tosgate_config* config = tosgate_config_create();
  tosgate_config_set_policy_dir(config, policies);
  tosgate_config_set_accounts_file(config, accounts);
  tosgate_config_set_audit(config, audit, 1);
  tosgate_config_set_state_max_entries(config, 1000);
  tosgate_engine* engine = tosgate_engine_create(config, &error);
  tosgate_config_destroy(config); /* the engine keeps no reference to it */
  CHECK(engine != NULL && error == NULL);

  tosgate_decision* d = chat(engine, "sk-pro-1", NULL, &error);
  CHECK(tosgate_decision_effect(d) == TOSGATE_ALLOW);
  CHECK(strcmp(tosgate_decision_account(d), "acct-1") == 0);
  tosgate_decision_destroy(d);

  /* A broken file on disk: reload fails naming it, the old policies stay. */
  CHECK(write_file(policy, "apiVersion: tosgate/v1\nkind: Policy\nrules: {\n"));
  CHECK(tosgate_engine_reload(engine, &error) == -1);
  CHECK_ERROR(error, "policy.yaml:");
  d = chat(engine, "sk-pro-1", "model-training", &error);
  CHECK(tosgate_decision_effect(d) == TOSGATE_DENY);
  tosgate_decision_destroy(d);
  CHECK(write_file(policy, kPolicy));
  CHECK(tosgate_engine_reload(engine, &error) == 0 && error == NULL);
  tosgate_engine_destroy(engine); /* flushes the audit store */

  FILE* f = fopen(audit, "rb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fseek(f, 0, SEEK_END) == 0 && ftell(f) > 0);
    fclose(f);
  }
  remove(policy);
  rmdir(policies);
  remove(accounts);
  remove(audit);
  char wal[128];
  snprintf(wal, sizeof wal, "%s-wal", audit);
  remove(wal);
  snprintf(wal, sizeof wal, "%s-shm", audit);
  remove(wal);
  rmdir(dir);
}

/* A policy that imports a built-in pack by name: the library carries the
 * packs, as the tosgate binary does. */
static void test_builtin_pack_import(void) {
  char* error = NULL;
  tosgate_config* config = tosgate_config_create();
  tosgate_config_set_policy_yaml(config,
                                 "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: host}\n"
                                 "imports:\n  - pack: rate-limits\n",
                                 "host.yaml");
  tosgate_engine* engine = tosgate_engine_create(config, &error);
  tosgate_config_destroy(config);
  CHECK(engine != NULL);
  if (!engine) {
    fprintf(stderr, "builtin import: %s\n", error ? error : "(no message)");
    tosgate_free_string(error);
    return;
  }
  CHECK(strlen(tosgate_engine_policy_revision(engine)) > 0);
  tosgate_engine_destroy(engine);
  /* An unknown pack is an error naming the import. */
  config = tosgate_config_create();
  tosgate_config_set_policy_yaml(config,
                                 "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: host}\n"
                                 "imports:\n  - pack: no-such-pack\n",
                                 "host.yaml");
  CHECK(tosgate_engine_create(config, &error) == NULL);
  CHECK_ERROR(error, "no-such-pack");
  tosgate_config_destroy(config);
}

int main(void) {
  char* error = NULL;
  tosgate_config* config = tosgate_config_create();
  tosgate_config_set_policy_yaml(config, kPolicy, "embedded.yaml");
  tosgate_engine* engine = tosgate_engine_create(config, &error);
  tosgate_config_destroy(config);
  if (!engine) {
    fprintf(stderr, "tosgate_engine_create: %s\n", error ? error : "(no message)");
    tosgate_free_string(error);
    return 1;
  }
  test_allow_deny_throttle_usage(engine);
  test_check_json(engine);
  test_reload(engine);
  tosgate_engine_destroy(engine);

  test_null_and_config_errors();
  test_files();
  test_builtin_pack_import();

  if (failures) {
    fprintf(stderr, "capi_test: %d check(s) failed\n", failures);
    return 1;
  }
  printf("capi_test: all checks passed\n");
  return 0;
}
