/* common/relay.c (one direction) over pipes, FIFOs and socketpairs: backpressure (EPOLLIN off while the
 * buffer is full), nothing lost, FIFO EOF rules, half-close, broken sinks, CloseIO. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay.h"
#include "check_main.h"
#include "cleanup.h"
#include "fd.h"
#include "loop.h"

static int done_calls;
static int last_status;
static void on_done(struct relay *r, int status, void *data)
{
    (void)r;
    (void)data;
    last_status = status;
    done_calls++;
}
static const struct relay_cb DONE_CB = {.done = on_done};
#define RELAY_BUF_SIZE (64u * 1024u) /* the shim's stdio relays' size */

static void nb_pipe(int p[2])
{
    ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

static void spin(struct loop *l, int n)
{
    for (int i = 0; i < n; i++)
        loop_run_once(l, 5);
}

START_TEST(test_backpressure_nothing_lost)
{
    struct loop *l;
    struct relay *r;
    int a[2], b[2];
    const size_t total = 1u << 20; /* 1 MiB through a 64 KiB relay and two 64 KiB pipes */
    size_t written = 0, got = 0;
    uint8_t wbuf[4096], rbuf[8192];
    unsigned long long wsum = 0, rsum = 0;

    signal(SIGPIPE, SIG_IGN);
    done_calls = 0;
    ck_assert_int_eq(loop_new(&l), 0);
    nb_pipe(a);
    nb_pipe(b);
    ck_assert_int_eq(relay_new(l, a[0], b[1], RELAY_BUF_SIZE, RELAY_OWN_SRC, &DONE_CB, &r), 0);
    /* Fill without reading the sink: the relay must stop reading its source. */
    for (int i = 0; i < 200 && !relay_status(r).src_paused; i++) {
        for (size_t k = 0; k < sizeof(wbuf); k++)
            wbuf[k] = (uint8_t)((written + k) * 31 + 7);
        ssize_t n = write(a[1], wbuf, sizeof(wbuf));
        if (n > 0) {
            for (ssize_t k = 0; k < n; k++)
                wsum += wbuf[k] * ((written + (size_t)k) % 251 + 1);
            written += (size_t)n;
        }
        spin(l, 1);
    }
    ck_assert(relay_status(r).src_paused);
    ck_assert_uint_eq(relay_status(r).buffered, RELAY_BUF_SIZE);
    /* keep writing: the source pipe fills up and the writer is throttled, nothing dropped */
    for (int i = 0; i < 64; i++) {
        for (size_t k = 0; k < sizeof(wbuf); k++)
            wbuf[k] = (uint8_t)((written + k) * 31 + 7);
        ssize_t n = write(a[1], wbuf, sizeof(wbuf));
        if (n <= 0)
            break;
        for (ssize_t k = 0; k < n; k++)
            wsum += wbuf[k] * ((written + (size_t)k) % 251 + 1);
        written += (size_t)n;
        spin(l, 1);
    }
    spin(l, 3);
    ck_assert(relay_status(r).src_paused);
    ck_assert_uint_eq(relay_status(r).buffered, RELAY_BUF_SIZE);
    ck_assert_int_eq(write(a[1], wbuf, sizeof(wbuf)), -1);
    ck_assert_int_eq(errno, EAGAIN);
    /* Now drain: everything arrives in order. */
    while (got < total) {
        if (written < total) {
            size_t want = MIN(sizeof(wbuf), total - written);
            for (size_t k = 0; k < want; k++)
                wbuf[k] = (uint8_t)((written + k) * 31 + 7);
            ssize_t n = write(a[1], wbuf, want);
            if (n > 0) {
                for (ssize_t k = 0; k < n; k++)
                    wsum += wbuf[k] * ((written + (size_t)k) % 251 + 1);
                written += (size_t)n;
            }
            if (written == total)
                close(a[1]);
        }
        spin(l, 1);
        ssize_t n;
        while ((n = read(b[0], rbuf, sizeof(rbuf))) > 0) {
            for (ssize_t k = 0; k < n; k++) {
                ck_assert_uint_eq(rbuf[k], (uint8_t)((got + (size_t)k) * 31 + 7));
                rsum += rbuf[k] * ((got + (size_t)k) % 251 + 1);
            }
            got += (size_t)n;
        }
    }
    spin(l, 3);
    ck_assert_uint_eq(got, total);
    ck_assert_uint_eq(wsum, rsum);
    ck_assert(relay_status(r).done);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_uint_eq(relay_status(r).bytes_in, total);
    ck_assert_uint_eq(relay_status(r).bytes_out, total);
    ck_assert_uint_eq(relay_status(r).bytes_dropped, 0);
    relay_free(r);
    close(b[0]);
    close(b[1]);
    loop_free(l);
}
END_TEST

START_TEST(test_fifo_eof_only_after_writer)
{
    struct loop *l;
    struct relay *r;
    char dir[] = "/tmp/relayXXXXXX", path[64], buf[16];
    int sp[2];

    done_calls = 0;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/in", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    int rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(rfd, 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(relay_new(l, rfd, sp[0], RELAY_BUF_SIZE, RELAY_OWN_SRC | RELAY_OWN_SINK | RELAY_SHUT_SINK | RELAY_FIFO_SRC, &DONE_CB, &r), 0);
    spin(l, 5); /* no writer has connected yet: not EOF */
    ck_assert(!relay_status(r).done);
    int wfd = open(path, O_WRONLY | O_CLOEXEC);
    ck_assert_int_eq(write(wfd, "abc", 3), 3);
    close(wfd);
    for (int i = 0; i < 50 && !relay_status(r).done; i++)
        spin(l, 1);
    ck_assert(relay_status(r).done);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(read(sp[1], buf, sizeof(buf)), 3);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    ck_assert_int_eq(read(sp[1], buf, sizeof(buf)), 0); /* half-closed: the agent sees EOF */
    relay_free(r);
    close(sp[1]);
    unlink(path);
    rmdir(dir);
    loop_free(l);
}
END_TEST

START_TEST(test_broken_sink_keeps_draining)
{
    struct loop *l;
    struct relay *r;
    int a[2], b[2];
    char buf[4096];

    signal(SIGPIPE, SIG_IGN);
    done_calls = 0;
    ck_assert_int_eq(loop_new(&l), 0);
    nb_pipe(a);
    nb_pipe(b);
    close(b[0]); /* nobody reads the sink: EPIPE */
    ck_assert_int_eq(relay_new(l, a[0], b[1], RELAY_BUF_SIZE, RELAY_OWN_SRC | RELAY_OWN_SINK, &DONE_CB, &r), 0);
    memset(buf, 'x', sizeof(buf));
    size_t sent = 0;
    for (int i = 0; i < 64; i++) {
        ssize_t n = write(a[1], buf, sizeof(buf));
        if (n > 0)
            sent += (size_t)n;
        spin(l, 1);
    }
    close(a[1]);
    for (int i = 0; i < 50 && !relay_status(r).done; i++)
        spin(l, 1);
    ck_assert(relay_status(r).done);
    ck_assert_uint_eq(relay_status(r).bytes_in, sent); /* the writer was never blocked for good */
    ck_assert_uint_eq(relay_status(r).bytes_dropped, sent);
    relay_free(r);
    loop_free(l);
}
END_TEST

START_TEST(test_close_src_flushes_buffered)
{
    struct loop *l;
    struct relay *r;
    int a[2], sp[2];
    char buf[16];

    done_calls = 0;
    ck_assert_int_eq(loop_new(&l), 0);
    nb_pipe(a);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
    ck_assert_int_eq(relay_new(l, a[0], sp[0], RELAY_BUF_SIZE, RELAY_OWN_SRC | RELAY_OWN_SINK | RELAY_SHUT_SINK, &DONE_CB, &r), 0);
    ck_assert_int_eq(write(a[1], "tail", 4), 4);
    relay_close_src(r); /* CloseIO: what was already written is still delivered, then EOF */
    spin(l, 3);
    ck_assert(relay_status(r).done);
    ck_assert_int_eq(read(sp[1], buf, sizeof(buf)), 4);
    ck_assert_int_eq(read(sp[1], buf, sizeof(buf)), 0);
    relay_free(r);
    close(a[1]);
    close(sp[1]);
    loop_free(l);
}
END_TEST

/* CloseIO while the relay's buffer is full and the source still holds more than a buffer
 * (ctr closes stdin as soon as its last write landed in the FIFO): every byte still arrives,
 * in order, then EOF; the writer stays connected (no HUP) throughout. */
START_TEST(test_close_src_with_backlog)
{
    struct loop *l;
    struct relay *r;
    int a[2], sp[2];
    uint8_t wbuf[4096], rbuf[8192];
    size_t written = 0, got = 0;
    bool order_ok = true;

    done_calls = 0;
    ck_assert_int_eq(loop_new(&l), 0);
    nb_pipe(a);
    ck_assert_int_gt(fcntl(a[1], F_SETPIPE_SZ, 1 << 18), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
    int small = 4096;
    ck_assert_int_eq(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    ck_assert_int_eq(relay_new(l, a[0], sp[0], RELAY_BUF_SIZE, RELAY_OWN_SRC | RELAY_OWN_SINK | RELAY_SHUT_SINK | RELAY_FIFO_SRC, &DONE_CB, &r), 0);
    /* fill the socket, the relay buffer and then the pipe without reading the sink */
    for (int i = 0; i < 400; i++) {
        for (size_t k = 0; k < sizeof(wbuf); k++)
            wbuf[k] = (uint8_t)((written + k) * 131 + 11);
        ssize_t n = write(a[1], wbuf, sizeof(wbuf));
        if (n > 0)
            written += (size_t)n;
        spin(l, 1);
    }
    ck_assert(relay_status(r).src_paused);
    ck_assert_uint_gt(written, relay_status(r).bytes_in + RELAY_BUF_SIZE); /* > a buffer still in the pipe */
    relay_close_src(r);
    for (int i = 0; i < 20000 && !relay_status(r).done; i++) {
        ssize_t n = read(sp[1], rbuf, sizeof(rbuf));
        for (ssize_t k = 0; k < n; k++)
            if (rbuf[k] != (uint8_t)((got + (size_t)k) * 131 + 11))
                order_ok = false;
        if (n > 0)
            got += (size_t)n;
        loop_run_once(l, 1);
    }
    ck_assert(relay_status(r).done);
    for (ssize_t n; (n = read(sp[1], rbuf, sizeof(rbuf))) > 0; got += (size_t)n)
        for (ssize_t k = 0; k < n; k++)
            if (rbuf[k] != (uint8_t)((got + (size_t)k) * 131 + 11))
                order_ok = false;
    ck_assert_uint_eq(got, written);
    ck_assert(order_ok);
    ck_assert_int_eq(read(sp[1], rbuf, sizeof(rbuf)), 0); /* then EOF */
    ck_assert_int_eq(done_calls, 1);
    relay_free(r);
    close(a[1]);
    close(sp[1]);
    loop_free(l);
}
END_TEST

START_TEST(test_regular_file_sink)
{
    struct loop *l;
    struct relay *r;
    int a[2];
    char path[] = "/tmp/relayfileXXXXXX", buf[32];
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(loop_new(&l), 0);
    nb_pipe(a);
    ck_assert_int_eq(relay_new(l, a[0], fd, RELAY_BUF_SIZE, RELAY_OWN_SRC | RELAY_OWN_SINK, &DONE_CB, &r), 0);
    ck_assert_int_eq(write(a[1], "file-data", 9), 9);
    close(a[1]);
    for (int i = 0; i < 20 && !relay_status(r).done; i++)
        spin(l, 1);
    ck_assert(relay_status(r).done);
    relay_free(r);
    int rfd = open(path, O_RDONLY);
    ck_assert_int_eq(read(rfd, buf, sizeof(buf)), 9);
    close(rfd);
    unlink(path);
    loop_free(l);
}
END_TEST

START_TEST(test_no_fd_leak)
{
    int before = fd_count_open();
    struct loop *l;
    struct relay *r;
    int a[2], b[2];
    ck_assert_int_eq(loop_new(&l), 0);
    nb_pipe(a);
    nb_pipe(b);
    ck_assert_int_eq(relay_new(l, a[0], b[1], RELAY_BUF_SIZE, RELAY_OWN_SRC | RELAY_OWN_SINK, &DONE_CB, &r), 0);
    relay_free(r);
    close(a[1]);
    close(b[0]);
    loop_free(l);
    ck_assert_int_eq(fd_count_open(), before);
}
END_TEST

static Suite *relay_suite(void)
{
    Suite *s = suite_create("relay");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_backpressure_nothing_lost);
    tcase_add_test(tc, test_fifo_eof_only_after_writer);
    tcase_add_test(tc, test_broken_sink_keeps_draining);
    tcase_add_test(tc, test_close_src_flushes_buffered);
    tcase_add_test(tc, test_close_src_with_backlog);
    tcase_add_test(tc, test_regular_file_sink);
    tcase_add_test(tc, test_no_fd_leak);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(relay_suite)
