/* SPDX-License-Identifier: Apache-2.0 */
/* Answers without a query: IP literals, and the hosts file (dns_hostsfile), read once into a
 * table of names. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "net/dns_internal.h"
#include "sluice/arena.h"
#include "sluice/log.h"

/* One name: its first address of each family (Kong's "first one wins"). Kept small, as a
 * blocklist hosts file can name hundreds of thousands of hosts. */
struct hosts_entry {
    const char *name;
    struct in_addr v4;
    struct in6_addr v6;
    bool has4, has6;
};

/* Lines longer than this are skipped whole (with a warning), never cut into pieces: a cut could
 * turn the tail of a comment into a live mapping. */
#define HOSTS_MAX_LINE 65536

static struct {
    bool loaded;
    struct sl_arena *arena;
    struct sl_strmap index; /* name → entries[] */
    struct hosts_entry *entries;
    size_t n;
} hosts;

/* Starts reading one hosts-file line: its address into *v4 or *v6 and its family (AF_INET,
 * AF_INET6) into *family; false for a line without an address. next_name then gives its names,
 * lower-cased in place (DNS names match case-insensitively). */
static bool
hosts_line(char *line, int *family, struct in_addr *v4, struct in6_addr *v6, char **save)
{
    char *hash = strchr(line, '#');
    if (hash != NULL) {
        *hash = '\0';
    }
    char *ip = strtok_r(line, " \t\r\n", save);
    if (ip != NULL && inet_pton(AF_INET, ip, v4) == 1) {
        *family = AF_INET;
        return true;
    }
    if (ip != NULL && inet_pton(AF_INET6, ip, v6) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

static char *
next_name(char **save)
{
    char *name = strtok_r(NULL, " \t\r\n", save);
    for (char *c = name; c != NULL && *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    return name;
}

/* Reads one line of at most HOSTS_MAX_LINE bytes into <buf> (HOSTS_MAX_LINE + 2 bytes): its
 * length, 0 for a longer line (read to its end and dropped, so memory stays bounded whatever the
 * file holds), or -1 at the end of the file. */
static long
read_line(FILE *f, char *buf)
{
    if (fgets(buf, HOSTS_MAX_LINE + 2, f) == NULL) {
        return -1;
    }
    size_t len = strlen(buf);
    if (len <= HOSTS_MAX_LINE || buf[len - 1] == '\n') {
        return (long)len;
    }
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
    }
    return 0;
}

/* The entry of <name>, created if new (NULL when the table is full or out of memory). */
static struct hosts_entry *
hosts_entry(const char *name, size_t cap)
{
    size_t i;
    if (sl_strmap_get(&hosts.index, name, &i)) {
        return &hosts.entries[i];
    }
    char *copy = hosts.n < cap ? sl_arena_strndup(hosts.arena, name, strlen(name)) : NULL;
    if (copy == NULL) {
        return NULL;
    }
    i = hosts.n++;
    hosts.entries[i].name = copy;
    sl_strmap_put(&hosts.index, copy, i);
    return &hosts.entries[i];
}

/* Reads the hosts file once ("address name [aliases...]", '#' comments). As Kong's parser: the
 * first address of each family given for a name wins, and `localhost` is 127.0.0.1 and ::1 when
 * the file does not name it. A missing file means no entries but localhost. */
static void
hosts_load(void)
{
    hosts.loaded = true;
    size_t cap = 1; /* localhost */
    char *line = malloc(HOSTS_MAX_LINE + 2), *save = NULL;
    long len;
    int family;
    struct in_addr v4;
    struct in6_addr v6;
    FILE *f = line != NULL ? fopen(sl_dns_cfg.hostsfile, "re") : NULL;
    if (f == NULL && line != NULL && errno != ENOENT) {
        sl_log(SL_LOG_WARN, "dns: cannot read hosts file %s: %s", sl_dns_cfg.hostsfile,
               strerror(errno));
    }
    /* First pass: count the names, so the one-shot map is sized for all of them. */
    while (f != NULL && (len = read_line(f, line)) >= 0) {
        if (len > 0 && hosts_line(line, &family, &v4, &v6, &save)) {
            while (next_name(&save) != NULL) {
                cap++;
            }
        }
    }
    hosts.arena = sl_arena_create(16384);
    if (hosts.arena == NULL || !sl_strmap_init(&hosts.index, cap, hosts.arena) ||
        (hosts.entries = sl_arena_calloc(hosts.arena, cap, sizeof(*hosts.entries))) == NULL) {
        sl_log(SL_LOG_ERR, "dns: out of memory reading the hosts file");
        hosts.n = 0;
        free(line);
        if (f != NULL) {
            fclose(f);
        }
        return;
    }
    if (f != NULL) {
        rewind(f);
    }
    while (f != NULL && (len = read_line(f, line)) >= 0) {
        if (len == 0) {
            sl_log(SL_LOG_WARN, "dns: %s: a line longer than %d bytes skipped",
                   sl_dns_cfg.hostsfile, HOSTS_MAX_LINE);
            continue;
        }
        if (!hosts_line(line, &family, &v4, &v6, &save)) {
            continue;
        }
        for (char *name = next_name(&save); name != NULL; name = next_name(&save)) {
            struct hosts_entry *h = hosts_entry(name, cap);
            if (h != NULL && family == AF_INET && !h->has4) {
                h->v4 = v4;
                h->has4 = true;
            } else if (h != NULL && family == AF_INET6 && !h->has6) {
                h->v6 = v6;
                h->has6 = true;
            }
        }
    }
    free(line);
    if (f != NULL) {
        fclose(f);
    }
    struct hosts_entry *lo = hosts_entry("localhost", cap);
    if (lo != NULL && !lo->has4 && !lo->has6) {
        lo->has4 = inet_pton(AF_INET, "127.0.0.1", &lo->v4) == 1;
        lo->has6 = inet_pton(AF_INET6, "::1", &lo->v6) == 1;
    }
}

/* The table in force while a reload compiles against a fresh one (sl_dns_hosts_stage). */
static __typeof__(hosts) staged_out;
static bool staged;

void
sl_dns_hosts_stage(void)
{
    if (staged) {
        sl_arena_destroy(hosts.arena); /* a stage never ended: the table in force stays aside */
    } else {
        staged_out = hosts;
        staged = true;
    }
    memset(&hosts, 0, sizeof(hosts)); /* the next lookup reads the file */
}

void
sl_dns_hosts_unstage(bool keep_new)
{
    if (keep_new) {
        sl_arena_destroy(staged_out.arena); /* the index and the entries live in it */
    } else {
        sl_arena_destroy(hosts.arena);
        hosts = staged_out;
    }
    memset(&staged_out, 0, sizeof(staged_out));
    staged = false;
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
    /* Kong asks the hosts file per record type, in dns_order: A gives the IPv4 entry, AAAA the
     * IPv6 one, SRV and CNAME nothing. LAST adds nothing here: Kong only records as LAST a type
     * that dns_order lists, which is then found at its own place in the order. So with the
     * default order an IPv6-only name is not taken from the hosts file (it is asked over DNS). */
    const struct hosts_entry *h = &hosts.entries[i];
    for (size_t k = 0; k < sl_dns_cfg.norder; k++) {
        uint8_t t = sl_dns_cfg.order[k];
        if (t == SL_DNS_A && h->has4) {
            sl_dns_addrs_add_v4(out, &h->v4, 0, 1);
            return true;
        }
        if (t == SL_DNS_AAAA && h->has6) {
            sl_dns_addrs_add_v6(out, &h->v6, 0, 1);
            return true;
        }
    }
    return false;
}
