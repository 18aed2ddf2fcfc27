/* The module list of a dynamic module, as nginx's `./configure
 * --add-dynamic-module` would generate it: what load_module reads. */
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_tosgate_module;

ngx_module_t *ngx_modules[] = {
    &ngx_http_tosgate_module,
    NULL
};

char *ngx_module_names[] = {
    "ngx_http_tosgate_module",
    NULL
};

char *ngx_module_order[] = {
    NULL
};
