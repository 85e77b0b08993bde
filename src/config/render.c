/* SPDX-License-Identifier: Apache-2.0 */
/* Entity → JSON for the Admin API and the declarative export (render.h). Field order follows Kong's
 * schemas so that diffs against Kong's output read the same. */
#include "config/render.h"

static const char *const protocol_names[SL_PROTO_MAX] = {
    "http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp",
};

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Sets and arrays render as [] when empty for tags (Kong), null elsewhere when unset. */
static json_t *
strv(const struct sl_strv *v, bool empty_as_array)
{
    if (v->n == 0 && !empty_as_array) {
        return json_null();
    }
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++) {
        json_array_append_new(a, json_string(v->v[i]));
    }
    return a;
}

static json_t *
tri_bool(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

json_t *
sl_config_render_service(const struct sl_service *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "created_at", json_integer(s->created_at));
    json_object_set_new(o, "updated_at", json_integer(s->updated_at));
    json_object_set_new(o, "name", str_or_null(s->name));
    json_object_set_new(o, "retries", json_integer(s->retries));
    json_object_set_new(o, "protocol", json_string(protocol_names[s->protocol]));
    json_object_set_new(o, "host", json_string(s->host));
    json_object_set_new(o, "port", json_integer(s->port));
    json_object_set_new(o, "path", str_or_null(s->path));
    json_object_set_new(o, "connect_timeout", json_integer(s->connect_timeout_ms));
    json_object_set_new(o, "write_timeout", json_integer(s->write_timeout_ms));
    json_object_set_new(o, "read_timeout", json_integer(s->read_timeout_ms));
    json_object_set_new(o, "tags", strv(&s->tags, false));
    json_object_set_new(o, "client_certificate",
                        s->client_certificate_id != NULL
                            ? json_pack("{s:s}", "id", s->client_certificate_id)
                            : json_null());
    json_object_set_new(o, "tls_verify", tri_bool(s->tls_verify));
    json_object_set_new(o, "tls_verify_depth",
                        s->tls_verify_depth < 0 ? json_null() : json_integer(s->tls_verify_depth));
    json_object_set_new(o, "ca_certificates", strv(&s->ca_certificate_ids, false));
    json_object_set_new(o, "enabled", json_boolean(s->enabled));
    return o;
}

json_t *
sl_config_render_route(const struct sl_route *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "created_at", json_integer(r->created_at));
    json_object_set_new(o, "updated_at", json_integer(r->updated_at));
    json_object_set_new(o, "name", str_or_null(r->name));
    json_t *protocols = json_array();
    for (int p = 0; p < SL_PROTO_MAX; p++) {
        if (r->protocols & SL_PROTO_BIT(p)) {
            json_array_append_new(protocols, json_string(protocol_names[p]));
        }
    }
    json_object_set_new(o, "protocols", protocols);
    json_object_set_new(o, "methods", strv(&r->methods, false));
    json_object_set_new(o, "hosts", strv(&r->hosts, false));
    json_object_set_new(o, "paths", strv(&r->paths, false));
    if (r->nheaders == 0) {
        json_object_set_new(o, "headers", json_null());
    } else {
        json_t *h = json_object();
        for (size_t i = 0; i < r->nheaders; i++) {
            json_object_set_new(h, r->headers[i].name, strv(&r->headers[i].values, true));
        }
        json_object_set_new(o, "headers", h);
    }
    json_object_set_new(o, "snis", strv(&r->snis, false));
    json_object_set_new(o, "sources", json_null());
    json_object_set_new(o, "destinations", json_null());
    json_object_set_new(o, "https_redirect_status_code",
                        json_integer(r->https_redirect_status_code));
    json_object_set_new(o, "regex_priority", json_integer(r->regex_priority));
    json_object_set_new(o, "strip_path", json_boolean(r->strip_path));
    json_object_set_new(o, "path_handling",
                        json_string(r->path_handling == SL_PATH_HANDLING_V1 ? "v1" : "v0"));
    json_object_set_new(o, "preserve_host", json_boolean(r->preserve_host));
    json_object_set_new(o, "request_buffering", json_boolean(r->request_buffering));
    json_object_set_new(o, "response_buffering", json_boolean(r->response_buffering));
    if (r->service != NULL) {
        json_t *svc = json_object();
        json_object_set_new(svc, "id", json_string(r->service->id));
        json_object_set_new(o, "service", svc);
    } else {
        json_object_set_new(o, "service", json_null());
    }
    json_object_set_new(o, "tags", strv(&r->tags, false));
    return o;
}

/* The fallback of GET /config for a configuration loaded from no text (it renders the compiled
 * form: services and routes, nulls left out). A configuration with a text is exported from its
 * rows, as Kong's export writes them (store_bridge.c sl_config_export_rows). */
static json_t *
without_nulls(json_t *o)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(o, key);
        }
    }
    return o;
}

json_t *
sl_config_render_config(const struct sl_config *cfg)
{
    json_t *root = json_object();
    json_object_set_new(root, "_format_version", json_string("3.0"));
    /* as Kong's export: the entities are already transformed (nothing to hash again) */
    json_object_set_new(root, "_transform", json_false());
    json_t *services = json_array();
    for (size_t i = 0; i < cfg->nservices; i++) {
        json_array_append_new(services, without_nulls(sl_config_render_service(cfg->services[i])));
    }
    json_t *routes = json_array();
    for (size_t i = 0; i < cfg->nroutes; i++) {
        json_array_append_new(routes, without_nulls(sl_config_render_route(cfg->routes[i])));
    }
    json_object_set_new(root, "services", services);
    json_object_set_new(root, "routes", routes);
    return root;
}
