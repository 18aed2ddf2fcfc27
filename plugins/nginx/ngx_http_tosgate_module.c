/* ngx_http_tosgate_module: tosgate's decisions inside nginx, in process.
 *
 * In the access phase it reads the request (and, where `tosgate_body on`,
 * its body, buffered whole up to `tosgate_body_max_size`) and asks the
 * engine of libtosgate (include/tosgate/tosgate.h) linked into each worker:
 * no subrequest, no connection to a separate gateway. Allowed requests go
 * on with tosgate's X-Tos-* headers for the upstream (the client's own
 * X-Tos-* headers are dropped); denials and throttles are answered here with
 * the decision's status and problem+json body. Every answer carries the
 * RateLimit fields and the decision id (a header filter), throttles
 * Retry-After.
 *
 * nginx's workers are separate processes, each with its own engine, so the
 * limits live in one shared memory zone that every engine counts in
 * (tosgate_config_set_state_shm); the zone survives `nginx -s reload`, so
 * counters of unchanged rules do too. Policies are compiled once at
 * configuration time to refuse a bad set (`nginx -t`, and a reload with
 * bad policies keeps the old workers), then by each worker at its start.
 *
 * docs/deploy-nginx.md documents the directives; deploy/nginx/ has a
 * complete configuration.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ftw.h>

#include "ngx_http_tosgate_module.h"

static ngx_int_t ngx_http_tosgate_init(ngx_conf_t *cf);
static void *ngx_http_tosgate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_tosgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tosgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_tosgate_init_process(ngx_cycle_t *cycle);
static void ngx_http_tosgate_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_tosgate_audit_socket(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

tosgate_engine *ngx_http_tosgate_engine;
ngx_http_output_header_filter_pt ngx_http_next_header_filter;
ngx_http_output_body_filter_pt ngx_http_next_body_filter;

static ngx_command_t ngx_http_tosgate_commands[] = {

    { ngx_string("tosgate_policies"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tosgate_main_conf_t, policies),
      NULL },

    { ngx_string("tosgate_accounts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tosgate_main_conf_t, accounts),
      NULL },

    { ngx_string("tosgate_policies_watch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tosgate_main_conf_t, watch),
      NULL },

    { ngx_string("tosgate_audit_socket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_tosgate_audit_socket,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tosgate_shared_state_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tosgate_main_conf_t, zone_size),
      NULL },

    { ngx_string("tosgate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tosgate_loc_conf_t, enable),
      NULL },

    { ngx_string("tosgate_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tosgate_loc_conf_t, body),
      NULL },

    { ngx_string("tosgate_body_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tosgate_loc_conf_t, body_max),
      NULL },

      ngx_null_command
};

static ngx_http_module_t ngx_http_tosgate_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_tosgate_init,                 /* postconfiguration */
    ngx_http_tosgate_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_tosgate_create_loc_conf,      /* create location configuration */
    ngx_http_tosgate_merge_loc_conf        /* merge location configuration */
};

ngx_module_t ngx_http_tosgate_module = {
    NGX_MODULE_V1,
    &ngx_http_tosgate_module_ctx,          /* module context */
    ngx_http_tosgate_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_tosgate_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_tosgate_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};

#define NGX_HTTP_TOSGATE_ZONE_DEFAULT  (16 * 1024 * 1024)

/* ---- Configuration ---- */

static void *
ngx_http_tosgate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_tosgate_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tosgate_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }
    mcf->zone_size = NGX_CONF_UNSET_SIZE;
    mcf->watch = NGX_CONF_UNSET_MSEC;
    return mcf;
}

static void *
ngx_http_tosgate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_tosgate_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tosgate_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }
    lcf->enable = NGX_CONF_UNSET;
    lcf->body = NGX_CONF_UNSET;
    lcf->body_max = NGX_CONF_UNSET_SIZE;
    return lcf;
}

static char *
ngx_http_tosgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_tosgate_loc_conf_t  *prev = parent;
    ngx_http_tosgate_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->body, prev->body, 0);
    ngx_conf_merge_size_value(conf->body_max, prev->body_max, 1024 * 1024);
    return NGX_CONF_OK;
}

/* tosgate_audit_socket PATH [sync | async]: sync (the default) answers a
 * request once the writer acknowledged its record; async queues the record
 * and a thread of the worker sends the queue in batches. */
static char *
ngx_http_tosgate_audit_socket(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                     *value = cf->args->elts;
    ngx_http_tosgate_main_conf_t  *mcf = conf;

    if (mcf->audit_socket.data) {
        return "is duplicate";
    }
    mcf->audit_socket = value[1];
    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "async") == 0) {
            mcf->audit_async = 1;
        } else if (ngx_strcmp(value[2].data, "sync") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "tosgate_audit_socket: \"%V\" is not "
                               "sync or async", &value[2]);
            return NGX_CONF_ERROR;
        }
    }
    return NGX_CONF_OK;
}

/* Makes a tosgate config from the http block's directives. */
static tosgate_config *
ngx_http_tosgate_config(ngx_pool_t *pool, ngx_http_tosgate_main_conf_t *mcf)
{
    char            *dir, *accounts;
    tosgate_config  *config;

    dir = ngx_http_tosgate_cstr(pool, &mcf->policies);
    accounts = ngx_http_tosgate_cstr(pool, &mcf->accounts);
    if (dir == NULL || accounts == NULL) {
        return NULL;
    }
    config = tosgate_config_create();
    if (config == NULL) {
        return NULL;
    }
    tosgate_config_set_policy_dir(config, dir);
    tosgate_config_set_accounts_file(config, accounts);
    return config;
}

/* The shared zone: laid out once; a reload hands over the old zone's table
 * (same name and size), so counts survive it. */
static ngx_int_t
ngx_http_tosgate_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    char                     *error = NULL;
    ngx_slab_pool_t          *shpool;
    ngx_http_tosgate_zone_t  *z;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }
    z = ngx_slab_alloc(shpool, sizeof(ngx_http_tosgate_zone_t));
    if (z == NULL) {
        return NGX_ERROR;
    }
    /* The rest of the zone but the slab pool's own bookkeeping: every free
     * page, page-aligned. */
    z->bytes = shpool->pfree * ngx_pagesize;
    z->table = ngx_slab_alloc(shpool, z->bytes);
    if (z->table == NULL) {
        return NGX_ERROR;
    }
    if (tosgate_shm_state_init(z->table, z->bytes, &error) != 0) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "%s", error);
        tosgate_free_string(error);
        return NGX_ERROR;
    }
    shpool->data = z;
    shm_zone->data = z;
    ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                  "tosgate: shared limits table of %uz bytes", z->bytes);
    return NGX_OK;
}

static ngx_int_t
ngx_http_tosgate_init(ngx_conf_t *cf)
{
    char                          *error = NULL;
    tosgate_config                *config;
    tosgate_engine                *engine;
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_tosgate_main_conf_t  *mcf;
    static ngx_str_t               zone_name = ngx_string("tosgate_state");

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_tosgate_module);
    if (mcf->policies.len == 0) {
        return NGX_OK;  /* not configured: the module does nothing */
    }

    /* Compile the policies now, so that `nginx -t` and a reload refuse a
     * set with errors instead of starting workers that cannot decide. */
    config = ngx_http_tosgate_config(cf->pool, mcf);
    if (config == NULL) {
        return NGX_ERROR;
    }
    engine = tosgate_engine_create(config, &error);
    tosgate_config_destroy(config);
    if (engine == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "tosgate: %s", error ? error : "no engine");
        tosgate_free_string(error);
        return NGX_ERROR;
    }
    tosgate_engine_destroy(engine);

    ngx_conf_init_size_value(mcf->zone_size, NGX_HTTP_TOSGATE_ZONE_DEFAULT);
    mcf->zone = ngx_shared_memory_add(cf, &zone_name, mcf->zone_size, &ngx_http_tosgate_module);
    if (mcf->zone == NULL) {
        return NGX_ERROR;
    }
    mcf->zone->init = ngx_http_tosgate_init_zone;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_tosgate_handler_entry;
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_tosgate_log_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_tosgate_header_filter;
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_tosgate_body_filter;
    return NGX_OK;
}

/* ---- Worker processes ---- */

/* tosgate_policies_watch: each worker looks at the policy directory every
 * interval and reloads its engine when a file changed (its name, size,
 * modification time or inode), as `tosgate serve --watch` does. Counts live
 * in the shared zone, so those of unchanged rules carry on. */
static ngx_event_t  ngx_http_tosgate_watch_event;
static uint64_t     ngx_http_tosgate_fingerprint_acc;
static char        *ngx_http_tosgate_watch_dir;
static uint64_t     ngx_http_tosgate_watch_last;

static int
ngx_http_tosgate_fingerprint_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
    uint64_t     h = 1469598103934665603ULL;
    const char  *p;

    (void) type;
    (void) ftw;
    for (p = path; *p; p++) {
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    }
    h ^= (uint64_t) st->st_size * 0x9e3779b97f4a7c15ULL;
    h ^= ((uint64_t) st->st_mtim.tv_sec * 1000000000ULL + (uint64_t) st->st_mtim.tv_nsec)
         * 0xc2b2ae3d27d4eb4fULL;
    h ^= (uint64_t) st->st_ino;
    ngx_http_tosgate_fingerprint_acc += h;  /* order-independent */
    return 0;
}

static uint64_t
ngx_http_tosgate_fingerprint(void)
{
    ngx_http_tosgate_fingerprint_acc = 0;
    if (nftw(ngx_http_tosgate_watch_dir, ngx_http_tosgate_fingerprint_entry, 16, FTW_PHYS) != 0) {
        return 0;
    }
    return ngx_http_tosgate_fingerprint_acc;
}

static void
ngx_http_tosgate_watch(ngx_event_t *ev)
{
    char                          *error = NULL;
    uint64_t                       now;
    ngx_http_tosgate_main_conf_t  *mcf = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }
    now = ngx_http_tosgate_fingerprint();
    if (now != 0 && now != ngx_http_tosgate_watch_last && ngx_http_tosgate_engine) {
        if (tosgate_engine_reload(ngx_http_tosgate_engine, &error) == 0) {
            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0, "tosgate: policies reloaded from %V",
                          &mcf->policies);
        } else {
            /* The policies in force stay; the next change is tried again. */
            ngx_log_error(NGX_LOG_ERR, ev->log, 0, "tosgate: policies not reloaded: %s", error);
            tosgate_free_string(error);
        }
        ngx_http_tosgate_watch_last = now;
    }
    ngx_add_timer(ev, mcf->watch);
}

static ngx_int_t
ngx_http_tosgate_init_process(ngx_cycle_t *cycle)
{
    char                          *error = NULL, *sock;
    tosgate_config                *config;
    ngx_http_tosgate_zone_t       *z;
    ngx_http_tosgate_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_tosgate_module);
    if (mcf == NULL || mcf->policies.len == 0 || mcf->zone == NULL) {
        return NGX_OK;
    }
    z = mcf->zone->data;
    config = ngx_http_tosgate_config(cycle->pool, mcf);
    if (config == NULL || z == NULL) {
        tosgate_config_destroy(config);
        return NGX_ERROR;
    }
    tosgate_config_set_state_shm(config, z->table, z->bytes);
    if (mcf->audit_socket.len) {
        /* Every worker's records go to the one writer; in sync mode a check
         * returns once the writer acknowledged its record. */
        sock = ngx_http_tosgate_cstr(cycle->pool, &mcf->audit_socket);
        if (sock == NULL) {
            tosgate_config_destroy(config);
            return NGX_ERROR;
        }
        tosgate_config_set_audit_socket(config, sock);
        tosgate_config_set_audit_socket_async(config, (int) mcf->audit_async);
    }
    ngx_http_tosgate_engine = tosgate_engine_create(config, &error);
    tosgate_config_destroy(config);
    if (ngx_http_tosgate_engine == NULL) {
        /* The worker runs on and refuses what it cannot decide (503). */
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "tosgate: %s", error ? error : "no engine");
        tosgate_free_string(error);
    }
    if (mcf->watch != NGX_CONF_UNSET_MSEC && mcf->watch > 0) {
        ngx_http_tosgate_watch_dir = ngx_http_tosgate_cstr(cycle->pool, &mcf->policies);
        if (ngx_http_tosgate_watch_dir == NULL) {
            return NGX_ERROR;
        }
        ngx_http_tosgate_watch_last = ngx_http_tosgate_fingerprint();
        ngx_http_tosgate_watch_event.handler = ngx_http_tosgate_watch;
        ngx_http_tosgate_watch_event.data = mcf;
        ngx_http_tosgate_watch_event.log = cycle->log;
        ngx_http_tosgate_watch_event.cancelable = 1;  /* no wait for it at shutdown */
        ngx_add_timer(&ngx_http_tosgate_watch_event, mcf->watch);
    }
    return NGX_OK;
}

static void
ngx_http_tosgate_exit_process(ngx_cycle_t *cycle)
{
    (void) cycle;
    tosgate_engine_destroy(ngx_http_tosgate_engine);
    ngx_http_tosgate_engine = NULL;
}
