/* hypervisor/proc_stat.c: a process's CPU time (utime + stime) from its /proc/PID/stat text,
 * whatever its command name holds; and the figure of a real process. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "proc_stat.h"

static int parse(const char *s, uint64_t *t)
{
    return proc_stat_cpu_ticks(s, strlen(s), t);
}

START_TEST(test_qemu_line)
{
    /* a QEMU's stat here (utime 1224, stime 377) */
    static const char q[] =
        "14545 (qemu-system-x86) S 14530 14493 14493 0 -1 4194624 31012 0 4 0 1224 377 0 0 20 0 "
        "4 0 1029001 1547362304 23842 18446744073709551615 1 1 0 0 0 0 0 4096 17635 0 0 0 17 1 "
        "0 0 0 0 0\n";
    uint64_t t = 0;
    ck_assert_int_eq(parse(q, &t), 0);
    ck_assert_uint_eq(t, 1224 + 377);
}
END_TEST

START_TEST(test_hostile_comm)
{
    uint64_t t = 0;
    /* blanks and parentheses in the name: only the last ')' ends it */
    ck_assert_int_eq(parse("7 (a) 1 2 3 4 5 6 7 8 9 10 11 12 (x) R 1 1 1 0 -1 0 0 0 0 0 5 6 0", &t), 0);
    ck_assert_uint_eq(t, 11);
    /* a name that looks like the fields, then the real ones */
    ck_assert_int_eq(parse("7 () 0 0 0 0 0 0 0 0 0 0 999 999) S 1 1 1 0 -1 0 0 0 0 0 2 3", &t), 0);
    ck_assert_uint_eq(t, 5);
}
END_TEST

START_TEST(test_refused)
{
    static const char *const bad[] = {
        "",
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 5",             /* no stime */
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0",               /* no utime */
        "7 x S 1 1 1 0 -1 0 0 0 0 0 5 6 0",           /* no ')' */
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 6 0",        /* a sign */
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 5x 6 0",        /* junk in a number */
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 5 6x 0",
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 5  6 0",        /* two blanks */
        "7 (x)  S 1 1 1 0 -1 0 0 0 0 0 5 6 0",
        "7 (x)S 1 1 1 0 -1 0 0 0 0 0 5 6 0",
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 18446744073709551616 0 0", /* overflows */
        "7 (x) S 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 1 0", /* the sum overflows */
    };
    uint64_t t = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse(bad[i], &t) == -EINVAL, "accepted: %s", bad[i]);
        ck_assert_uint_eq(t, 42);
    }
    /* the end of the text ends the last field; a cut inside utime is another number, a cut
     * before stime is refused */
    static const char s[] = "7 (x) S 1 1 1 0 -1 0 0 0 0 0 15 26 0";
    ck_assert_int_eq(proc_stat_cpu_ticks(s, strlen(s) - 2, &t), 0);
    ck_assert_uint_eq(t, 41);
    ck_assert_int_eq(proc_stat_cpu_ticks(s, strlen(s) - 3, &t), 0);
    ck_assert_uint_eq(t, 17);
    ck_assert_int_eq(proc_stat_cpu_ticks(s, strlen(s) - 4, &t), -EINVAL);
}
END_TEST

/* this process's own stat, before and after burning CPU: the figure moves */
START_TEST(test_own_process)
{
    char buf[1024];
    uint64_t a, b;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(proc_stat_cpu_ticks(buf, (size_t)n, &a), 0);
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 400000000ul; i++)
        x += i;
    n = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    ck_assert_int_eq(proc_stat_cpu_ticks(buf, (size_t)n, &b), 0);
    ck_assert_msg(b > a, "%lu -> %lu", (unsigned long)a, (unsigned long)b);
}
END_TEST

static Suite *proc_stat_suite(void)
{
    Suite *s = suite_create("proc_stat");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_qemu_line);
    tcase_add_test(tc, test_hostile_comm);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_own_process);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(proc_stat_suite)
