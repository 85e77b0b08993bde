/* SPDX-License-Identifier: Apache-2.0 */
/* Answers without a query: IP literals, and the hosts file (dns_hostsfile), read once into a
 * table of names. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/strmap.h"
#include "net/dns_internal.h"
#include "sluice/arena.h"
#include "sluice/log.h"

struct hosts_entry {
    const char *name;
    struct sl_addrs v4, v6;
};

static struct {
    bool loaded;
    struct sl_arena *arena;
    struct sl_strmap index; /* name → entries[] */
    struct hosts_entry *entries;
    size_t n;
} hosts;

/* Reads the hosts file once ("address name [aliases...]", '#' comments); names are matched
 * case-insensitively, as DNS does, so they are kept lower-cased. A missing file means no entries.
 */
static void
hosts_load(void)
{
    hosts.loaded = true;
    FILE *f = fopen(sl_dns_cfg.hostsfile, "re");
    if (f == NULL) {
        if (errno != ENOENT) {
            sl_log(SL_LOG_WARN, "dns: cannot read hosts file %s: %s", sl_dns_cfg.hostsfile,
                   strerror(errno));
        }
        return;
    }
    size_t cap = 0, nlines = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL) {
        nlines++;
    }
    cap = nlines * 4 + 1; /* an address line names a few hosts at most, usually */
    hosts.arena = sl_arena_create(16384);
    if (hosts.arena == NULL || !sl_strmap_init(&hosts.index, cap, hosts.arena) ||
        (hosts.entries = sl_arena_calloc(hosts.arena, cap, sizeof(*hosts.entries))) == NULL) {
        fclose(f);
        return;
    }
    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *save = NULL;
        char *ip = strtok_r(line, " \t\r\n", &save);
        struct in_addr v4;
        struct in6_addr v6;
        bool is4 = ip != NULL && inet_pton(AF_INET, ip, &v4) == 1;
        bool is6 = ip != NULL && !is4 && inet_pton(AF_INET6, ip, &v6) == 1;
        if (!is4 && !is6) {
            continue;
        }
        for (char *name = strtok_r(NULL, " \t\r\n", &save); name != NULL;
             name = strtok_r(NULL, " \t\r\n", &save)) {
            for (char *c = name; *c; c++) {
                *c = (char)tolower((unsigned char)*c);
            }
            size_t i;
            if (!sl_strmap_get(&hosts.index, name, &i)) {
                if (hosts.n == cap) {
                    break;
                }
                char *copy = sl_arena_strndup(hosts.arena, name, strlen(name));
                if (copy == NULL) {
                    break;
                }
                i = hosts.n++;
                hosts.entries[i].name = copy;
                sl_strmap_put(&hosts.index, copy, i);
            }
            if (is4) {
                sl_dns_addrs_add_v4(&hosts.entries[i].v4, &v4, 0, 1);
            } else {
                sl_dns_addrs_add_v6(&hosts.entries[i].v6, &v6, 0, 1);
            }
        }
    }
    fclose(f);
}

bool
sl_dns_static(const char *name, struct sl_addrs *out)
{
    out->n = 0;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, name, &v4) == 1) {
        sl_dns_addrs_add_v4(out, &v4, 0, 1);
        return true;
    }
    if (inet_pton(AF_INET6, name, &v6) == 1) {
        sl_dns_addrs_add_v6(out, &v6, 0, 1);
        return true;
    }
    if (!hosts.loaded) {
        hosts_load();
    }
    char lower[256];
    size_t len = strlen(name), i;
    if (hosts.n == 0 || len >= sizeof(lower)) {
        return false;
    }
    for (size_t k = 0; k <= len; k++) {
        lower[k] = (char)tolower((unsigned char)name[k]);
    }
    if (!sl_strmap_get(&hosts.index, lower, &i)) {
        return false;
    }
    /* Kong asks the hosts file per record type, in dns_order: IPv6 entries only count when AAAA
     * is listed, and come first when AAAA is listed before A. */
    const struct hosts_entry *h = &hosts.entries[i];
    bool want6 = sl_dns_order_has(SL_DNS_AAAA);
    bool six_first = false;
    for (size_t k = 0; k < sl_dns_cfg.norder; k++) {
        if (sl_dns_cfg.order[k] == SL_DNS_A || sl_dns_cfg.order[k] == SL_DNS_AAAA) {
            six_first = sl_dns_cfg.order[k] == SL_DNS_AAAA;
            break;
        }
    }
    const struct sl_addrs *first = six_first ? &h->v6 : &h->v4;
    const struct sl_addrs *second = six_first ? &h->v4 : &h->v6;
    if (first->n > 0 && (want6 || !six_first)) {
        *out = *first;
    } else if (second->n > 0 && (want6 || six_first)) {
        *out = *second;
    }
    return out->n > 0;
}
