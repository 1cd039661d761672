/* hypervisor/jit_stats.c: QEMU 7.2's x-query-jit text -> cache use, capacity, flush count. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "cleanup.h"
#include "jit_stats.h"

/* What QEMU 7.2.22 answered here for a VM after boot (its "human-readable-text"). */
static const char qemu72[] =
    "Translation buffer state:\n"
    "gen code size       15740659/16772096\n"
    "TB count            28460\n"
    "TB avg target size  17 max=1552 bytes\n"
    "TB avg host size    311 bytes (expansion ratio: 17.7)\n"
    "cross page TB count 82 (0%)\n"
    "direct jump count   0 (0%) (2 jumps=0 0%)\n"
    "TB hash buckets     0/8192 (0.00% head buckets used)\n"
    "\n"
    "Statistics:\n"
    "TB flush count      2\n"
    "TB invalidate count 1257\n"
    "TLB full flushes    0\n"
    "[TCG profiler not compiled]\n";

static int parse(const char *s, struct jit_stats *st)
{
    return jit_stats_parse(s, strlen(s), st);
}

START_TEST(test_qemu_text)
{
    struct jit_stats st;
    ck_assert_int_eq(parse(qemu72, &st), 0);
    ck_assert_uint_eq(st.code_used, 15740659);
    ck_assert_uint_eq(st.code_capacity, 16772096);
    ck_assert_uint_eq(st.flushes, 2);
    /* no trailing newline; the lines in another order */
    ck_assert_int_eq(parse("TB flush count 7\ngen code size 0/100", &st), 0);
    ck_assert_uint_eq(st.flushes, 7);
    ck_assert_uint_eq(st.code_used, 0);
    ck_assert_uint_eq(st.code_capacity, 100);
    /* the first of each line counts */
    ck_assert_int_eq(parse("gen code size 1/2\nTB flush count 3\ngen code size 9/9\nTB flush count "
                           "x\n",
                           &st),
                     0);
    ck_assert_uint_eq(st.code_used, 1);
    ck_assert_uint_eq(st.flushes, 3);
    /* not NUL-terminated: only len bytes are read */
    ck_assert_int_eq(jit_stats_parse("gen code size 5/6\nTB flush count 12345", 34, &st), 0);
    ck_assert_uint_eq(st.flushes, 1);
}
END_TEST

START_TEST(test_refused)
{
    static const char *const bad[] = {
        "",
        "gen code size 1/2\n",                       /* no flush count */
        "TB flush count 1\n",                        /* no size */
        "gen code size 3/2\nTB flush count 1\n",     /* used > capacity */
        "gen code size 1/\nTB flush count 1\n",      /* no capacity */
        "gen code size /2\nTB flush count 1\n",      /* no used */
        "gen code size 1/2 x\nTB flush count 1\n",   /* trailing text */
        "gen code size 1/2\nTB flush count -1\n",    /* sign */
        "gen code size 1/2\nTB flush count\n",       /* no value */
        "gen code size 1/2\nTB flush count 1 2\n",   /* two values */
        "gen code size 1/1234567890123456\nTB flush count 1\n", /* 16 digits */
        "gen code size 1/2\nTB flush count 1234567890123456\n",
        "gen code sizes 1/2\nTB flush count 1\n",    /* another label */
        "gen code size\t1/2\nTB flush count 1\n",
    };
    struct jit_stats st = {42, 42, 42};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        ck_assert_msg(parse(bad[i], &st) == -EPROTO, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(st.code_used, 42); /* untouched */
    }
    /* 15 digits is the most */
    ck_assert_int_eq(parse("gen code size 1/123456789012345\nTB flush count 1\n", &st), 0);
    ck_assert_uint_eq(st.code_capacity, 123456789012345ull);
}
END_TEST

static Suite *jit_stats_suite(void)
{
    Suite *s = suite_create("jit_stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_qemu_text);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(jit_stats_suite)
