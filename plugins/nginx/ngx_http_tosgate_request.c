/* ngx_http_tosgate_module's request handling: the access-phase handler
 * that reads the request (and its body where configured) and decides it
 * through the worker's engine, and the header filter that gives every
 * answer the decision's RateLimit fields and id. */
#include "ngx_http_tosgate_module.h"

/* A NUL-terminated copy of an nginx string, from the pool. */
char *
ngx_http_tosgate_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }
    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';
    return p;
}

static void
ngx_http_tosgate_cleanup(void *data)
{
    ngx_http_tosgate_ctx_t  *ctx = data;

    tosgate_decision_destroy(ctx->decision);
    ctx->decision = NULL;
    tosgate_usage_scanner_destroy(ctx->usage);
    ctx->usage = NULL;
}

/* The request's context, also after an internal redirect (error_page,
 * try_files, a named location), which clears every module's context: the
 * decision's pool cleanup still holds it, so a request is decided, and
 * counted, once however often it is redirected. */
static ngx_http_tosgate_ctx_t *
ngx_http_tosgate_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_tosgate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tosgate_module);
    if (ctx || !r->internal) {
        return ctx;
    }
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_tosgate_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_tosgate_module);
            return ctx;
        }
    }
    return NULL;
}

static int
ngx_http_tosgate_has_prefix(ngx_str_t *name, const char *prefix)
{
    size_t  n = ngx_strlen(prefix);

    return name->len >= n && ngx_strncasecmp(name->data, (u_char *) prefix, n) == 0;
}

/* Headers that name the client, the original request or a decision: only
 * nginx itself knows these, so a client's copies are never passed on to
 * the engine (it takes the address from the connection, after realip). */
static int
ngx_http_tosgate_untrusted(ngx_str_t *name)
{
    static ngx_str_t  forwarded = ngx_string("forwarded");

    return ngx_http_tosgate_has_prefix(name, "x-tos-")
           || ngx_http_tosgate_has_prefix(name, "x-forwarded-")
           || ngx_http_tosgate_has_prefix(name, "x-original-")
           || ngx_http_tosgate_has_prefix(name, "x-real-ip")
           || (name->len == forwarded.len
               && ngx_strncasecmp(name->data, forwarded.data, name->len) == 0);
}

/* Sends `body` as application/problem+json with `status`, then finalizes
 * the request; the header filter adds the decision's fields. */
static ngx_int_t
ngx_http_tosgate_send_problem(ngx_http_request_t *r, ngx_uint_t status, const char *body)
{
    size_t        len = ngx_strlen(body);
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_chain_t   out;

    if (r->request_body == NULL && ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }
    r->headers_out.status = status;
    ngx_str_set(&r->headers_out.content_type, "application/problem+json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }
    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }
    b->pos = (u_char *) body;      /* the decision outlives the request's output */
    b->last = b->pos + len;
    b->memory = len > 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    out.buf = b;
    out.next = NULL;
    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));
    return NGX_DONE;
}

/* A problem+json of our own, for what the engine could not decide. */
static ngx_int_t
ngx_http_tosgate_send_error(ngx_http_request_t *r, ngx_uint_t status, const char *title,
                            const char *detail)
{
    u_char  *p, *end;
    size_t   n = 256 + 2 * ngx_strlen(detail);

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    end = ngx_snprintf(p, n - 1,
                       "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%ui,\"detail\":\"",
                       title, status);
    /* The detail is an error message: keep printable ASCII, no quotes. */
    for (; *detail && end < p + n - 8; detail++) {
        *end++ = (*detail >= 0x20 && *detail < 0x7f && *detail != '"' && *detail != '\\')
                 ? *detail : ' ';
    }
    end = ngx_cpymem(end, "\"}", 2);
    *end = '\0';
    return ngx_http_tosgate_send_problem(r, status, (const char *) p);
}

/* Replaces the request's X-Tos-* headers (the client's, dropped) with the
 * decision's, so the upstream sees exactly what tosgate decided: account,
 * operation, decision id, flags, watermark. */
static ngx_int_t
ngx_http_tosgate_upstream_headers(ngx_http_request_t *r, tosgate_decision *d)
{
    size_t                 i, n;
    ngx_list_t             headers;
    ngx_list_part_t       *part;
    ngx_table_elt_t       *h, *e;
    const tosgate_header  *th;

    if (ngx_list_init(&headers, r->pool, 20, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_ERROR;
    }
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (ngx_http_tosgate_has_prefix(&h[i].key, "x-tos-")) {
                continue;
            }
            e = ngx_list_push(&headers);
            if (e == NULL) {
                return NGX_ERROR;
            }
            *e = h[i];
        }
    }
    n = tosgate_decision_headers(d, &th);
    for (i = 0; i < n; i++) {
        if (!(th[i].to & TOSGATE_HEADER_UPSTREAM)) {
            continue;
        }
        e = ngx_list_push(&headers);
        if (e == NULL) {
            return NGX_ERROR;
        }
        e->hash = 1;
        e->key.data = (u_char *) th[i].name.data;
        e->key.len = th[i].name.len;
        e->value.data = (u_char *) th[i].value.data;
        e->value.len = th[i].value.len;
        e->lowcase_key = ngx_pnalloc(r->pool, e->key.len);
        if (e->lowcase_key == NULL) {
            return NGX_ERROR;
        }
        ngx_strlow(e->lowcase_key, e->key.data, e->key.len);
    }
    r->headers_in.headers = headers;
    return NGX_OK;
}

/* The body, read whole: the one buffer it is in (request_body_in_single_buf)
 * as it is, else (a temp file, several buffers) copied into one from the
 * pool. NGX_DECLINED: larger than `max`; NGX_ERROR: unreadable. */
static ngx_int_t
ngx_http_tosgate_read_body(ngx_http_request_t *r, size_t max, ngx_str_t *body)
{
    size_t        len = 0;
    u_char       *p;
    ssize_t       n;
    ngx_chain_t  *cl;

    body->data = NULL;
    body->len = 0;
    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }
    if (len > max) {
        return NGX_DECLINED;
    }
    cl = r->request_body->bufs;
    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = len;
        return NGX_OK;
    }
    body->data = ngx_pnalloc(r->pool, len);
    if (body->data == NULL) {
        return NGX_ERROR;
    }
    p = body->data;
    for (; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            n = ngx_read_file(cl->buf->file, p, (size_t) (cl->buf->file_last - cl->buf->file_pos),
                              cl->buf->file_pos);
            if (n < 0) {
                return NGX_ERROR;
            }
            p += n;
        } else {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }
    body->len = p - body->data;
    return NGX_OK;
}

#define ngx_http_tosgate_str(s)  ((tosgate_str) { (const char *) (s).data, (s).len })

/* Decides the request. NGX_DECLINED: allowed, go on. NGX_DONE: answered
 * (denied, throttled, or not decidable) and finalized. */
static ngx_int_t
ngx_http_tosgate_decide(ngx_http_request_t *r, ngx_http_tosgate_ctx_t *ctx)
{
    char                         *error = NULL;
    size_t                        i, count = 0;
    ngx_int_t                     rc;
    ngx_str_t                     body;
    tosgate_str                  *names, *values;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    tosgate_request               req;
    tosgate_decision             *d;
    ngx_pool_cleanup_t           *cln;
    ngx_http_tosgate_loc_conf_t  *lcf;

    if (ngx_http_tosgate_engine == NULL) {
        return ngx_http_tosgate_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE, "Service unavailable",
                                           "tosgate has no engine (see the error log)");
    }
    ngx_memzero(&req, sizeof(req));
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_tosgate_module);
    if (lcf->body) {
        rc = ngx_http_tosgate_read_body(r, lcf->body_max, &body);
        if (rc == NGX_DECLINED) {
            return ngx_http_tosgate_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                               "Request body too large",
                                               "the body is larger than tosgate_body_max_size");
        }
        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        req.body = ngx_http_tosgate_str(body);
    }
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        count += part->nelts;
    }
    /* The engine reads nginx's own buffers: no copies. */
    names = ngx_palloc(r->pool, 2 * (count + 1) * sizeof(tosgate_str));
    if (names == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    values = names + count + 1;
    count = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (ngx_http_tosgate_untrusted(&h[i].key)) {
                continue;
            }
            names[count] = ngx_http_tosgate_str(h[i].key);
            values[count] = ngx_http_tosgate_str(h[i].value);
            count++;
        }
    }
    req.method = ngx_http_tosgate_str(r->method_name);
    req.path = ngx_http_tosgate_str(r->unparsed_uri);
    req.client_ip = ngx_http_tosgate_str(r->connection->addr_text);
    req.header_names = names;
    req.header_values = values;
    req.header_count = count;

    d = tosgate_check_request(ngx_http_tosgate_engine, &req, &error);
    if (d == NULL) {
        /* A request tosgate cannot read (a body that is not a JSON object,
         * an ambiguous path) is refused, never passed unchecked. */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "tosgate: %s", error);
        rc = ngx_http_tosgate_send_error(r, NGX_HTTP_BAD_REQUEST, "Bad request",
                                         error ? error : "unreadable request");
        tosgate_free_string(error);
        return rc;
    }
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        tosgate_decision_destroy(d);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->decision = d;
    cln->handler = ngx_http_tosgate_cleanup;
    cln->data = ctx;

    if (tosgate_decision_effect(d) == TOSGATE_ALLOW) {
        if (ngx_http_tosgate_upstream_headers(r, d) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ctx->status = NGX_DECLINED;  /* what a redirect's second look answers */
        return NGX_DECLINED;
    }
    return ngx_http_tosgate_send_problem(r, (ngx_uint_t) tosgate_decision_status(d),
                                         tosgate_decision_problem_json(d));
}

static void
ngx_http_tosgate_body_read(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_http_tosgate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tosgate_module);
    rc = ngx_http_tosgate_decide(r, ctx);
    if (rc == NGX_DONE) {
        return;
    }
    /* Back to the phases; the access handler gives this verdict. */
    ctx->status = rc;
    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}

ngx_int_t
ngx_http_tosgate_handler_entry(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_tosgate_ctx_t       *ctx;
    ngx_http_tosgate_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_tosgate_module);
    if (!lcf->enable || r != r->main) {
        return NGX_DECLINED;
    }
    ctx = ngx_http_tosgate_get_ctx(r);
    if (ctx) {
        return ctx->status;  /* decided: once the body was read, or before a redirect */
    }
    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_tosgate_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->input_tokens = -1;
    ctx->output_tokens = -1;
    ngx_http_set_ctx(r, ctx, ngx_http_tosgate_module);

    if (lcf->body && (r->headers_in.content_length_n > 0 || r->headers_in.chunked)) {
        if (r->headers_in.content_length_n > (off_t) lcf->body_max) {
            return ngx_http_tosgate_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                               "Request body too large",
                                               "the body is larger than tosgate_body_max_size");
        }
        /* One buffer when it fits client_body_buffer_size, else the temp
         * file: either way the whole body before deciding. */
        r->request_body_in_single_buf = 1;
        ctx->status = NGX_DONE;
        rc = ngx_http_read_client_request_body(r, ngx_http_tosgate_body_read);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }
        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    }
    return ngx_http_tosgate_decide(r, ctx);
}

/* ---- The request is over: its leases go back ---- */

/* Log phase: a request that was admitted has completed (answered, failed
 * or abandoned by the client), so its concurrency leases are released and
 * its token reservations settled with the usage the upstream's answer gave
 * (the body filter), or kept at their estimate when it gave none. Without
 * this a concurrency cap would hold each place until its lease time. */
ngx_int_t
ngx_http_tosgate_log_handler(ngx_http_request_t *r)
{
    char                    *error = NULL;
    ngx_http_tosgate_ctx_t  *ctx;

    ctx = ngx_http_tosgate_get_ctx(r);
    if (r != r->main || ctx == NULL || ctx->decision == NULL || ngx_http_tosgate_engine == NULL
        || tosgate_decision_awaits(ctx->decision) == 0)
    {
        return NGX_OK;  /* nothing waits for this request's end */
    }
    /* The module relays the answer and read its usage itself, as tosgate's
     * inline proxy does. */
    (void) tosgate_report_relayed_usage(ngx_http_tosgate_engine,
                                        tosgate_decision_id(ctx->decision),
                                        ctx->input_tokens, ctx->output_tokens, &error);
    tosgate_free_string(error);
    return NGX_OK;
}

/* ---- Every answer carries the limits and the decision id ---- */

ngx_int_t
ngx_http_tosgate_header_filter(ngx_http_request_t *r)
{
    size_t                   i, n;
    char                    *ct;
    ngx_table_elt_t         *h;
    const tosgate_header    *th;
    ngx_http_tosgate_ctx_t  *ctx;

    ctx = ngx_http_tosgate_get_ctx(r->main);
    if (r != r->main || ctx == NULL || ctx->decision == NULL) {
        return ngx_http_next_header_filter(r);
    }
    n = tosgate_decision_headers(ctx->decision, &th);
    for (i = 0; i < n; i++) {
        if (!(th[i].to & TOSGATE_HEADER_CLIENT)) {
            continue;
        }
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }
        h->hash = 1;
        h->key.data = (u_char *) th[i].name.data;
        h->key.len = th[i].name.len;
        h->value.data = (u_char *) th[i].value.data;
        h->value.len = th[i].value.len;
        h->lowcase_key = NULL;
    }
    if (ctx->usage == NULL && r->headers_out.content_type.len
        && (tosgate_decision_awaits(ctx->decision) & TOSGATE_AWAITS_USAGE))
    {
        /* The answer of a request whose reservations its usage settles:
         * read the usage as it passes (before gzip, which runs after this
         * filter). Other answers are not read at all. */
        ct = ngx_http_tosgate_cstr(r->pool, &r->headers_out.content_type);
        ctx->usage = ct ? tosgate_usage_scanner_create(ct) : NULL;
    }
    return ngx_http_next_header_filter(r);
}

ngx_int_t
ngx_http_tosgate_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t             *cl;
    ngx_http_tosgate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_tosgate_module);
    if (r != r->main || ctx == NULL || ctx->usage == NULL) {
        return ngx_http_next_body_filter(r, in);
    }
    for (cl = in; cl; cl = cl->next) {
        /* A response buffered to a temporary file is not read back: its
         * usage stays unknown and the reservation keeps its estimate. */
        if (ngx_buf_in_memory(cl->buf) && cl->buf->last > cl->buf->pos) {
            tosgate_usage_scanner_feed(ctx->usage, (const char *) cl->buf->pos,
                                       (size_t) (cl->buf->last - cl->buf->pos));
        }
        if (cl->buf->last_buf) {
            tosgate_usage_scanner_finish(ctx->usage, &ctx->input_tokens, &ctx->output_tokens);
            tosgate_usage_scanner_destroy(ctx->usage);
            ctx->usage = NULL;
            break;
        }
    }
    return ngx_http_next_body_filter(r, in);
}
