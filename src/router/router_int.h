/* SPDX-License-Identifier: Apache-2.0 */
/* The router's compiled form, shared by router_build.c and router_match.c and reachable from the
 * unit tests; nothing outside src/router/ includes this header. */
#ifndef SL_ROUTER_INT_H
#define SL_ROUTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "router/router.h"

/* Kong's get_priority (kong/router/transform.lua) bit layout. */
#define RT_PRIO_WEIGHT_SHIFT 61 /* number of non-empty matching fields, 3 bits */
#define RT_PRIO_PLAIN_HOSTS (1ull << 60)
#define RT_PRIO_HEADERS_SHIFT 52 /* header count, capped at 255 */
#define RT_PRIO_REGEX (1ull << 51)
#define RT_PRIO_REGEX_PRIO_SHIFT 19    /* regex_priority, 32 bits, regex sub-routes only */
#define RT_PRIO_LENGTH_MASK 0x7FFFFull /* prefix length */

/* Namespace of the v5 UUIDs Kong gives the sub-routes of a split route (kong/router/transform.lua).
 */
#define RT_SPLIT_NAMESPACE "7f145bf9-0dce-4f91-98eb-debbce4b9f6b"

/* Offset pairs in the per-thread match data; groups past this are not reported. */
#define RT_OVECTOR_PAIRS 64

enum rt_host_kind {
    RT_HOST_EXACT = 0,
    RT_HOST_SUFFIX, /* "*.example.com": name holds ".example.com" */
    RT_HOST_PREFIX, /* "example.*": name holds "example." */
    RT_HOST_KIND_MAX
};

/* A route host, or a route sni (transform.lua compiles both the same way, without a port). */
struct rt_host {
    struct sl_str name; /* lowercased, without the '*' and the port */
    int port;           /* -1: any port; else it must equal the request port */
    enum rt_host_kind kind;
};

struct rt_path {
    struct sl_str src; /* the prefix, or the regex source without its '~' */
    pcre2_code *re;    /* NULL for a prefix; shared by identical sources in one build */
    const char *const
        *names;        /* capture names by group number (NULL entries for unnamed); may be NULL */
    uint32_t ngroups;  /* capture groups of <re> */
    struct sl_str key; /* index key: the prefix, or the regex's literal prefix (may be empty) */
};

struct rt_header_value {
    struct sl_str value; /* lowercased exact value (unused when <re> is set) */
    pcre2_code *re;      /* compiled "~*" value: unanchored, caseless */
};

struct rt_header {
    struct sl_str name; /* lowercased, '_' turned into '-' (nginx's header lookup) */
    struct rt_header_value *values;
    size_t nvalues;
};

/* Where a sub-route is indexed (router_build.c chooses; exactly one place). */
enum rt_where { RT_WHERE_GENERIC = 0, RT_WHERE_HOST, RT_WHERE_PATH, RT_WHERE_MAX };

/* One (route, path group) pair: Kong splits a route whose paths fall in several groups (all
 * regexes; prefixes of one length) into sub-routes ranked on their own. Fields other than the paths
 * are shared by the sub-routes of one route. */
struct rt_sub {
    const struct sl_route *route;
    uint64_t priority;
    const char *id; /* tie-break key: the route id, or the v5 UUID of a split sub-route */
    const struct sl_str *methods;
    size_t nmethods;
    const struct rt_host *hosts;
    size_t nhosts;
    const struct rt_host *snis; /* lowercased, trailing dot removed; port unused */
    size_t nsnis;
    const struct rt_header *headers;
    size_t nheaders;
    const struct rt_path *paths; /* one group, in the route's order */
    size_t npaths;
    bool regex;      /* the group is the regex group */
    bool https_only; /* protocols has https and not http */
    enum rt_where where;
    uint32_t seq; /* build order: the last tie-break, so equal (priority, id) pairs sort stably */
};

/* A hash bucket: every sub-route indexed under one key, by rank (ascending = best first). */
struct rt_bucket {
    uint64_t hash; /* 0: empty slot */
    const char *key;
    uint32_t keylen;
    uint32_t n;   /* entries in <list> */
    uint32_t cap; /* build-time counters */
    uint32_t potential;
    uint32_t *list;
};

struct rt_table {
    struct rt_bucket *slots;
    size_t mask; /* capacity - 1 (capacity is a power of two), or 0 with slots == NULL */
};

struct sl_router {
    struct rt_sub *subs; /* rank order: priority descending, then id descending */
    size_t nsubs;
    struct rt_table hosts[RT_HOST_KIND_MAX]; /* by host kind: the exact name, the ".suffix" of a
                                                 leading wildcard, the "prefix." of a trailing one
                                                 -> sub-routes whose every host has such a key */
    size_t host_max_key[RT_HOST_KIND_MAX];   /* longest key per host table (bounds the probes) */
    struct rt_table paths; /* path prefix -> sub-routes whose every path requires that prefix */
    const uint8_t *key_len_present; /* [0..max_key_len]: some path bucket has a key this long */
    size_t max_key_len;
    const uint32_t *generic; /* everything else, by rank */
    size_t ngeneric;
    pcre2_match_context *mctx; /* match limits; read-only once built */
    bool regex_paths;          /* some sub-route has a regex path (sl_router_has_regex_paths) */
    bool any_paths; /* some sub-route has paths: Kong's router then reads http.path, which must be
                       valid UTF-8 in its decoded form (sl_router_match) */
    /* The header names some sub-route matches on, lowercased, sorted and unique: Kong's router
     * reads those request headers, whose values must then be valid UTF-8 too. */
    const struct sl_str *header_names;
    size_t nheader_names;
};

/* FNV-1a, 64 bits: incremental, so every prefix of a request path is hashed in one pass. */
#define RT_FNV_OFFSET 0xcbf29ce484222325ull
#define RT_FNV_PRIME 0x100000001b3ull

static inline uint64_t
rt_hash_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * RT_FNV_PRIME;
}

/* Hash values are never 0 (0 marks an empty slot). */
static inline uint64_t
rt_hash_final(uint64_t h)
{
    return h ? h : 1;
}

/* Looks <key,len> up under <hash> (from rt_hash_final), bytes compared exactly (path keys). */
const struct rt_bucket *sl_router_table_find(const struct rt_table *t, uint64_t hash,
                                             const char *key, size_t len);

/* Evaluates every matcher of <sub> against <req>. On success stores the index of the path that
 * matched (or SIZE_MAX when the sub-route has no paths) and the bytes of the request path it
 * consumed. Uses the calling thread's match data; never allocates once that exists. */
bool sl_router_sub_matches(const struct sl_router *r, const struct rt_sub *sub,
                           const struct sl_router_request *req, struct sl_str host,
                           struct sl_str sni, size_t *path_idx, size_t *strip_len);

/* The reference semantics: scans every sub-route in rank order, no index. For tests and the
 * fuzzer, which check that sl_router_match always agrees with it. */
bool sl_router_match_linear(const struct sl_router *r, const struct sl_router_request *req,
                            struct sl_router_match *m);

/* Kong's id for path group <group> (1-based, in order of first appearance) of a split route:
 * uuid_v5(RT_SPLIT_NAMESPACE, "<route_id>#<group>"), lowercase. */
void sl_router_split_id(const char *route_id, unsigned group, char out[SL_UUID_LEN + 1]);

/* Length of the literal text every match of the anchored regex <re,len> must start with (0 when
 * unknown). Conservative: a shorter answer than the true one is always safe. */
size_t sl_router_regex_literal_prefix(const char *re, size_t len);

#endif
