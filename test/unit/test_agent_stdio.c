/* agent/stdio.c: the stream handshake line ("STREAM <cid> <eid|-> <kind>"). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../agent/stdio.h"
#include "check_main.h"

START_TEST(valid_lines)
{
    char cid[AGENT_ID_MAX + 1], eid[AGENT_ID_MAX + 1];
    enum stdio_kind k;
    const char *why = NULL;
    ck_assert_int_eq(stdio_parse_handshake("STREAM c1 - stdout", cid, eid, &k, &why), 0);
    ck_assert_str_eq(cid, "c1");
    ck_assert_str_eq(eid, "");
    ck_assert_int_eq(k, STDIO_OUT);
    ck_assert_int_eq(stdio_parse_handshake("STREAM abc_D.e-f exec-1 stdin", cid, eid, &k, &why), 0);
    ck_assert_str_eq(eid, "exec-1");
    ck_assert_int_eq(k, STDIO_IN);
    ck_assert_int_eq(stdio_parse_handshake("STREAM c e stderr", cid, eid, &k, &why), 0);
    ck_assert_int_eq(k, STDIO_ERR);
    char id64[96] = "STREAM ";
    memset(id64 + 7, 'a', 64);
    strcpy(id64 + 71, " - stdout");
    ck_assert_int_eq(stdio_parse_handshake(id64, cid, eid, &k, &why), 0);
    ck_assert_uint_eq(strlen(cid), 64);
}
END_TEST

static const char *const bad_lines[] = {
    "",
    "STREAM",
    "STREAM c1",
    "STREAM c1 -",
    "STREAM c1 - stdouts",
    "STREAM c1 - STDOUT",
    "STREAM c1 - stdout extra",
    "STREAM  c1 - stdout",
    "STREAM c1  - stdout",
    "STREAM c1 - stdout ",
    "STREAM\tc1 - stdout",
    "stream c1 - stdout",
    "STREAM ../x - stdout",
    "STREAM .hidden - stdout",
    "STREAM c/1 - stdout",
    "STREAM c1 e/1 stdin",
    "STREAM c1 -- stdin",
    "CONNECT 1025",
    "STREAM aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - stdout", /* 65 */
};

START_TEST(invalid_lines)
{
    char cid[AGENT_ID_MAX + 1], eid[AGENT_ID_MAX + 1];
    enum stdio_kind k;
    const char *why = NULL;
    ck_assert_msg(stdio_parse_handshake(bad_lines[_i], cid, eid, &k, &why) == -EINVAL, "accepted \"%s\"", bad_lines[_i]);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(ids)
{
    ck_assert(agent_id_valid("a", false));
    ck_assert(!agent_id_valid("", false));
    ck_assert(agent_id_valid("", true));
    ck_assert(!agent_id_valid("-a", false));
    ck_assert(!agent_id_valid("a b", false));
    ck_assert(!agent_id_valid("a\n", false));
    ck_assert(!agent_id_valid("é", false));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_stdio");
    TCase *tc = tcase_create("handshake");
    tcase_add_test(tc, valid_lines);
    tcase_add_loop_test(tc, invalid_lines, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
    tcase_add_test(tc, ids);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)
