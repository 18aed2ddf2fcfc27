/* What the two files of ngx_http_tosgate_module share: the configuration
 * (ngx_http_tosgate_module.c: directives, the shared zone, the workers'
 * engines) and the request handling (ngx_http_tosgate_request.c). */
#ifndef NGX_HTTP_TOSGATE_MODULE_H_
#define NGX_HTTP_TOSGATE_MODULE_H_

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "tosgate/tosgate.h"

typedef struct {
    ngx_str_t        policies;
    ngx_str_t        accounts;
    ngx_str_t        audit_socket; /* tosgate-audit-writer's Unix socket; empty: no audit */
    ngx_flag_t       audit_async;  /* tosgate_audit_socket ... async */
    size_t           zone_size;
    ngx_msec_t       watch;        /* tosgate_policies_watch; 0: off */
    ngx_shm_zone_t  *zone;
} ngx_http_tosgate_main_conf_t;

/* What the zone holds: where its table is and how big (a reload hands the
 * zone's data over to the new cycle, which must find both). */
typedef struct {
    void            *table;
    size_t           bytes;
} ngx_http_tosgate_zone_t;

typedef struct {
    ngx_flag_t       enable;
    ngx_flag_t       body;
    size_t           body_max;
} ngx_http_tosgate_loc_conf_t;

typedef struct {
    tosgate_decision       *decision;
    ngx_int_t               status;   /* the verdict once the body was read */
    tosgate_usage_scanner  *usage;    /* reading the upstream's answer */
    int64_t                 input_tokens, output_tokens;  /* what it said; -1: unknown */
} ngx_http_tosgate_ctx_t;

extern ngx_module_t ngx_http_tosgate_module;

/* The worker's engine: one per process, made at the worker's start; NULL
 * when it could not be made (every checked request is then refused, 503). */
extern tosgate_engine *ngx_http_tosgate_engine;

extern ngx_http_output_header_filter_pt ngx_http_next_header_filter;
extern ngx_http_output_body_filter_pt ngx_http_next_body_filter;

/* The access-phase handler, the header filter and the log-phase handler
 * (the request file). */
ngx_int_t ngx_http_tosgate_handler_entry(ngx_http_request_t *r);
ngx_int_t ngx_http_tosgate_header_filter(ngx_http_request_t *r);
ngx_int_t ngx_http_tosgate_log_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_tosgate_body_filter(ngx_http_request_t *r, ngx_chain_t *in);

/* A NUL-terminated copy of an nginx string, from the pool; NULL when out
 * of memory. */
char *ngx_http_tosgate_cstr(ngx_pool_t *pool, ngx_str_t *s);

#endif  /* NGX_HTTP_TOSGATE_MODULE_H_ */
