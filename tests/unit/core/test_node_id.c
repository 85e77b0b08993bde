/* SPDX-License-Identifier: Apache-2.0 */
/* The node id (src/core/node_id.h) against a real prefix directory: the configured id wins and
 * leaves the file alone, a new id is written (0600, nothing left behind) and read back the next
 * time, and a file that is not a UUID is replaced. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/node_id.h"

static char dir[64];
static char idpath[128];

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sl-node-id-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(idpath, sizeof(idpath), "%s/" SL_NODE_ID_FILE, dir);
}

static void
teardown(void)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char p[400];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

static void
write_file(const char *text)
{
    FILE *f = fopen(idpath, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void
read_file(char *buf, size_t cap)
{
    FILE *f = fopen(idpath, "r");
    cr_assert_not_null(f, "%s missing", idpath);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static int
count_entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

TestSuite(node_id, .init = setup, .fini = teardown);

Test(node_id, generated_once_then_kept)
{
    char a[SL_UUID_STR_LEN + 1], b[SL_UUID_STR_LEN + 1], text[128];
    cr_assert_eq(sl_node_id_resolve(NULL, dir, a), 0);
    cr_assert(sl_uuid_valid(a));
    read_file(text, sizeof(text));
    cr_assert_str_eq(text, a, "the file holds the bare id");
    struct stat st;
    cr_assert_eq(stat(idpath, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(count_entries(), 1, "no temporary file left behind");

    cr_assert_eq(sl_node_id_resolve("", dir, b), 0);
    cr_assert_str_eq(a, b, "the next start reads the same id");
}

Test(node_id, configured_id_wins_and_leaves_the_file)
{
    write_file("0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b");
    char id[SL_UUID_STR_LEN + 1], text[128];
    cr_assert_eq(sl_node_id_resolve("8A1B7C2D-3E4F-4A5B-9C6D-7E8F9A0B1C2D", dir, id), 0);
    cr_assert_str_eq(id, "8A1B7C2D-3E4F-4A5B-9C6D-7E8F9A0B1C2D");
    read_file(text, sizeof(text));
    cr_assert_str_eq(text, "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b");
}

Test(node_id, trailing_newline_is_accepted)
{
    write_file("0B7E4A52-6C1D-4F3E-8A9B-1C2D3E4F5A6B\n");
    char id[SL_UUID_STR_LEN + 1];
    cr_assert_eq(sl_node_id_resolve(NULL, dir, id), 0);
    cr_assert_str_eq(id, "0B7E4A52-6C1D-4F3E-8A9B-1C2D3E4F5A6B");
}

Test(node_id, invalid_files_are_replaced)
{
    static const char *const bad[] = {
        "",
        "not a uuid",
        "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6",
        "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b7",
        "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b\nextra",
        " 0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b",
        "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b                                                 ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(bad[i]);
        char id[SL_UUID_STR_LEN + 1], text[256];
        cr_assert_eq(sl_node_id_resolve(NULL, dir, id), 0);
        cr_assert(sl_uuid_valid(id), "case %zu", i);
        read_file(text, sizeof(text));
        cr_assert_str_eq(text, id, "case %zu: the file was replaced", i);
    }
}

Test(node_id, a_nul_byte_makes_the_file_invalid)
{
    int fd = open(idpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b\0x", 38), 38);
    close(fd);
    char id[SL_UUID_STR_LEN + 1];
    cr_assert_eq(sl_node_id_resolve(NULL, dir, id), 0);
    cr_assert_str_neq(id, "0b7e4a52-6c1d-4f3e-8a9b-1c2d3e4f5a6b");
}

Test(node_id, unwritable_prefix_still_gives_an_id)
{
    char id[SL_UUID_STR_LEN + 1];
    cr_assert_eq(sl_node_id_resolve(NULL, "/nonexistent-sluice-prefix", id), 0);
    cr_assert(sl_uuid_valid(id));
}

Test(node_id, setup_is_what_sl_node_id_returns)
{
    cr_assert_eq(sl_node_id_setup(NULL, dir), 0);
    char text[128];
    read_file(text, sizeof(text));
    cr_assert_str_eq(sl_node_id(), text);
}
