/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/core/log_file.c: a log switched to another file (rotation, reload, off and on
 * again) keeps the descriptor number writers use, and the lines land in the file of the moment. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log_file.h"
#include "sluice/log.h"

static char dir[] = "/tmp/sl-log-file-XXXXXX";

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static const char *
path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void
put(struct sl_log_file *lf, const char *line)
{
    int fd = sl_log_file_fd(lf);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
}

static void
assert_file(const char *path, const char *want)
{
    char got[256] = {0};
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s missing", path);
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    cr_assert_str_eq(got, want, "%s", path);
}

Test(log_file, switches_keep_the_descriptor_number, .init = setup)
{
    static struct sl_log_file lf = SL_LOG_FILE_INIT(-1);
    const char *a = path_in("a.log"), *b = path_in("b.log");
    int fd = sl_log_file_open(a);
    cr_assert_geq(fd, 0);
    sl_log_file_set(&lf, fd, a);
    int number = sl_log_file_fd(&lf);
    put(&lf, "one\n");

    /* reload to another path: same number, new file */
    fd = sl_log_file_open(b);
    sl_log_file_set(&lf, fd, b);
    cr_assert_eq(sl_log_file_fd(&lf), number);
    put(&lf, "two\n");
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "the opened descriptor was handed over and closed");

    /* rotation: renamed file keeps receiving until the reopen */
    char rotated[300];
    snprintf(rotated, sizeof(rotated), "%s.1", b);
    cr_assert_eq(rename(b, rotated), 0);
    put(&lf, "three\n");
    cr_assert_eq(sl_log_file_reopen(&lf), 0);
    cr_assert_eq(sl_log_file_fd(&lf), number);
    put(&lf, "four\n");

    /* off, then on again: the number comes back */
    sl_log_file_set(&lf, sl_log_file_open("off"), "off");
    cr_assert_eq(sl_log_file_fd(&lf), -1);
    cr_assert_eq(sl_log_file_reopen(&lf), 0); /* reopening "off" stays off */
    cr_assert_eq(sl_log_file_fd(&lf), -1);
    sl_log_file_set(&lf, sl_log_file_open(a), a);
    cr_assert_eq(sl_log_file_fd(&lf), number);
    put(&lf, "five\n");

    assert_file(a, "one\nfive\n");
    assert_file(rotated, "two\nthree\n");
    assert_file(b, "four\n");
}

Test(log_file, open_kinds, .init = setup)
{
    cr_assert_eq(sl_log_file_open("off"), SL_LOG_FILE_OFF);
    cr_assert_eq(sl_log_file_open("/dev/null"), SL_LOG_FILE_OFF);
    cr_assert_eq(sl_log_file_open(""), SL_LOG_FILE_OFF);
    int fd = sl_log_file_open("stderr");
    cr_assert_gt(fd, STDERR_FILENO, "a duplicate, never stderr itself");
    close(fd);
    cr_assert_eq(sl_log_file_open(path_in("missing/dir.log")), -1);
}

Test(log_file, error_log_lines_hold_no_control_bytes, .init = setup)
{
    char path[64];
    snprintf(path, sizeof(path), "%s/err.log", dir);
    int fd = sl_log_file_open(path);
    cr_assert_geq(fd, 0);
    sl_log_use(fd, path);
    sl_log_write(SL_LOG_ERR, "a\nforged [emerg] line\r\x1b[31mred\x7f\tend");
    sl_log_use(STDERR_FILENO, "stderr");
    char buf[512] = {0};
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    cr_assert_gt(got, 0);
    cr_assert_eq(buf[got - 1], '\n');
    for (size_t i = 0; i + 1 < got; i++) {
        unsigned char c = (unsigned char)buf[i];
        cr_assert(c >= 0x20 || c == '\t', "control byte 0x%02x at %zu", c, i);
        cr_assert_neq(c, 0x7f);
    }
    cr_assert_not_null(strstr(buf, "a forged [emerg] line  [31mred \tend"));
}
