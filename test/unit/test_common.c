/* common/: errno <-> status mapping, attribute-file helpers, the bounded buffer, and the event
 * loop (timers, signals, pidfd children, deferred free of a source from inside its own
 * callback). */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check_main.h"
#include "errmap.h"
#include "fd.h"
#include "loop.h"

START_TEST(attribute_files_round_trip)
{
    char dir[] = "/tmp/cvm-fd-test.XXXXXX", path[64], link[64], buf[8];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    snprintf(link, sizeof(link), "%s/l", dir);
    ck_assert_int_eq(close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
    ck_assert_int_eq(file_write_str(dir, "f", "max\n"), 0);
    ck_assert_int_eq(file_read_str(dir, "f", buf, sizeof(buf)), 4);
    ck_assert_str_eq(buf, "max\n");
    /* dir NULL: the whole path; a small buffer truncates, NUL-terminated */
    ck_assert_int_eq(file_write_str(NULL, path, "0123456789"), 0);
    ck_assert_int_eq(file_read_str(NULL, path, buf, 4), 3);
    ck_assert_str_eq(buf, "012");
    /* a symlink is not followed; a missing file is -ENOENT */
    ck_assert_int_eq(symlink(path, link), 0);
    ck_assert_int_eq(file_write_str(dir, "l", "x"), -ELOOP);
    ck_assert_int_eq(file_read_str(dir, "none", buf, sizeof(buf)), -ENOENT);
    ck_assert_int_eq(file_read_str(dir, "f", buf, 0), -EINVAL);
    unlink(link);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(errmap_matches_containerd_classes)
{
    ck_assert_int_eq(rpc_code_from_errno(-ENOENT), RPC_NOT_FOUND);
    ck_assert_int_eq(rpc_code_from_errno(EEXIST), RPC_ALREADY_EXISTS);
    ck_assert_int_eq(rpc_code_from_errno(-EINVAL), RPC_INVALID_ARGUMENT);
    ck_assert_int_eq(rpc_code_from_errno(-EBUSY), RPC_FAILED_PRECONDITION);
    ck_assert_int_eq(rpc_code_from_errno(-ENOTSUP), RPC_UNIMPLEMENTED);
    ck_assert_int_eq(rpc_code_from_errno(-ETIMEDOUT), RPC_DEADLINE_EXCEEDED);
    ck_assert_int_eq(rpc_code_from_errno(-ECANCELED), RPC_CANCELLED);
    ck_assert_int_eq(rpc_code_from_errno(-ENOTCONN), RPC_UNAVAILABLE);
    ck_assert_int_eq(rpc_code_from_errno(0), RPC_OK);
    ck_assert_int_eq(rpc_code_from_errno(-EIO), RPC_UNKNOWN);
    /* Round trips for the classes containerd acts on. */
    static const int codes[] = {RPC_NOT_FOUND, RPC_ALREADY_EXISTS, RPC_INVALID_ARGUMENT,
                                RPC_FAILED_PRECONDITION, RPC_UNIMPLEMENTED, RPC_DEADLINE_EXCEEDED,
                                RPC_CANCELLED, RPC_UNAVAILABLE};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        ck_assert_int_eq(rpc_code_from_errno(rpc_code_to_errno(codes[i])), codes[i]);
    ck_assert_str_eq(rpc_code_name(RPC_NOT_FOUND), "NOT_FOUND");
    ck_assert_str_eq(rpc_code_class_text(RPC_NOT_FOUND), "not found");
    ck_assert_str_eq(rpc_code_name(99), "UNKNOWN");
}
END_TEST

START_TEST(cvm_err_set_once_and_prefix)
{
    struct cvm_err e = {0};
    ck_assert_int_eq(cvm_err_set(&e, -ENOENT, "container %s: not found", "c1"), -ENOENT);
    ck_assert_int_eq(e.code, RPC_NOT_FOUND);
    ck_assert_int_eq(cvm_err_set(&e, -EINVAL, "second"), -EINVAL); /* first error wins */
    ck_assert_str_eq(e.msg, "container c1: not found");
    cvm_err_prefix(&e, "delete");
    ck_assert_str_eq(e.msg, "delete: container c1: not found");
    ck_assert_int_eq(cvm_err_set(NULL, EPERM, "x"), -EPERM);
}
END_TEST

START_TEST(buf_is_bounded_and_compacts)
{
    struct buf b;
    char tmp[100];
    buf_init(&b, 10000);
    memset(tmp, 'a', sizeof(tmp));
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(buf_append(&b, tmp, 100), 0);
    ck_assert_int_eq(buf_append(&b, tmp, 1), -ENOBUFS);
    buf_consume(&b, 9950);
    ck_assert_uint_eq(buf_avail(&b), 50);
    ck_assert_int_eq(buf_append(&b, tmp, 100), 0); /* compaction makes room */
    ck_assert_uint_eq(buf_avail(&b), 150);
    buf_consume(&b, 1000);
    ck_assert_uint_eq(buf_avail(&b), 0);
    buf_done(&b);
}
END_TEST

static int timer_fired;
static void on_timer(struct loop_source *s, void *d)
{
    (void)d;
    timer_fired++;
    loop_source_free(s); /* freeing oneself from inside the callback is allowed */
}

static int child_status = -1, child_code;
static void on_child(struct loop_source *s, pid_t pid, const siginfo_t *si, void *d)
{
    (void)s;
    (void)pid;
    (void)d;
    child_code = si->si_code;
    child_status = si->si_status;
}

static int sig_seen;
static void on_sig(struct loop_source *s, const struct signalfd_siginfo *si, void *d)
{
    (void)s;
    (void)d;
    sig_seen = (int)si->ssi_signo;
}

START_TEST(loop_timer_signal_child)
{
    struct loop *l;
    struct loop_source *t, *sg, *c;
    int before = fd_count_open();
    pid_t pid;

    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(loop_add_timer(l, 20000, on_timer, NULL, &t), 0);
    ck_assert_int_eq(loop_add_signal(l, SIGUSR1, on_sig, NULL, &sg), 0);
    pid = fork();
    if (pid == 0)
        _exit(7);
    ck_assert_int_eq(loop_add_child(l, pid, -1, on_child, NULL, &c), 0);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 100 && (!timer_fired || child_status < 0 || !sig_seen); i++)
        loop_run_once(l, 10);
    ck_assert_int_eq(timer_fired, 1);
    ck_assert_int_eq(sig_seen, SIGUSR1);
    ck_assert_int_eq(child_code, CLD_EXITED);
    ck_assert_int_eq(child_status, 7);

    /* A child killed by a signal reports the signal. */
    child_status = -1;
    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    ck_assert_int_eq(loop_add_child(l, pid, -1, on_child, NULL, &c), 0);
    kill(pid, SIGKILL);
    for (int i = 0; i < 100 && child_status < 0; i++)
        loop_run_once(l, 10);
    ck_assert_int_eq(child_code, CLD_KILLED);
    ck_assert_int_eq(child_status, SIGKILL);
    loop_source_free(sg);
    loop_run_once(l, 0);
    loop_free(l);
    ck_assert_int_eq(fd_count_open(), before);
}
END_TEST

/* Two sources ready in one batch; the first frees the second: the second must not run. */
static struct loop_source *victim;
static int victim_ran;
static void killer_cb(struct loop_source *s, int fd, uint32_t ev, void *d)
{
    (void)s;
    (void)fd;
    (void)ev;
    (void)d;
    if (victim)
        victim = loop_source_free(victim);
}
static void victim_cb(struct loop_source *s, int fd, uint32_t ev, void *d)
{
    (void)fd;
    (void)ev;
    (void)d;
    victim_ran++;
    if (victim == s)
        victim = loop_source_free(victim);
}

START_TEST(loop_free_inside_batch_suppresses_stale_event)
{
    struct loop *l;
    struct loop_source *k;
    int a[2], b[2];
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
    ck_assert_int_eq(write(a[1], "x", 1), 1);
    ck_assert_int_eq(write(b[1], "x", 1), 1);
    ck_assert_int_eq(loop_add_io(l, a[0], EPOLLIN, killer_cb, NULL, &k), 0);
    ck_assert_int_eq(loop_add_io(l, b[0], EPOLLIN, victim_cb, NULL, &victim), 0);
    loop_run_once(l, 100);
    /* Either order is legal for epoll; exactly one of the two callbacks won the race. */
    ck_assert_int_le(victim_ran, 1);
    ck_assert_ptr_null(victim);
    loop_source_free(k);
    loop_run_once(l, 0);
    loop_free(l);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}
END_TEST

/* mkdir_p: parents and leaf get their own modes, what exists is accepted, junk is refused. */
START_TEST(mkdir_p_modes_and_existing)
{
    char base[] = "/tmp/cvm-mkp-XXXXXX", p[128];
    struct stat st;
    mode_t old = umask(0);
    ck_assert_ptr_nonnull(mkdtemp(base));
    snprintf(p, sizeof(p), "%s/a/b/c", base);
    ck_assert_int_eq(mkdir_p(p, 0755, 0700), 0);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    snprintf(p, sizeof(p), "%s/a/b", base);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0755);
    snprintf(p, sizeof(p), "%s/a//b/c/", base);
    ck_assert_int_eq(mkdir_p(p, 0755, 0700), 0); /* exists; doubled and trailing slashes */
    snprintf(p, sizeof(p), "%s/f", base);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/f/x", base);
    ck_assert_int_eq(mkdir_p(p, 0755, 0755), -ENOTDIR);
    ck_assert_int_eq(mkdir_p("", 0755, 0755), -EINVAL);
    umask(old);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("common");
    tcase_add_test(tc, errmap_matches_containerd_classes);
    tcase_add_test(tc, attribute_files_round_trip);
    tcase_add_test(tc, cvm_err_set_once_and_prefix);
    tcase_add_test(tc, buf_is_bounded_and_compacts);
    tcase_add_test(tc, loop_timer_signal_child);
    tcase_add_test(tc, loop_free_inside_batch_suppresses_stale_event);
    tcase_add_test(tc, mkdir_p_modes_and_existing);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(common_suite)
