/* The sandbox uid range (hypervisor/uid_range.h, pure) and its lease (uid_lease.c, as root in
 * a private lock dir): never one uid for two holders, released with its last holder (an
 * inherited copy included), never handed out while a process still runs as it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "hv_internal.h"
#include "uid_range.h"

static int parse(const char *s, struct uid_range *r)
{
    return uid_range_parse(s, strlen(s), r);
}

START_TEST(test_parse)
{
    struct uid_range r = {0, 0};
    ck_assert_int_eq(parse(UID_RANGE_DEFAULT, &r), 0);
    ck_assert_uint_eq(r.first, UID_RANGE_DEFAULT_FIRST);
    ck_assert_uint_eq(r.last, UID_RANGE_DEFAULT_LAST);
    ck_assert_uint_eq(uid_range_size(&r), 65536);
    ck_assert_int_eq(parse("1-4294967294", &r), 0);
    ck_assert_uint_eq(uid_range_size(&r), 4294967294ull);
    ck_assert_int_eq(parse("5-5", &r), 0);
    ck_assert_uint_eq(uid_range_size(&r), 1);
    static const char *const bad[] = {"", "-", "5", "5-", "-5", "0-5", "6-5", "1-4294967295",
                                      "1-4294967296", "1-99999999999", " 1-5", "1-5 ", "1 -5",
                                      "+1-5", "01-5", "1-05", "1--5", "1-5-6", "a-b", "1-5\n",
                                      "0x10-0x20", "4294967294-4294967294x"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        r = (struct uid_range){42, 43};
        ck_assert_msg(parse(bad[i], &r) == -EINVAL, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(r.first, 42); /* untouched */
    }
    ck_assert_int_eq(uid_range_parse("1-5\0", 4, &r), -EINVAL); /* NUL inside */
    ck_assert_int_eq(uid_range_parse("1-5", 2, &r), -EINVAL);    /* the length counts */
    ck_assert_int_eq(uid_range_parse("1-52", 3, &r), 0);
    ck_assert_uint_eq(r.last, 5);
}
END_TEST

/* Every uid of the range exactly once, from the seed's point on, wrapping. */
START_TEST(test_order)
{
    const struct uid_range r = {100, 106};
    const uint32_t seeds[] = {0, 1, 6, 7, 123456789, UINT32_MAX};
    for (size_t s = 0; s < ELEMENTSOF(seeds); s++) {
        bool seen[7] = {false};
        ck_assert_uint_eq(uid_range_nth(&r, seeds[s], 0), 100 + seeds[s] % 7);
        for (uint64_t i = 0; i < 7; i++) {
            uint32_t u = uid_range_nth(&r, seeds[s], i);
            ck_assert(u >= 100 && u <= 106);
            ck_assert_msg(!seen[u - 100], "uid %u twice", u);
            seen[u - 100] = true;
            if (i)
                ck_assert_uint_eq(u, uid_range_nth(&r, seeds[s], i - 1) == 106
                                         ? 100 : uid_range_nth(&r, seeds[s], i - 1) + 1);
        }
    }
    const struct uid_range all = {1, 4294967294u};
    ck_assert_uint_eq(uid_range_nth(&all, UINT32_MAX, 0), 2); /* 2^32-1 % (2^32-2) = 1 */
    ck_assert_uint_eq(uid_range_nth(&all, 0, 4294967293ull), 4294967294u);
    ck_assert_uint_ne(uid_range_seed("a"), uid_range_seed("b"));
    ck_assert_uint_eq(uid_range_seed("sandbox-1"), uid_range_seed("sandbox-1"));
}
END_TEST

START_TEST(test_status)
{
    static const char st[] = "Name:\tqemu\nUmask:\t0022\nState:\tS (sleeping)\n"
                             "Uid:\t1000000007\t1000000007\t1000000008\t1000000009\n"
                             "Gid:\t5\t5\t5\t5\n";
    ck_assert_int_eq(uid_range_status_has_uid(st, strlen(st), 1000000007), 1);
    ck_assert_int_eq(uid_range_status_has_uid(st, strlen(st), 1000000008), 1); /* saved */
    ck_assert_int_eq(uid_range_status_has_uid(st, strlen(st), 1000000009), 1); /* fs */
    ck_assert_int_eq(uid_range_status_has_uid(st, strlen(st), 5), 0);          /* a gid */
    ck_assert_int_eq(uid_range_status_has_uid("Uid:\t0\t0\t0\t0", 12, 0), 1);   /* no newline */
    static const char *const bad[] = {"", "Name:\tx\n", "Uid:\t1\t2\t3\n", "Uid:\t1\t2\t3\t4\t5\n",
                                      "Uid:\t1\tx\t3\t4\n", "Uid:\t99999999999\t1\t1\t1\n",
                                      "XUid:\t1\t1\t1\t1\n", "Uid:\t1-\t1\t1\t1\n"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        ck_assert_msg(uid_range_status_has_uid(bad[i], strlen(bad[i]), 1) == -EINVAL, "'%s'",
                      bad[i]);
    /* the length bounds the read: the Uid line beyond it does not count */
    ck_assert_int_eq(uid_range_status_has_uid(st, 10, 1000000007), -EINVAL);
}
END_TEST

/* The lease, in a lock dir of our own; uids from the top of the default block. */
#define U0 1000065530u
static char dir[64];

static void mkdir_lock(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-uids.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_lock(void)
{
    char p[96];
    for (uint32_t u = U0; u < U0 + 4; u++) {
        snprintf(p, sizeof(p), "%s/%u", dir, u);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

START_TEST(test_lease_exclusive)
{
    uint32_t u[3], again;
    int fd[3], fd4 = -1;
    ck_assert_msg(geteuid() == 0, "the lease tests need root (the lock dir must be root's)");
    mkdir_lock();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(hv_uid_acquire(dir, U0, U0 + 2, "same-seed", &u[i], &fd[i]), 0);
    ck_assert(u[0] != u[1] && u[1] != u[2] && u[0] != u[2]);
    for (int i = 0; i < 3; i++)
        ck_assert(u[i] >= U0 && u[i] <= U0 + 2);
    ck_assert_int_eq(hv_uid_acquire(dir, U0, U0 + 2, "other", &again, &fd4), -EUSERS);
    /* released by its last holder: a forked copy (what QEMU inherits) keeps it */
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    close(fd[1]);
    ck_assert_int_eq(hv_uid_acquire(dir, U0, U0 + 2, "other", &again, &fd4), -EUSERS);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(hv_uid_acquire(dir, U0, U0 + 2, "other", &again, &fd4), 0);
    ck_assert_uint_eq(again, u[1]);
    /* the lock files stay (no unlink race); they are regular, root's, 0600 */
    struct stat st;
    char p[96];
    snprintf(p, sizeof(p), "%s/%u", dir, again);
    ck_assert_int_eq(lstat(p, &st), 0);
    ck_assert(S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 0777) == 0600);
    close(fd[0]), close(fd[2]), close(fd4);
    rm_lock();
}
END_TEST

/* A process still running as the uid (one that dropped its lock, or outlived it by other
 * means) keeps the uid out of reach, lock or not. */
START_TEST(test_lease_live_process)
{
    uint32_t u;
    int fd = -1, pfd[2];
    char c;
    mkdir_lock();
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        if (setresgid(U0 + 3, U0 + 3, U0 + 3) < 0 || setresuid(U0 + 3, U0 + 3, U0 + 3) < 0)
            _exit(1);
        (void)!write(pfd[1], "x", 1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(pfd[0], &c, 1), 1);
    ck_assert_int_eq(hv_uid_acquire(dir, U0 + 3, U0 + 3, "x", &u, &fd), -EUSERS);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(hv_uid_acquire(dir, U0 + 3, U0 + 3, "x", &u, &fd), 0);
    ck_assert_uint_eq(u, U0 + 3);
    close(fd), close(pfd[0]), close(pfd[1]);
    rm_lock();
}
END_TEST

/* The locks are only as good as their dir: root's, not writable by others, no links. */
START_TEST(test_lease_dir_checks)
{
    uint32_t u;
    int fd = -1;
    char p[96];
    mkdir_lock();
    ck_assert_int_eq(chmod(dir, 0777), 0);
    ck_assert_int_eq(hv_uid_acquire(dir, U0, U0, "x", &u, &fd), -EPERM);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    snprintf(p, sizeof(p), "%s/%u", dir, U0);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);
    ck_assert_int_eq(hv_uid_acquire(dir, U0, U0, "x", &u, &fd), -ELOOP);
    ck_assert_int_eq(hv_uid_acquire(dir, 0, 5, "x", &u, &fd), -EINVAL);
    ck_assert_int_eq(hv_uid_acquire(dir, 6, 5, "x", &u, &fd), -EINVAL);
    ck_assert_int_eq(hv_uid_acquire("relative", 5, 6, "x", &u, &fd), -EINVAL);
    rm_lock();
}
END_TEST

static Suite *uid_range_suite(void)
{
    Suite *s = suite_create("uid_range");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_status);
    suite_add_tcase(s, tc);
    tc = tcase_create("lease");
    tcase_add_test(tc, test_lease_exclusive);
    tcase_add_test(tc, test_lease_live_process);
    tcase_add_test(tc, test_lease_dir_checks);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(uid_range_suite)
