/* SPDX-License-Identifier: Apache-2.0 */
/* Well-known header names, identified in one lookup: a proxy classifies each header of a head once
 * (hop-by-hop, forwarding, logging) instead of comparing it with every name it cares about. This
 * file knows names only; what a caller does with them (drop, join, copy) is the caller's policy. */
#ifndef SL_HTTP_HDR_NAMES_H
#define SL_HTTP_HDR_NAMES_H

#include "sluice/str.h"

/* One id per name below; SL_HN_OTHER for every other name. Fits a uint8_t. */
enum sl_hn {
    SL_HN_OTHER = 0,
    SL_HN_ACCEPT,              /* accept */
    SL_HN_AUTHORIZATION,       /* authorization */
    SL_HN_CONNECTION,          /* connection */
    SL_HN_CONTENT_LENGTH,      /* content-length */
    SL_HN_CONTENT_RANGE,       /* content-range */
    SL_HN_CONTENT_TYPE,        /* content-type */
    SL_HN_DATE,                /* date */
    SL_HN_EXPECT,              /* expect */
    SL_HN_HOST,                /* host */
    SL_HN_IF_MATCH,            /* if-match */
    SL_HN_IF_MODIFIED_SINCE,   /* if-modified-since */
    SL_HN_IF_NONE_MATCH,       /* if-none-match */
    SL_HN_IF_RANGE,            /* if-range */
    SL_HN_IF_UNMODIFIED_SINCE, /* if-unmodified-since */
    SL_HN_KEEP_ALIVE,          /* keep-alive */
    SL_HN_PROXY,               /* proxy */
    SL_HN_PROXY_AUTHENTICATE,  /* proxy-authenticate */
    SL_HN_PROXY_AUTHORIZATION, /* proxy-authorization */
    SL_HN_PROXY_CONNECTION,    /* proxy-connection */
    SL_HN_REFERER,             /* referer */
    SL_HN_SERVER,              /* server */
    SL_HN_TE,                  /* te */
    SL_HN_TRAILER,             /* trailer */
    SL_HN_TRANSFER_ENCODING,   /* transfer-encoding */
    SL_HN_UPGRADE,             /* upgrade */
    SL_HN_USER_AGENT,          /* user-agent */
    SL_HN_VIA,                 /* via */
    SL_HN_X_FORWARDED_FOR,     /* x-forwarded-for */
    SL_HN_X_FORWARDED_HOST,    /* x-forwarded-host */
    SL_HN_X_FORWARDED_PATH,    /* x-forwarded-path */
    SL_HN_X_FORWARDED_PORT,    /* x-forwarded-port */
    SL_HN_X_FORWARDED_PREFIX,  /* x-forwarded-prefix */
    SL_HN_X_FORWARDED_PROTO,   /* x-forwarded-proto */
    SL_HN_X_REAL_IP,           /* x-real-ip */
    SL_HN_X_SLUICE_REQUEST_ID, /* x-sluice-request-id */
    SL_HN_MAX
};

/* The id of header name <name>, compared ASCII case-insensitively and exactly (same length, no
 * trimming): the same answer as sl_str_caseeq against each lowercase name above. SL_HN_OTHER for
 * any other name, the empty one included. Never reads outside <name>. */
enum sl_hn sl_http_hn_lookup(struct sl_str name);

/* The lowercase name of <id> (SL_HN_OTHER and out-of-range ids: ""). */
const char *sl_http_hn_name(enum sl_hn id);

#endif
