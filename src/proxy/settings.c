/* SPDX-License-Identifier: Apache-2.0 */
/* The data plane's settings: derived from sluice.conf, published by the control thread at start
 * and on reload, picked up by each worker at its next request (proxy.h has the contract). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy.h"

static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_proxy_settings *current;
static atomic_uint_fast64_t current_generation;
static uint64_t next_generation = 1;

struct sl_proxy_settings *
sl_proxy_settings_new(const struct sl_conf *conf)
{
    struct sl_proxy_settings *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return NULL;
    }
    st->conf = *conf;
    st->max_request_line = conf->large_client_header_buffers;
    st->max_header_line = conf->large_client_header_buffers;
    st->max_header_bytes = conf->max_header_bytes;
    st->max_headers = (size_t)conf->lua_max_req_headers;
    st->max_body_bytes = conf->client_max_body_size;
    st->client_header_timeout_ms = conf->client_header_timeout_ms;
    st->client_body_timeout_ms = conf->client_body_timeout_ms;
    st->send_timeout_ms = conf->send_timeout_ms;
    st->keepalive_timeout_ms = conf->keepalive_timeout_ms;
    st->pool_size = conf->upstream_keepalive_pool_size;
    st->pool_max_requests = conf->upstream_keepalive_max_requests;
    st->pool_idle_timeout_ms = conf->upstream_keepalive_idle_timeout_s * 1000;
    st->headers = conf->headers;
    st->access_log_on =
        conf->proxy_access_log[0] != '\0' && strcmp(conf->proxy_access_log, "off") != 0;
    st->access_log_json = conf->proxy_access_log_format == SL_ACCESS_LOG_JSON;
    st->real_ip_from_proxy_protocol = strcasecmp(conf->real_ip_header, "proxy_protocol") == 0;
    st->real_ip_xff = strcasecmp(conf->real_ip_header, "X-Forwarded-For") == 0;
    atomic_init(&st->refs, 1);
    return st;
}

struct sl_proxy_settings *
sl_proxy_settings_ref(struct sl_proxy_settings *st)
{
    atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
    return st;
}

void
sl_proxy_settings_unref(struct sl_proxy_settings *st)
{
    if (st != NULL && atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1) {
        free(st);
    }
}

void
sl_proxy_settings_publish(struct sl_proxy_settings *st)
{
    pthread_mutex_lock(&publish_lock);
    struct sl_proxy_settings *old = current;
    st->generation = next_generation++;
    current = st;
    atomic_store_explicit(&current_generation, st->generation, memory_order_release);
    pthread_mutex_unlock(&publish_lock);
    sl_proxy_settings_unref(old);
}

struct sl_proxy_settings *
sl_proxy_settings_acquire(void)
{
    pthread_mutex_lock(&publish_lock);
    struct sl_proxy_settings *st = current ? sl_proxy_settings_ref(current) : NULL;
    pthread_mutex_unlock(&publish_lock);
    return st;
}

uint64_t
sl_proxy_settings_generation(void)
{
    return atomic_load_explicit(&current_generation, memory_order_acquire);
}

uint16_t
sl_proxy_client_port(const struct sl_proxy_settings *st, uint16_t listen_port)
{
    for (size_t i = 0; i < st->conf.nport_maps; i++) {
        if (st->conf.port_maps[i].listen_port == listen_port) {
            return st->conf.port_maps[i].host_port;
        }
    }
    return listen_port;
}
