/* SPDX-License-Identifier: Apache-2.0 */
/* sl_file_read_all (src/core/file_read.h) on real files: the bound at N and N+1, an empty file, a
 * file whose size says nothing (/proc), and each failure's errno. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_read.h"

static char dir[64];
static char path[128];

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sl-file-read-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
}

static void
teardown(void)
{
    unlink(path);
    rmdir(dir);
}

TestSuite(file_read, .init = setup, .fini = teardown);

/* Writes <n> bytes of a pattern to <path>. */
static void
write_file(size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++) {
        fputc('a' + (int)(i % 26), f);
    }
    cr_assert_eq(fclose(f), 0);
}

static void
assert_pattern(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(buf[i], 'a' + (int)(i % 26), "byte %zu", i);
    }
    cr_assert_eq(buf[n], '\0');
}

Test(file_read, reads_a_file_at_the_limit_and_refuses_one_byte_more)
{
    /* sizes around the first buffer (16 KiB) and its doublings, where the loop changes step */
    const size_t sizes[] = {1, 100, 16383, 16384, 16385, 32768, 100000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        write_file(n);
        size_t len = 0;
        char *buf = sl_file_read_all(path, n, &len);
        cr_assert_not_null(buf, "size %zu at limit %zu: %s", n, n, strerror(errno));
        cr_assert_eq(len, n);
        assert_pattern(buf, n);
        free(buf);

        errno = 0;
        len = 12345;
        cr_assert_null(sl_file_read_all(path, n - 1, &len), "size %zu at limit %zu", n, n - 1);
        cr_assert_eq(errno, EFBIG);
        cr_assert_eq(len, 12345, "*len untouched on failure");

        buf = sl_file_read_all(path, 10 * 1024 * 1024, &len);
        cr_assert_not_null(buf);
        cr_assert_eq(len, n);
        assert_pattern(buf, n);
        free(buf);
    }
}

Test(file_read, an_empty_file_is_an_empty_string)
{
    write_file(0);
    size_t len = 99;
    char *buf = sl_file_read_all(path, 0, &len);
    cr_assert_not_null(buf);
    cr_assert_eq(len, 0);
    cr_assert_eq(buf[0], '\0');
    free(buf);
    write_file(1);
    cr_assert_null(sl_file_read_all(path, 0, &len));
    cr_assert_eq(errno, EFBIG);
}

Test(file_read, a_proc_file_is_read_to_its_end_whatever_its_size_says)
{
    /* /proc/self/status reports size 0 and holds about 1.5 KB */
    size_t len = 0;
    char *buf = sl_file_read_all("/proc/self/status", 1 << 20, &len);
    cr_assert_not_null(buf);
    cr_assert_gt(len, 100);
    cr_assert_eq(strlen(buf), len);
    cr_assert_not_null(strstr(buf, "Name:"));
    cr_assert_not_null(strstr(buf, "VmRSS:"), "the end of the file was read too");
    free(buf);
}

Test(file_read, failures_set_errno)
{
    size_t len;
    errno = 0;
    cr_assert_null(sl_file_read_all("/nonexistent/sl-file-read", 100, &len));
    cr_assert_eq(errno, ENOENT);
    errno = 0;
    cr_assert_null(sl_file_read_all(dir, 100, &len), "a directory opens but cannot be read");
    cr_assert_eq(errno, EISDIR);
}
