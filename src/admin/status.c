/* SPDX-License-Identifier: Apache-2.0 */
/* The Status API (kong/status/init.lua): what `status_listen` connections are served, by the same
 * HTTP server as the Admin API (server.c) on the control thread. It answers GET /status as the
 * Admin API does, and /status/ready, the readiness probe of load balancers and Kubernetes
 * (kong/status/ready.lua): 200 {"message":"ready"}, or 503 with the reason. POST /status/ready
 * with {"status":"draining"} (what `sluice drain` sends, as `kong drain` does) makes the probe
 * answer 503 {"message":"draining"} from then on, so that a load balancer takes the node out of
 * rotation before it is stopped; proxying goes on. Nothing else of the Admin API is reachable
 * here: the Status API may listen where the Admin API must not. */
#include <string.h>

#include "admin/internal.h"
#include "config/declarative.h"
#include "config/snapshot.h"
#include "sluice/log.h"

/* Set once by POST /status/ready; only a restart clears it (Kong keeps it in shared memory, which
 * a reload keeps too). Control thread only. */
static bool draining;

/* Why the node is not ready to proxy, or NULL when it is: Kong's reasons, in Kong's order. With a
 * database the configuration compiled from the store serves; without one, a configuration must
 * have been loaded that is not the empty one (a DB-less node without declarative_config is
 * running but has nothing to route). */
static const char *
not_ready_reason(const struct sl_conf *conf)
{
    if (draining) {
        return "draining";
    }
    if (conf->database != SL_DB_OFF && !sl_admin_database_reachable(conf)) {
        return "failed to connect to database";
    }
    struct sl_snapshot *snap = sl_snapshot_acquire();
    bool loaded = snap != NULL;
    sl_snapshot_unref(snap);
    if (conf->database != SL_DB_OFF) {
        return loaded ? NULL : "router builds not yet complete";
    }
    if (!loaded) {
        return "no configuration available (configuration hash is not initialized)";
    }
    char hash[33], empty[33];
    sl_admin_served_hash(hash);
    sl_declarative_md5("", 0, empty);
    return strcmp(hash, empty) == 0 ? "no configuration available (empty configuration present)"
                                    : NULL;
}

static void
get_ready(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    const char *why = not_ready_reason(req->conf);
    if (why == NULL) {
        sl_admin_message(res, 200, "ready");
        return;
    }
    sl_log(SL_LOG_NOTICE, "not ready for proxying: %s", why);
    sl_admin_message(res, 503, why);
}

/* POST /status/ready: {"status": "draining"} (JSON, or a form) turns draining on: 204. */
static void
post_ready(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    json_t *body = sl_admin_read_body(req, res, NULL);
    if (body == NULL) {
        return; /* 400 or 415 filled in */
    }
    const char *status = json_string_value(json_object_get(body, "status"));
    if (status == NULL || strcmp(status, "draining") != 0) {
        sl_admin_message(res, 400, "status: expected 'draining'");
    } else {
        if (!draining) {
            sl_log(SL_LOG_NOTICE,
                   "status: draining; /status/ready answers 503 until the next start");
        }
        draining = true;
        res->status = 204;
    }
    json_decref(body);
}

/* The Status API's routes, with the methods each answers (OPTIONS as the Admin API answers it:
 * Kong builds both with the same route helpers). */
static const char allow_status[] = SL_ADMIN_OPTIONS_HEADERS("GET, HEAD, OPTIONS");
static const char allow_ready[] = SL_ADMIN_OPTIONS_HEADERS("GET, HEAD, OPTIONS, POST");

static bool
is_path(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == '\0' || strcmp(path + n, "/") == 0);
}

void
sl_status_dispatch(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    const char *m = req->method;
    bool read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool status = is_path(req->path, "/status"), ready = is_path(req->path, "/status/ready");
    if (!status && !ready) {
        sl_admin_message(res, 404, "Not found");
    } else if (strcmp(m, "OPTIONS") == 0) {
        res->status = 204;
        res->extra_headers = ready ? allow_ready : allow_status;
        /* the preflight grants the headers the browser asks for, else Content-Type */
        res->allow_headers = req->acrh != NULL ? req->acrh : "Content-Type";
    } else if (read) {
        ready ? get_ready(req, res) : sl_admin_get_status(req, res);
    } else if (ready && strcmp(m, "POST") == 0) {
        post_ready(req, res);
    } else {
        sl_admin_message(res, 405, "Method not allowed");
    }
}
