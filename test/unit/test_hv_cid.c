/* Kernel-mode guest CID leases (hypervisor/vsock_cid.c): concurrent sandboxes never share
 * a CID; a released CID is free again and its lock file gone. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "hv_internal.h"

static char dir[64];

static void mk(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hv-cid.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int exists(uint32_t cid)
{
    char p[128];
    struct stat st;
    snprintf(p, sizeof(p), "%s/leases/%u", dir, cid);
    return stat(p, &st) == 0;
}

START_TEST(test_distinct_and_released)
{
    char leases[96];
    uint32_t cids[16];
    int fds[16];
    snprintf(leases, sizeof(leases), "%s/leases", dir);
    /* Same seed every time: the scan must still hand out distinct CIDs. */
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(hv_cid_acquire(leases, 0, "same-id", &cids[i], &fds[i]), 0);
        ck_assert_uint_ge(cids[i], 3);
        ck_assert(exists(cids[i]));
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(cids[i], cids[j]);
    }
    for (int i = 0; i < 16; i++) {
        hv_cid_release(leases, cids[i], fds[i]);
        ck_assert(!exists(cids[i]));
    }
    ck_assert_int_eq(rmdir(leases), 0);
}
END_TEST

START_TEST(test_wanted_cid)
{
    char leases[96];
    uint32_t a, b;
    int fa, fb;
    snprintf(leases, sizeof(leases), "%s/leases", dir);
    ck_assert_int_eq(hv_cid_acquire(leases, 1234, "x", &a, &fa), 0);
    ck_assert_uint_eq(a, 1234);
    ck_assert_int_eq(hv_cid_acquire(leases, 1234, "y", &b, &fb), -EADDRINUSE);
    ck_assert_int_eq(hv_cid_acquire(leases, 2, "y", &b, &fb), -EINVAL);
    hv_cid_release(leases, a, fa);
    ck_assert_int_eq(hv_cid_acquire(leases, 1234, "y", &b, &fb), 0);
    hv_cid_release(leases, b, fb);
    ck_assert_int_eq(rmdir(leases), 0);
}
END_TEST

/* Another process holding a lease blocks it for us too (flock across processes). */
START_TEST(test_across_processes)
{
    char leases[96];
    int pfd[2], fa, fb;
    uint32_t a, b;
    char c;
    pid_t pid;
    snprintf(leases, sizeof(leases), "%s/leases", dir);
    ck_assert_int_eq(pipe(pfd), 0);
    pid = fork();
    if (pid == 0) {
        if (hv_cid_acquire(leases, 77, "child", &a, &fa) < 0)
            _exit(1);
        (void)!write(pfd[1], "x", 1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(pfd[0], &c, 1), 1);
    ck_assert_int_eq(hv_cid_acquire(leases, 77, "parent", &b, &fb), -EADDRINUSE);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* The holder died without releasing: its lock went with it, the file stays reusable. */
    ck_assert_int_eq(hv_cid_acquire(leases, 77, "parent", &b, &fb), 0);
    hv_cid_release(leases, b, fb);
    close(pfd[0]), close(pfd[1]);
    ck_assert_int_eq(rmdir(leases), 0);
}
END_TEST

static void rm(void)
{
    ck_assert_int_eq(rmdir(dir), 0);
}

static Suite *hv_cid_suite(void)
{
    Suite *s = suite_create("hv_cid");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, mk, rm);
    tcase_add_test(tc, test_distinct_and_released);
    tcase_add_test(tc, test_wanted_cid);
    tcase_add_test(tc, test_across_processes);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(hv_cid_suite)
