/* SPDX-License-Identifier: Apache-2.0 */
/* Path normaliser: the hardening.md §6 bypass matrix, Kong's normalize() cases, invalid inputs, and
 * a randomised comparison with a literal transcription of RFC 3986 §5.2.4 (plus the invariants:
 * within SL_HTTP_PATH_NORM_MAX, idempotent, never above the root), and Kong's escape(). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/path.h"

struct path_case {
    const char *in;
    const char *out; /* NULL: invalid (the caller answers 400) */
};

static const struct path_case cases[] = {
    /* hardening.md §6 matrix with a protected /admin */
    {"/ADMIN", "/ADMIN"},
    {"/admin/", "/admin/"},
    {"//admin", "/admin"}, /* Kong merges slashes: normalize(uri, true) */
    {"/admin//x", "/admin/x"},
    {"/public//..//admin", "/admin"},
    {"/./admin", "/admin"},
    {"/public/../admin", "/admin"},
    {"/public/%2e%2e/admin", "/admin"},
    {"/public/%2E%2E/admin", "/admin"},
    {"/public/.%2e/admin", "/admin"},
    {"/%2e%2e/admin", "/admin"},
    {"/%61dmin", "/admin"},
    {"/public/%252e%252e/admin", "/public/%252e%252e/admin"},
    {"/admin%2f..%2fx", "/admin%2F..%2Fx"},
    {"/admin;jsessionid=x", "/admin;jsessionid=x"},
    {"/public/..;/admin", "/public/..;/admin"},
    {"/admin%3b", "/admin%3B"},
    {"/admin\\x", NULL},
    {"/admin%5c", "/admin%5C"},
    {"/admin%00", NULL},
    {"/admin%20", "/admin%20"},
    {"/admin#x", NULL},
    {"/%c0%ae%c0%ae/admin", "/%C0%AE%C0%AE/admin"},

    /* dot segments (RFC 3986 §5.2.4 examples and the root) */
    {"/", "/"},
    {"/a/b/c/./../../g", "/a/g"},
    {"/mid/content=5/../6", "/mid/6"},
    {"/..", "/"},
    {"/.", "/"},
    {"/../a", "/a"},
    {"/../../../a", "/a"},
    {"/a/..", "/"},
    {"/a/.", "/a/"},
    {"/a/b/..", "/a/"},
    {"/a/b/../../../c", "/c"},
    {"/a/./b/./c/.", "/a/b/c/"},
    {"/a//../b", "/b"}, /* "//" is merged first: Kong, not plain RFC 3986 */
    {"/a/b/../", "/a/"},
    {"/...", "/..."},
    {"/.a", "/.a"},
    {"/a..b", "/a..b"},
    {"/a/..b/c", "/a/..b/c"},
    {"/%2e", "/"},
    {"/%2e%2E/", "/"},
    {"/a/%2e%2e", "/"},
    {"/a/%2e%2e/", "/"},

    /* runs of slashes are one separator; %2F is not a slash */
    {"///", "/"},
    {"/a//", "/a/"},
    {"/a///b////c", "/a/b/c"},
    {"/a/.//b", "/a/b"},
    {"/a/..//", "/"},
    {"//..//a", "/a"},
    {"/%2F/a", "/%2F/a"},
    {"//%2f//", "/%2F/"},
    {"/a%2F%2Fb", "/a%2F%2Fb"},

    /* escapes: unreserved decoded, everything else kept with upper-case hex */
    {"/%7e%7E", "/~~"},
    {"/%41%5a%30%2d%5f%2E", "/AZ0-_."},
    {"/%2f", "/%2F"},
    {"/a%2fb", "/a%2Fb"},
    {"/%25", "/%25"},
    {"/%e2%82%ac", "/%E2%82%AC"},
    {"/%0d%0a", "/%0D%0A"},
    {"/%7f", "/%7F"},
    {"/a%3Fb", "/a%3Fb"},

    /* raw bytes: what Kong's escape() encodes leaves encoded, so "{" and "%7b" are one path */
    {"/a{b}|c^`[d]\"<>", "/a%7Bb%7D%7Cc%5E%60[d]%22%3C%3E"},
    {"/a%7bb%7D", "/a%7Bb%7D"},
    {"/%5b%5D", "/%5B%5D"}, /* reserved: raw and escaped stay distinct, as in Kong */
    {"/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="},
    {"/a b", NULL},
    {"/a\x01", NULL},
    {"/a\x7f", NULL},
    {"/caf\xc3\xa9", "/caf%C3%A9"}, /* raw UTF-8 (nginx and Kong take it) leaves escaped */
    {"/\xc0\xae\xc0\xae/admin", "/%C0%AE%C0%AE/admin"}, /* overlong: never a dot segment */
    {"/a?b", NULL},

    /* malformed */
    {"", NULL},
    {"a", NULL},
    {"*", NULL},
    {"../a", NULL},
    {"/a%", NULL},
    {"/a%2", NULL},
    {"/a%zz", NULL},
    {"/a%g0", NULL},
    {"/a%0g", NULL},
    {"/%%41", NULL},
};

static long
normalize(const char *in, size_t len, char **out)
{
    char *src = malloc(len ? len : 1);
    *out = malloc(SL_HTTP_PATH_NORM_MAX(len ? len : 1));
    cr_assert(src && *out);
    memcpy(src, in, len);
    long n = sl_http_path_normalize(src, len, *out);
    free(src);
    return n;
}

Test(path, table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct path_case *c = &cases[i];
        char *out;
        long n = normalize(c->in, strlen(c->in), &out);
        if (!c->out) {
            cr_expect_eq(n, -1, "'%s' should be invalid, got %ld", c->in, n);
        } else {
            cr_expect_eq(n, (long)strlen(c->out), "'%s': length %ld", c->in, n);
            if (n == (long)strlen(c->out)) {
                cr_expect(memcmp(out, c->out, (size_t)n) == 0, "'%s' -> '%.*s', want '%s'", c->in,
                          (int)n, out, c->out);
            }
        }
        free(out);
    }
}

Test(path, nul_byte_inside_is_invalid)
{
    char out[8];
    cr_assert_eq(sl_http_path_normalize("/a\0b", 4, out), -1);
}

/* ---- reference: decode, merge slashes, then RFC 3986 §5.2.4 transcribed literally
 * -------------------------- */

static bool
unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int
hexv(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Returns the decoded string (malloc) or NULL when invalid. */
static char *
ref_decode(const char *in, size_t len)
{
    if (len == 0 || in[0] != '/') {
        return NULL;
    }
    char *o = malloc(3 * len + 1);
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= len || hexv(in[i + 1]) < 0 || hexv(in[i + 2]) < 0) {
                free(o);
                return NULL;
            }
            int v = hexv(in[i + 1]) * 16 + hexv(in[i + 2]);
            if (v == 0) {
                free(o);
                return NULL;
            }
            if (unreserved(v)) {
                o[w++] = (char)v;
            } else {
                w += (size_t)sprintf(o + w, "%%%02X", v);
            }
            i += 2;
        } else if (c > 0x20 && c < 0x7f && strchr("\"<>^`{|}", c)) {
            w += (size_t)sprintf(o + w, "%%%02X", c);
        } else if (c > 0x20 && c < 0x7f && !strchr("?#\\", c)) {
            o[w++] = (char)c;
        } else {
            free(o);
            return NULL;
        }
    }
    o[w] = '\0';
    return o;
}

static bool
starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Kong's normalize(uri, true) merges runs of '/' as it goes; as %2F is never decoded, merging the
 * decoded string first and then removing dot segments gives the same result. */
static char *
ref_remove_dots(const char *input_)
{
    char *input = strdup(input_);
    size_t m = 0;
    for (size_t k = 0; input[k]; k++) {
        if (!(input[k] == '/' && m > 0 && input[m - 1] == '/')) {
            input[m++] = input[k];
        }
    }
    input[m] = '\0';
    char *out = calloc(1, strlen(input_) + 2);
    while (*input) {
        if (starts(input, "../")) {
            memmove(input, input + 3, strlen(input + 3) + 1);
        } else if (starts(input, "./")) {
            memmove(input, input + 2, strlen(input + 2) + 1);
        } else if (starts(input, "/./")) {
            memmove(input, input + 2, strlen(input + 2) + 1);
        } else if (strcmp(input, "/.") == 0) {
            strcpy(input, "/");
        } else if (starts(input, "/../") || strcmp(input, "/..") == 0) {
            if (starts(input, "/../")) {
                memmove(input, input + 3, strlen(input + 3) + 1);
            } else {
                strcpy(input, "/");
            }
            char *slash = strrchr(out, '/');
            if (slash) {
                *slash = '\0';
            } else {
                out[0] = '\0';
            }
        } else if (strcmp(input, ".") == 0 || strcmp(input, "..") == 0) {
            input[0] = '\0';
        } else {
            size_t n = input[0] == '/' ? 1 : 0;
            n += strcspn(input + n, "/");
            strncat(out, input, n);
            memmove(input, input + n, strlen(input + n) + 1);
        }
    }
    free(input);
    return out;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static unsigned
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

Test(path, matches_rfc3986_reference_on_random_paths)
{
    static const char *pieces[] = {"/",   "/",   "/",   ".",   ".",   "..",  "a", "b",
                                   "%2e", "%2E", "%2f", "%41", "%25", "%7e", "~", "%00",
                                   "%z",  "\\",  ";",   "%5C", "{",   "%7b"};
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    for (int iter = 0; iter < 20000; iter++) {
        char in[128] = "/";
        size_t n = 1 + next_rand() % 12;
        for (size_t k = 0; k < n; k++) {
            strcat(in, pieces[next_rand() % npieces]);
        }
        size_t len = strlen(in);
        char *out;
        long got = normalize(in, len, &out);
        char *dec = ref_decode(in, len);
        if (!dec) {
            cr_assert_eq(got, -1, "'%s' should be invalid", in);
            free(out);
            continue;
        }
        char *want = ref_remove_dots(dec);
        cr_assert_eq(got, (long)strlen(want), "'%s' -> '%.*s', want '%s'", in,
                     (int)(got < 0 ? 0 : got), out, want);
        cr_assert(memcmp(out, want, (size_t)got) == 0, "'%s' -> '%.*s', want '%s'", in, (int)got,
                  out, want);
        cr_assert_leq((size_t)got, SL_HTTP_PATH_NORM_MAX(len));
        cr_assert_eq(out[0], '/');

        /* idempotent */
        char *again;
        long got2 = normalize(out, (size_t)got, &again);
        cr_assert_eq(got2, got, "'%s' not idempotent", in);
        cr_assert(memcmp(again, out, (size_t)got) == 0);
        free(again);

        /* never a dot segment or an empty segment left */
        char *z = strndup(out, (size_t)got);
        cr_assert_null(strstr(z, "/../"), "%s", z);
        cr_assert_null(strstr(z, "/./"), "%s", z);
        cr_assert(!(got >= 3 && strcmp(z + got - 3, "/..") == 0), "%s", z);
        cr_assert(!(got >= 2 && strcmp(z + got - 2, "/.") == 0), "%s", z);
        cr_assert_null(strstr(z, "//"), "%s", z);
        free(z);
        free(want);
        free(dec);
        free(out);
    }
}

/* Kong's escape() (kong/tools/uri.lua ESCAPE_PATTERN): reserved, unreserved and '%' stay, every
 * other byte becomes an upper-case escape. Route prefix paths go through it at build time. */
Test(path, escape_like_kong)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"/caf\xc3\xa9", "/caf%C3%A9"},
        {"/a b", "/a%20b"},
        {"/a{b}|c^`\"<>\\", "/a%7Bb%7D%7Cc%5E%60%22%3C%3E%5C"},
        {"/!#$&'()*+,/:;=?@[]%", "/!#$&'()*+,/:;=?@[]%"},
        {"/AZaz09-._~", "/AZaz09-._~"},
        {"/\x01\x7f\xff", "/%01%7F%FF"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char out[64];
        size_t n = sl_http_path_escape(t[i].in, strlen(t[i].in), out);
        cr_expect_eq(n, strlen(t[i].out), "'%s': %zu", t[i].in, n);
        cr_expect(n == strlen(t[i].out) && memcmp(out, t[i].out, n) == 0, "'%s' -> '%.*s'", t[i].in,
                  (int)n, out);
    }
}

/* A normalised request path is its own escape: what Sluice forwards is what Kong's
 * escape(normalize()) forwards, and an escaped route prefix compares with it byte for byte. */
Test(path, normalised_paths_are_fixed_points_of_escape)
{
    static const char *in[] = {"/a{b",   "/a%7bb", "/caf%c3%a9", "/caf\xc3\xa9",
                               "/x%20y", "/%5b]",  "/a|b/../c^"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        char *out;
        long n = normalize(in[i], strlen(in[i]), &out);
        cr_assert_gt(n, 0, "%s", in[i]);
        char esc[64];
        size_t e = sl_http_path_escape(out, (size_t)n, esc);
        cr_expect(e == (size_t)n && memcmp(esc, out, e) == 0, "'%s' -> '%.*s' -> '%.*s'", in[i],
                  (int)n, out, (int)e, esc);
        free(out);
    }
}

/* Kong's normalize() form, which regex paths see: escapes of bytes that are not reserved are
 * decoded, reserved ones stay; offsets in it map back to the normalised path. */
Test(path, kong_decode_and_offsets)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"/caf%C3%A9/x", "/caf\xc3\xa9/x"},
        {"/a%7Bb%7D%20c%22", "/a{b} c\""},
        {"/a%2Fb%3Fc%25d%5B%5D", "/a%2Fb%3Fc%25d%5B%5D"}, /* reserved: %2F / ? % [ ] */
        {"/plain", "/plain"},
        {"/%", "/%"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char out[64];
        size_t n = sl_http_path_kong_decode(t[i].in, strlen(t[i].in), out);
        cr_expect(n == strlen(t[i].out) && memcmp(out, t[i].out, n) == 0, "'%s' -> '%.*s'", t[i].in,
                  (int)n, out);
    }
    const char *esc = "/caf%C3%A9/%2F/m";
    size_t len = strlen(esc);
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 0), 0);
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 4), 4);   /* "/caf" */
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 5), 7);   /* + 0xC3 */
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 6), 10);  /* + 0xA9 */
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 8), 12);  /* "/%" of the kept %2F */
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 14), 16); /* the whole path */
    cr_assert_eq(sl_http_path_escaped_offset(esc, len, 99), 16); /* never past the end */
}
