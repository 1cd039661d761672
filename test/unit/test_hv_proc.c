/* hv_proc: spawn with an fd map, stderr capture, exit reporting, stop with SIGKILL fallback,
 * exec failures reported synchronously, no fd leaks. Uses /bin/sh as the child. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "fd.h"
#include "hv_proc.h"
#include "log.h"
#include "loop.h"

struct res {
    int exited;
    siginfo_t si;
    char tail[1100];
};

static void on_exit_cb(struct hv_proc *p, const siginfo_t *si, void *data)
{
    struct res *r = data;
    r->exited++;
    r->si = *si;
    snprintf(r->tail, sizeof(r->tail), "%s", hv_proc_stderr_tail(p));
}

static void spin(struct loop *l, int *flag)
{
    unsigned long long end = now_ns() + 10000000000ULL;
    while (!*flag && now_ns() < end)
        loop_run_once(l, 50);
    ck_assert_msg(*flag, "timed out");
}

START_TEST(test_exit_status_and_stderr)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    char *argv[] = {"/bin/sh", "-c", "echo first >&2; echo 'second line' >&2; exit 3", NULL};
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
    char how[64];
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    ck_assert_int_gt(hv_proc_pid(p), 0);
    ck_assert(hv_proc_running(p));
    spin(l, &r.exited);
    ck_assert_int_eq(r.si.si_code, CLD_EXITED);
    ck_assert_int_eq(r.si.si_status, 3);
    ck_assert_str_eq(r.tail, "first\nsecond line\n");
    ck_assert(!hv_proc_running(p));
    ck_assert_int_eq(hv_proc_pid(p), 0);
    hv_proc_describe_exit(&r.si, how, sizeof(how));
    ck_assert_str_eq(how, "exited with status 3");
    hv_proc_free(p);
    loop_free(l);
}
END_TEST

/* The child sees exactly fds 0-2 and the mapped ones; a mapped fd is the right object. */
START_TEST(test_fd_map_and_sweep)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    int pfd[2], leak, n;
    char buf[256] = "";
    /* The child lists its fds on stdout and writes "via5" into fd 5 (our pipe). */
    char *argv[] = {"/bin/sh", "-c",
                    "i=3; while [ $i -lt 64 ]; do [ -e /proc/self/fd/$i ] && printf '%d ' $i; "
                    "i=$((i+1)); done; echo via5 >&5",
                    NULL};
    struct hv_proc_fd fds[2];
    struct hv_proc_opts o = {.name = "t", .argv = argv, .fds = fds, .n_fds = 2, .netns_fd = -1,
                             .capture_stdout = true};
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    leak = open("/dev/null", O_RDONLY); /* not CLOEXEC on purpose: the sweep must close it */
    ck_assert_int_ge(leak, 0);
    /* Map pfd[1] to 5 and a second fd to 3; sources may collide with targets. */
    fds[0] = (struct hv_proc_fd){pfd[1], 5};
    fds[1] = (struct hv_proc_fd){pfd[1], 3};
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    close(pfd[1]);
    spin(l, &r.exited);
    ck_assert_int_eq(r.si.si_status, 0);
    n = (int)read(hv_proc_stdout_fd(p), buf, sizeof(buf) - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_msg(strcmp(buf, "3 5 ") == 0, "child fds >= 3: '%s' (leak was %d)", buf, leak);
    n = (int)read(pfd[0], buf, sizeof(buf) - 1);
    ck_assert_int_eq(n, 5);
    ck_assert(memcmp(buf, "via5\n", 5) == 0);
    close(pfd[0]);
    close(leak);
    hv_proc_free(p);
    loop_free(l);
}
END_TEST

START_TEST(test_exec_failure_is_synchronous)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    char *argv[] = {"/nonexistent/binary", NULL};
    char *argv2[] = {"no-such-helper-in-path-xyz", NULL};
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
    int before = fd_count_open();
    ck_assert_int_eq(loop_new(&l), 0);
    before = fd_count_open();
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, NULL, &p), -ENOENT);
    o.argv = argv2;
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, NULL, &p), -ENOENT);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(fd_count_open(), before);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* nothing left unreaped */
    loop_free(l);
}
END_TEST

START_TEST(test_bad_netns_fd)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    char *argv[] = {"/bin/true", NULL};
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = fd};
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, NULL, &p), -EINVAL); /* setns on a non-ns */
    close(fd);
    loop_free(l);
}
END_TEST

/* SIGTERM ignored: SIGKILL follows at the deadline. */
START_TEST(test_stop_escalates_to_sigkill)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo up >&2; while :; do sleep 0.05; done", NULL};
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
    unsigned long long t0;
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    /* Wait until the trap is installed (the child wrote "up"). */
    while (!strstr(hv_proc_stderr_tail(p), "up"))
        loop_run_once(l, 50);
    t0 = now_ns();
    ck_assert_int_eq(hv_proc_stop(p, SIGTERM, 300), 0);
    spin(l, &r.exited);
    ck_assert_int_eq(r.si.si_code, CLD_KILLED);
    ck_assert_int_eq(r.si.si_status, SIGKILL);
    ck_assert_uint_ge(now_ns() - t0, 250000000ULL);
    ck_assert_int_eq(hv_proc_stop(p, SIGTERM, 100), 0); /* no-op once exited */
    hv_proc_free(p);
    loop_free(l);
}
END_TEST

/* Freeing a running child kills it without waiting: hv_proc_free returns at once (a child
 * that ignores SIGTERM and sleeps 30 s), the exit is reaped on the loop, no callback. */
START_TEST(test_free_running_kills)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo up >&2; exec sleep 30", NULL};
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
    siginfo_t si;
    pid_t pid;
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    while (!strstr(hv_proc_stderr_tail(p), "up"))
        loop_run_once(l, 50);
    pid = hv_proc_pid(p);
    uint64_t t0 = now_ns();
    hv_proc_free(p);
    ck_assert_uint_lt(now_ns() - t0, 50000000ull); /* no wait on the loop */
    ck_assert_int_eq(kill(pid, 0), 0); /* still ours (dying or a zombie): not reaped in free */
    /* Not reaped yet by hv_proc_free: the loop does it once the pidfd is readable. */
    ck_assert_uint_eq(hv_proc_reap_orphans(l, 5000), 0);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    memset(&si, 0, sizeof(si));
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG), -1); /* already reaped */
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(r.exited, 0); /* no callback after free */
    loop_free(l);
}
END_TEST

/* hv_proc_stop signals through the pidfd: a stopped (SIGSTOP) child still gets the SIGKILL
 * of the deadline; after the exit the pid is no longer ours and stop is a no-op. */
START_TEST(test_stop_via_pidfd_then_noop)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    char *argv[] = {"/bin/sleep", "30", NULL};
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    ck_assert_int_eq(hv_proc_stop(p, SIGSTOP, 100), 0);
    spin(l, &r.exited);
    ck_assert_int_eq(r.si.si_code, CLD_KILLED);
    ck_assert_int_eq(r.si.si_status, SIGKILL);
    ck_assert_int_eq(hv_proc_stop(p, SIGTERM, 0), 0);
    hv_proc_free(p);
    ck_assert_uint_eq(hv_proc_reap_orphans(l, 100), 0);
    loop_free(l);
}
END_TEST

START_TEST(test_signal_mask_reset)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    struct loop_source *sig = NULL;
    /* The parent blocks SIGTERM (signalfd); the child must not inherit the block. */
    char *argv[] = {"/bin/sh", "-c", "grep -E '^SigBlk' /proc/self/status >&2", NULL};
    struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(loop_add_signal(l, SIGTERM, NULL, NULL, &sig), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    spin(l, &r.exited);
    ck_assert_msg(strstr(r.tail, "SigBlk:\t0000000000000000") != NULL, "%s", r.tail);
    hv_proc_free(p);
    loop_source_free(sig);
    loop_free(l);
}
END_TEST

/* stderr lines go to our log with module=<name>; a helper's own logfmt record is re-logged
 * with its level and message, not quoted whole. */
START_TEST(test_stderr_relog)
{
    struct loop *l;
    struct hv_proc *p = NULL;
    struct res r = {0};
    int lp[2];
    char out[4096];
    ssize_t n;
    char *argv[] = {"/bin/sh", "-c",
                    "echo 'plain words' >&2; "
                    "echo 'time=\"2026-01-01T00:00:00Z\" level=warning msg=\"QEMU \\\"x\\\" gone\" module=vsockd' >&2",
                    NULL};
    struct hv_proc_opts o = {.name = "helper", .argv = argv, .netns_fd = -1};
    ck_assert_int_eq(pipe2(lp, O_CLOEXEC | O_NONBLOCK), 0);
    log_set_fd(lp[1]);
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(hv_proc_spawn(l, &o, on_exit_cb, &r, &p), 0);
    spin(l, &r.exited);
    log_set_fd(2);
    n = read(lp[0], out, sizeof(out) - 1);
    ck_assert_int_gt(n, 0);
    out[n] = '\0';
    ck_assert_msg(strstr(out, "level=info msg=\"plain words\" module=helper"), "%s", out);
    ck_assert_msg(strstr(out, "level=warning msg=\"QEMU \\\"x\\\" gone\" module=helper"), "%s", out);
    ck_assert_msg(!strstr(out, "time=\\\""), "%s", out);
    hv_proc_free(p);
    loop_free(l);
    close(lp[0]), close(lp[1]);
}
END_TEST

/* The parent dying takes the child with it (PR_SET_PDEATHSIG). */
START_TEST(test_parent_death_kills_child)
{
    int pfd[2];
    pid_t mid, child = 0;
    char state = 0;
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    mid = fork();
    if (mid == 0) {
        struct loop *l;
        struct hv_proc *p = NULL;
        char *argv[] = {"/bin/sleep", "30", NULL};
        struct hv_proc_opts o = {.name = "t", .argv = argv, .netns_fd = -1};
        pid_t pid;
        if (loop_new(&l) < 0 || hv_proc_spawn(l, &o, NULL, NULL, &p) < 0)
            _exit(1);
        pid = hv_proc_pid(p);
        (void)!write(pfd[1], &pid, sizeof(pid));
        _exit(0); /* without stopping it */
    }
    ck_assert_int_eq(read(pfd[0], &child, sizeof(child)), (ssize_t)sizeof(child));
    ck_assert_int_eq(waitpid(mid, NULL, 0), mid);
    for (int i = 0; i < 200; i++) {
        char path[64], buf[256];
        FILE *f;
        size_t n;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
        if (!(f = fopen(path, "re"))) {
            state = 'X';
            break;
        }
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (strrchr(buf, ')') && (state = strrchr(buf, ')')[2]) == 'Z')
            break;
        usleep(10000);
    }
    ck_assert_msg(state == 'X' || state == 'Z', "child %d still in state %c", (int)child, state);
    close(pfd[0]), close(pfd[1]);
}
END_TEST

static Suite *hv_proc_suite(void)
{
    Suite *s = suite_create("hv_proc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_exit_status_and_stderr);
    tcase_add_test(tc, test_fd_map_and_sweep);
    tcase_add_test(tc, test_exec_failure_is_synchronous);
    tcase_add_test(tc, test_bad_netns_fd);
    tcase_add_test(tc, test_stop_escalates_to_sigkill);
    tcase_add_test(tc, test_free_running_kills);
    tcase_add_test(tc, test_stop_via_pidfd_then_noop);
    tcase_add_test(tc, test_signal_mask_reset);
    tcase_add_test(tc, test_parent_death_kills_child);
    tcase_add_test(tc, test_stderr_relog);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(hv_proc_suite)
