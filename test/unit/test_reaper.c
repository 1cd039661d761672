/* The shim's catch-all reaper: orphans and unwatched children are reaped on SIGCHLD, and a
 * child watched through a pidfd keeps its real exit status whatever the order of exits. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "fd.h"
#include "loop.h"
#include "../../shim/daemon/reaper.h"

static int watched_status = -1;

static void on_child(struct loop_source *s, pid_t pid, const siginfo_t *si, void *d)
{
    (void)s;
    (void)pid;
    (void)d;
    watched_status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
}

static pid_t spawn_exit(int code, int delay_ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        usleep((useconds_t)delay_ms * 1000);
        _exit(code);
    }
    return pid;
}

static void run_case(int watched_delay, int orphan_delay)
{
    struct loop *l;
    struct reaper *r;
    struct loop_source *c;
    pid_t w, o;
    int before = fd_count_open();

    watched_status = -1;
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(reaper_new(l, &r), 0);
    o = spawn_exit(0, orphan_delay);
    w = spawn_exit(42, watched_delay);
    ck_assert_int_eq(loop_add_child(l, w, -1, on_child, NULL, &c), 0);
    for (int i = 0; i < 300; i++) {
        loop_run_once(l, 10);
        if (watched_status >= 0 && waitpid(o, NULL, WNOHANG) < 0 && errno == ECHILD)
            break;
    }
    ck_assert_int_eq(watched_status, 42);          /* not stolen by the catch-all */
    ck_assert_int_eq(waitpid(o, NULL, WNOHANG), -1); /* the unwatched one was reaped */
    ck_assert_int_eq(errno, ECHILD);
    reaper_free(r);
    loop_run_once(l, 0);
    loop_free(l);
    ck_assert_int_eq(fd_count_open(), before);
}

START_TEST(watched_exits_first)
{
    run_case(0, 100);
}
END_TEST

START_TEST(orphan_exits_first)
{
    run_case(100, 0);
}
END_TEST

START_TEST(both_exit_together)
{
    run_case(50, 50);
}
END_TEST

static Suite *reaper_suite(void)
{
    Suite *s = suite_create("reaper");
    TCase *tc = tcase_create("reaper");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, watched_exits_first);
    tcase_add_test(tc, orphan_exits_first);
    tcase_add_test(tc, both_exit_together);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(reaper_suite)
