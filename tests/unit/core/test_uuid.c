/* SPDX-License-Identifier: Apache-2.0 */
/* UUIDs (src/core/uuid.h): Kong's syntax check, parse/format round trips, random v4 shape, and v5
 * against a known vector (the id Kong's declarative loader gives a service named "echo"). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/uuid.h"

Test(uuid, syntax_is_kongs)
{
    cr_assert(sl_uuid_valid("0855b320-0dd2-547d-891d-601e9b38647f"));
    cr_assert(sl_uuid_valid("0855B320-0DD2-547D-891D-601E9B38647F"), "either case");
    cr_assert(sl_uuid_valid("00000000-0000-0000-0000-000000000000"), "no version check");
    cr_assert_not(sl_uuid_valid(NULL));
    cr_assert_not(sl_uuid_valid(""));
    cr_assert_not(sl_uuid_valid("0855b320-0dd2-547d-891d-601e9b38647"));
    cr_assert_not(sl_uuid_valid("0855b320-0dd2-547d-891d-601e9b38647ff"));
    cr_assert_not(sl_uuid_valid("0855b320x0dd2-547d-891d-601e9b38647f"));
    cr_assert_not(sl_uuid_valid("g855b320-0dd2-547d-891d-601e9b38647f"));
}

Test(uuid, parse_format_round_trip)
{
    uint8_t b[16];
    char out[SL_UUID_STR_LEN + 1];
    cr_assert_eq(sl_uuid_parse("0855B320-0DD2-547D-891D-601E9B38647F", 36, b), 0);
    sl_uuid_format(b, out);
    cr_assert_str_eq(out, "0855b320-0dd2-547d-891d-601e9b38647f");
    cr_assert_eq(sl_uuid_parse("0855b320-0dd2-547d-891d-601e9b38647f", 35, b), -1);
    cr_assert_eq(sl_uuid_parse("not-a-uuid", 10, b), -1);
}

Test(uuid, v4_shape_and_randomness)
{
    char a[SL_UUID_STR_LEN + 1], b[SL_UUID_STR_LEN + 1];
    cr_assert_eq(sl_uuid_v4(a), 0);
    cr_assert_eq(sl_uuid_v4(b), 0);
    cr_assert(sl_uuid_valid(a));
    cr_assert_eq(a[14], '4', "version 4");
    cr_assert(strchr("89ab", a[19]) != NULL, "RFC 4122 variant");
    cr_assert_str_neq(a, b);
}

Test(uuid, v5_known_vector)
{
    uint8_t ns[16], table[16], id[16];
    char out[SL_UUID_STR_LEN + 1];
    cr_assert_eq(sl_uuid_parse("fd02801f-0957-4a15-a55a-c8d9606f30b5", 36, ns), 0);
    cr_assert_eq(sl_uuid_v5(ns, "services", 8, table), 0);
    cr_assert_eq(sl_uuid_v5(table, "echo", 4, id), 0);
    sl_uuid_format(id, out);
    cr_assert_str_eq(out, "adbd70b3-4224-5183-a52a-179d7b34ab5b");
}
