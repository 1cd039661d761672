/* agent/stdio.c relays in process: a fake process whose "pipes" are ours, attached to a
 * socketpair standing in for the host connection. Backpressure, EOF propagation, drain. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../agent/stdio.h"
#include "check_main.h"
#include "fd.h"
#include "loop.h"

static struct agent A;
static struct container C;
static struct process *P;

static void setup(void)
{
    memset(&A, 0, sizeof(A));
    memset(&C, 0, sizeof(C));
    strcpy(C.id, "c1");
    ck_assert_int_eq(loop_new(&A.loop), 0);
    agent_global = &A;
    ck_assert_int_eq(process_new(&C, "", &P), 0);
    C.init = P;
    P->state = PROC_RUNNING;
    P->pid = 0; /* no real process: the reaper is not involved */
}

static void teardown(void)
{
    C.init = NULL;
    process_free(P);
    loop_run_once(A.loop, 0);
    loop_free(A.loop);
}

static void spin(int rounds)
{
    for (int i = 0; i < rounds; i++)
        loop_run_once(A.loop, 0);
}

/* stdout: process writes into a pipe, the host reads the socket. */
START_TEST(output_backpressure_and_eof)
{
    int pf[2], sv[2];
    const char *why;
    ck_assert_int_eq(pipe2(pf, O_CLOEXEC | O_NONBLOCK), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    P->want[STDIO_OUT] = true;
    P->fds[STDIO_OUT] = pf[0];
    ck_assert_int_eq(stream_attach(P, STDIO_OUT, sv[0], &why), 0);
    ck_assert(!stream_drained(P, STDIO_OUT));

    /* The host does not read: the "process" can only get a bounded amount in. */
    static char chunk[4096];
    memset(chunk, 'x', sizeof(chunk));
    size_t accepted = 0;
    for (int round = 0; round < 200; round++) {
        ssize_t n;
        while ((n = write(pf[1], chunk, sizeof(chunk))) > 0)
            accepted += (size_t)n;
        spin(4);
    }
    int sndbuf = 0, rcvbuf = 0;
    socklen_t sl = sizeof(int);
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl);
    getsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl);
    size_t bound = (size_t)fcntl(pf[1], F_GETPIPE_SZ) + (size_t)sndbuf + (size_t)rcvbuf + AGENT_STREAM_BUF;
    ck_assert_msg(accepted <= bound, "accepted %zu bytes with a stalled reader (bound %zu)", accepted, bound);
    ck_assert_uint_gt(accepted, AGENT_STREAM_BUF); /* and it did move data meanwhile */

    /* The process ends (pipe EOF): every byte arrives, then EOF, then the stream is drained. */
    close(pf[1]);
    size_t got = 0;
    char buf[65536];
    (void)fd_set_nonblock(sv[1], 1);
    for (int i = 0; i < 100000; i++) {
        spin(1);
        ssize_t n = read(sv[1], buf, sizeof(buf));
        if (n == 0)
            break;
        if (n > 0) {
            for (ssize_t k = 0; k < n; k++)
                ck_assert_int_eq(buf[k], 'x');
            got += (size_t)n;
        }
    }
    ck_assert_uint_eq(got, accepted);
    ck_assert(stream_drained(P, STDIO_OUT));
    close(sv[1]);
}
END_TEST

/* stdin: the host writes the socket, the process reads the pipe; host EOF closes stdin. */
START_TEST(stdin_eof_closes_pipe)
{
    int pf[2], sv[2];
    const char *why;
    ck_assert_int_eq(pipe2(pf, O_CLOEXEC | O_NONBLOCK), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    P->want[STDIO_IN] = true;
    P->fds[STDIO_IN] = pf[1];
    ck_assert_int_eq(stream_attach(P, STDIO_IN, sv[0], &why), 0);
    ck_assert_int_eq(write_all(sv[1], "hello\n", 6), 0);
    shutdown(sv[1], SHUT_WR);
    char buf[64];
    size_t got = 0;
    for (int i = 0; i < 1000; i++) {
        spin(1);
        ssize_t n = read(pf[0], buf + got, sizeof(buf) - got);
        if (n == 0)
            break; /* EOF: the agent closed the write end after the data */
        if (n > 0)
            got += (size_t)n;
    }
    ck_assert_uint_eq(got, 6);
    ck_assert(memcmp(buf, "hello\n", 6) == 0);
    ck_assert_int_eq(read(pf[0], buf, 1), 0);
    close(pf[0]);
    close(sv[1]);
}
END_TEST

/* Read the host end, the loop running, until EOF or (until > 0) until that many bytes came. */
static size_t host_read(int fd, char *buf, size_t cap, size_t until)
{
    size_t got = 0;
    (void)fd_set_nonblock(fd, 1);
    for (int i = 0; i < 20000 && got < cap; i++) {
        loop_run_once(A.loop, 5);
        ssize_t n = read(fd, buf + got, cap - got);
        if (n > 0)
            got += (size_t)n;
        if (n == 0 || (until && got >= until))
            break;
    }
    return got;
}

/* stdout of a terminal process: a pty master, read in batches after a short read. Nothing is
 * held back by a pause (a prompt without a newline arrives while the slave stays open), and a
 * long run of lines arrives whole with the line discipline's ONLCR applied. */
START_TEST(pty_output_whole_after_pauses)
{
    int sv[2];
    const char *why;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(unlockpt(m), 0);
    int sl = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(sl, 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    P->terminal = true;
    P->want[STDIO_OUT] = true;
    P->fds[STDIO_OUT] = m;
    ck_assert_int_eq(stream_attach(P, STDIO_OUT, sv[0], &why), 0);

    static char buf[1 << 20], want[1 << 20];
    ck_assert_int_eq(write_all(sl, "$ ", 2), 0);
    ck_assert_uint_eq(host_read(sv[1], buf, sizeof(buf), 2), 2);
    ck_assert(memcmp(buf, "$ ", 2) == 0);
    ck_assert_int_eq(write_all(sl, "a\n", 2), 0); /* short read: a pause starts */
    ck_assert_int_eq(write_all(sl, "b", 1), 0);
    ck_assert_uint_eq(host_read(sv[1], buf, sizeof(buf), 4), 4);
    ck_assert(memcmp(buf, "a\r\nb", 4) == 0);

    /* 4096 lines of 32 bytes, written as the slave takes them */
    static const char line[] = "0123456789abcdef0123456789abcde\n";
    size_t lines = 4096, wn = 0, got = 0;
    (void)fd_set_nonblock(sl, 1);
    (void)fd_set_nonblock(sv[1], 1);
    for (size_t i = 0; i < lines; i++) {
        memcpy(want + wn, line, 31);
        memcpy(want + wn + 31, "\r\n", 2);
        wn += 33;
    }
    size_t sent = 0;
    for (int i = 0; i < 200000 && got < wn; i++) {
        while (sent < lines * 32) {
            ssize_t n = write(sl, line + sent % 32, 32 - sent % 32);
            if (n <= 0)
                break;
            sent += (size_t)n;
        }
        loop_run_once(A.loop, 5);
        ssize_t n = read(sv[1], buf + got, sizeof(buf) - got);
        if (n > 0)
            got += (size_t)n;
    }
    ck_assert_uint_eq(sent, lines * 32);
    close(sl); /* the slave side is gone: EIO on the master is EOF */
    got += host_read(sv[1], buf + got, sizeof(buf) - got, 0);
    ck_assert_uint_eq(got, wn);
    ck_assert(memcmp(buf, want, wn) == 0);
    ck_assert(stream_drained(P, STDIO_OUT));
    close(sv[1]);
}
END_TEST

START_TEST(attach_rules)
{
    int sv[2];
    const char *why = NULL;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    /* not announced */
    ck_assert_int_eq(stream_attach(P, STDIO_ERR, sv[0], &why), -EINVAL);
    ck_assert_ptr_nonnull(why);
    /* announced streams that never attached count as drained once their pipe is gone */
    P->want[STDIO_ERR] = true;
    ck_assert(stream_drained(P, STDIO_ERR)); /* fds[ERR] is -1 */
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_stream");
    TCase *tc = tcase_create("relay");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, output_backpressure_and_eof);
    tcase_add_test(tc, stdin_eof_closes_pipe);
    tcase_add_test(tc, pty_output_whole_after_pauses);
    tcase_add_test(tc, attach_rules);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(suite)
