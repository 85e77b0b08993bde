/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/access_line.c: the escaping that keeps a request from forging access-log
 * lines, and nginx's combined format shared by the proxy's and the Admin API's access logs. */
#include <criterion/criterion.h>
#include <regex.h>
#include <string.h>

#include "core/access_line.h"

Test(access_line, combined_escapes_quotes_and_bytes_outside_printable_ascii)
{
    char out[64];
    sl_access_escape(out, sizeof(out), "a\"b\\c\r\n\x01\x7f\xc3\xa9", false);
    cr_assert_str_eq(out, "a\\x22b\\x5Cc\\x0D\\x0A\\x01\\x7F\\xC3\\xA9");
    sl_access_escape(out, sizeof(out), NULL, false);
    cr_assert_str_eq(out, "-");
}

Test(access_line, json_keeps_valid_utf8_and_escapes_the_rest)
{
    char out[64];
    sl_access_escape(out, sizeof(out), "caf\xc3\xa9 \"\xff\"", true);
    cr_assert_str_eq(out, "caf\xc3\xa9 \\u0022\\u00ff\\u0022");
    sl_access_escape(out, sizeof(out), NULL, true);
    cr_assert_str_eq(out, "");
}

Test(access_line, escape_never_overflows)
{
    char out[16];
    memset(out, 'x', sizeof(out));
    size_t n = sl_access_escape(out, sizeof(out), "\"\"\"\"\"\"\"\"\"\"", false);
    cr_assert_lt(n, sizeof(out));
    cr_assert_eq(out[n], '\0');
    cr_assert_eq(n % 4, 0, "whole escapes only: %zu", n);
}

Test(access_line, combined_line)
{
    struct sl_access_line f = {
        .client_ip = "10.0.0.1",
        .method = "GET",
        .target = "/a?b=\"c\"",
        .minor = 1,
        .status = 200,
        .body_bytes = 42,
        .user_agent = "curl/8",
    };
    char line[512];
    size_t n = sl_access_format_combined(line, sizeof(line), &f, "req-1");
    cr_assert_eq(n, strlen(line));
    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^10\\.0\\.0\\.1 - - \\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} "
                         "[+-][0-9]{4}\\] \"GET /a\\?b=\\\\x22c\\\\x22 HTTP/1\\.1\" 200 42 \"-\" "
                         "\"curl/8\" req-1\n$",
                         REG_EXTENDED),
                 0);
    cr_assert_eq(regexec(&re, line, 0, NULL, 0), 0, "%s", line);
    regfree(&re);

    struct sl_access_line unread = {.client_ip = "::1", .minor = 1, .status = 400};
    sl_access_format_combined(line, sizeof(line), &unread, NULL);
    cr_assert(strstr(line, "] \"- - HTTP/1.1\" 400 0 \"-\" \"-\"\n") != NULL, "%s", line);
}

Test(access_line, a_long_line_is_cut_and_keeps_its_newline)
{
    char target[3000];
    memset(target, 'a', sizeof(target) - 1);
    target[sizeof(target) - 1] = '\0';
    struct sl_access_line f = {.client_ip = "1.2.3.4", .method = "GET", .target = target};
    char line[256];
    size_t n = sl_access_format_combined(line, sizeof(line), &f, NULL);
    cr_assert_eq(n, sizeof(line) - 1);
    cr_assert_eq(line[n - 1], '\n');
    cr_assert_eq(strchr(line, '\n'), line + n - 1, "one line");
}
