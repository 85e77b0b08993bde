/* SPDX-License-Identifier: Apache-2.0 */
/* The resolver's settings: Kong's dns_order and dns_resolver values parsed for sluice.conf, and
 * the settings in force. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/dns_internal.h"

struct sl_dns_settings sl_dns_cfg = {
    .hostsfile = "/etc/hosts",
    .order = {SL_DNS_LAST, SL_DNS_SRV, SL_DNS_A, SL_DNS_CNAME},
    .norder = 4,
    .valid_ttl = -1,
    .stale_ttl = 3600,
    .not_found_ttl = 30,
    .error_ttl = 1,
};

/* The next item of a list separated by commas and/or blanks (Kong's list values): its start and
 * *len, advancing *p past it; NULL at the end. */
static const char *
next_item(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',') {
        s++;
    }
    const char *start = s;
    while (*s && *s != ',' && *s != ' ' && *s != '\t') {
        s++;
    }
    *p = s;
    *len = (size_t)(s - start);
    return *len > 0 ? start : NULL;
}

static bool
token_is(const char *p, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

int
sl_dns_parse_order(const char *v, uint8_t *out, size_t *n, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        uint8_t type;
    } names[] = {{"LAST", SL_DNS_LAST},
                 {"SRV", SL_DNS_SRV},
                 {"A", SL_DNS_A},
                 {"AAAA", SL_DNS_AAAA},
                 {"CNAME", SL_DNS_CNAME}};
    *n = 0;
    const char *p = v, *start;
    size_t len;
    while ((start = next_item(&p, &len)) != NULL) {
        uint8_t type = 0;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (token_is(start, len, names[i].name)) {
                type = names[i].type;
            }
        }
        if (type == 0) {
            snprintf(err, errlen, "invalid dns record type: %.*s (LAST, SRV, A, AAAA or CNAME)",
                     (int)len, start);
            return -1;
        }
        for (size_t i = 0; i < *n; i++) {
            if (out[i] == type) {
                type = 0; /* listed twice: the first place counts */
            }
        }
        if (type != 0) {
            out[(*n)++] = type; /* five distinct types fit in SL_DNS_MAX_ORDER */
        }
    }
    if (*n == 0) {
        snprintf(err, errlen, "must list at least one record type (LAST, SRV, A, AAAA, CNAME)");
        return -1;
    }
    return 0;
}

/* One dns_resolver entry: "ip", "ip:port", "[ip6]" or "[ip6]:port" (a bare IPv6 address too).
 * Appends c-ares' form to <csv>. */
static int
parse_server(const char *p, size_t len, char *csv, size_t cap, char *err, size_t errlen)
{
    char host[64], buf[80];
    const char *port = NULL;
    size_t hl = len;
    bool v6 = false;
    if (len >= sizeof(buf)) {
        snprintf(err, errlen, "invalid name server: %.*s", (int)len, p);
        return -1;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            snprintf(err, errlen, "invalid name server: %s", buf);
            return -1;
        }
        hl = (size_t)(close - buf - 1);
        if (hl >= sizeof(host)) {
            snprintf(err, errlen, "invalid name server: %s", buf);
            return -1;
        }
        memcpy(host, buf + 1, hl);
        port = close[1] == ':' ? close + 2 : NULL;
        v6 = true;
    } else {
        char *colon = strchr(buf, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            v6 = true; /* a bare IPv6 address */
        } else if (colon != NULL) {
            hl = (size_t)(colon - buf);
            port = colon + 1;
        }
        if (hl >= sizeof(host)) {
            snprintf(err, errlen, "invalid name server: %s", buf);
            return -1;
        }
        memcpy(host, buf, hl);
    }
    host[hl] = '\0';
    unsigned char tmp[sizeof(struct in6_addr)];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, tmp) != 1) {
        snprintf(err, errlen, "invalid name server: %s (an IP address, optionally with a port)",
                 buf);
        return -1;
    }
    long portn = 53;
    if (port != NULL) {
        char *end;
        errno = 0;
        portn = strtol(port, &end, 10);
        if (*port == '\0' || *end != '\0' || errno != 0 || portn < 1 || portn > 65535) {
            snprintf(err, errlen, "invalid name server: %s (port between 1 and 65535)", buf);
            return -1;
        }
    }
    size_t used = strlen(csv);
    int w = snprintf(csv + used, cap - used, v6 ? "%s[%s]:%ld" : "%s%s:%ld", used ? "," : "", host,
                     portn);
    if (w < 0 || (size_t)w >= cap - used) {
        snprintf(err, errlen, "too many name servers");
        return -1;
    }
    return 0;
}

int
sl_dns_parse_resolver(const char *v, char *csv, size_t cap, char *err, size_t errlen)
{
    csv[0] = '\0';
    const char *p = v, *start;
    size_t len, n = 0;
    while ((start = next_item(&p, &len)) != NULL) {
        if (++n > SL_DNS_MAX_SERVERS) {
            snprintf(err, errlen, "at most %d name servers", SL_DNS_MAX_SERVERS);
            return -1;
        }
        if (parse_server(start, len, csv, cap, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

void
sl_dns_configure(const struct sl_dns_settings *st)
{
    sl_dns_cfg = *st;
}

static struct sl_dns_settings staged_cfg; /* the settings in force before the reload */
static bool staging;

void
sl_dns_reconfigure_begin(const struct sl_dns_settings *st)
{
    if (!staging) { /* a begin without its end keeps the settings in force first */
        staged_cfg = sl_dns_cfg;
        staging = true;
    }
    sl_dns_cfg = *st;
    sl_dns_hosts_stage();
}

void
sl_dns_reconfigure_end(bool commit)
{
    if (!commit) {
        sl_dns_cfg = staged_cfg;
    }
    staging = false;
    sl_dns_hosts_unstage(commit);
    if (commit) {
        sl_dns_servers_changed(); /* compares with the servers the channel has */
    }
}
