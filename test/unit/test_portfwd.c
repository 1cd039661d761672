/* Port forwarding: the stream headers (proto/portfwd_wire.c), the duplex relay
 * (common/duplex_relay.c: backpressure, half-close, heads, hang-ups), the agent's server
 * (agent/portfwd.c over a unix listener, dialling a real TCP server on 127.0.0.1) and the
 * shim's BPF steering (shim/portfwd_steer.c, root: in a network namespace of the test's own). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../agent/portfwd.h"
#include "../../shim/net/portfwd.h"
#include "check_main.h"
#include "cleanup.h"
#include "duplex_relay.h"
#include "fd.h"
#include "loop.h"
#include "portfwd_wire.h"

/* ---- headers ---- */

START_TEST(test_req_roundtrip_and_rejects)
{
    uint8_t b[PORTFWD_REQ_LEN];
    uint16_t port = 0;
    portfwd_req_encode(8080, b);
    ck_assert_int_eq(portfwd_req_parse(b, sizeof(b), &port), 0);
    ck_assert_uint_eq(port, 8080);
    ck_assert_int_eq(memcmp(b, "CVPF\x01\x00\x1f\x90", 8), 0); /* big-endian, as documented */
    ck_assert_int_eq(portfwd_req_parse(b, 7, &port), -EAGAIN);
    portfwd_req_encode(65535, b);
    ck_assert_int_eq(portfwd_req_parse(b, sizeof(b), &port), 0);
    ck_assert_uint_eq(port, 65535);
    portfwd_req_encode(0, b);
    ck_assert_int_eq(portfwd_req_parse(b, sizeof(b), &port), -EINVAL); /* port 0 */
    portfwd_req_encode(80, b);
    b[0] ^= 1;
    ck_assert_int_eq(portfwd_req_parse(b, sizeof(b), &port), -EINVAL); /* magic */
    portfwd_req_encode(80, b);
    b[4] = 2;
    ck_assert_int_eq(portfwd_req_parse(b, sizeof(b), &port), -EPROTONOSUPPORT);
    portfwd_req_encode(80, b);
    b[5] = 1;
    ck_assert_int_eq(portfwd_req_parse(b, sizeof(b), &port), -EINVAL); /* flags must be 0 */
}
END_TEST

START_TEST(test_reply_roundtrip_and_rejects)
{
    uint8_t b[PORTFWD_REPLY_LEN];
    int st = -1;
    portfwd_reply_encode(0, b);
    ck_assert_int_eq(portfwd_reply_parse(b, sizeof(b), &st), 0);
    ck_assert_int_eq(st, 0);
    portfwd_reply_encode(-ECONNREFUSED, b); /* negative or positive errno: the same */
    ck_assert_int_eq(portfwd_reply_parse(b, sizeof(b), &st), 0);
    ck_assert_int_eq(st, ECONNREFUSED);
    portfwd_reply_encode(1 << 20, b); /* out of range: sent as EIO */
    ck_assert_int_eq(portfwd_reply_parse(b, sizeof(b), &st), 0);
    ck_assert_int_eq(st, EIO);
    ck_assert_int_eq(portfwd_reply_parse(b, 3, &st), -EAGAIN);
    memcpy(b, "CVPR\x00\x01\x00\x00", 8); /* 65536: no errno */
    ck_assert_int_eq(portfwd_reply_parse(b, sizeof(b), &st), -EINVAL);
    memcpy(b, "CVPF\x00\x00\x00\x00", 8); /* a request's magic */
    ck_assert_int_eq(portfwd_reply_parse(b, sizeof(b), &st), -EINVAL);
}
END_TEST

/* ---- duplex relay ---- */

static int done_status, done_calls;
static void on_done(struct duplex_relay *r, int status, void *data)
{
    (void)r, (void)data;
    done_status = status;
    done_calls++;
}

static void spairs(int a[2], int b[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, b), 0);
}

/* 1 MiB each way through a 4 KiB relay at once, both peers reading and writing. */
START_TEST(test_relay_both_ways_backpressure)
{
    struct loop *l;
    struct duplex_relay *r;
    int a[2], b[2];
    const size_t total = 1u << 20;
    size_t wa = 0, wb = 0, ga = 0, gb = 0;
    uint8_t buf[8192];
    unsigned long long sum_in = 0, sum_out = 0;

    signal(SIGPIPE, SIG_IGN);
    done_calls = 0;
    spairs(a, b);
    ck_assert_int_eq(loop_new(&l), 0);
    /* peers: a[0] (A's client) and b[0] (B's client); the relay owns a[1] and b[1] */
    ck_assert_int_eq(duplex_relay_new(l, a[1], b[1], 4096, on_done, NULL, &r), 0);
    for (int it = 0; it < 200000 && (ga < total || gb < total); it++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)((wa + i) * 7);
        if (wa < total) {
            ssize_t n = write(a[0], buf, MIN(sizeof(buf), total - wa));
            if (n > 0) {
                for (ssize_t i = 0; i < n; i++)
                    sum_in += buf[i] * (unsigned long long)(wa + (size_t)i + 1);
                wa += (size_t)n;
            }
        }
        if (wb < total) {
            ssize_t n = write(b[0], buf, MIN(sizeof(buf), total - wb));
            if (n > 0)
                wb += (size_t)n;
        }
        loop_run_once(l, 0);
        ssize_t n = read(b[0], buf, sizeof(buf));
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                sum_out += buf[i] * (unsigned long long)(gb + (size_t)i + 1);
            gb += (size_t)n;
        }
        n = read(a[0], buf, sizeof(buf));
        if (n > 0)
            ga += (size_t)n;
    }
    ck_assert_uint_eq(gb, total);
    ck_assert_uint_eq(ga, total);
    ck_assert(sum_in == sum_out); /* order and content, not only the count */
    ck_assert_int_eq(done_calls, 0);
    ck_assert(duplex_relay_bytes(r, 0) == total && duplex_relay_bytes(r, 1) == total);
    duplex_relay_free(r);
    close(a[0]), close(b[0]);
    loop_free(l);
}
END_TEST

/* A's EOF reaches B as EOF while B -> A still flows; then B's EOF finishes the relay. */
START_TEST(test_relay_half_close)
{
    struct loop *l;
    struct duplex_relay *r;
    int a[2], b[2];
    char buf[64];

    done_calls = 0;
    spairs(a, b);
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(duplex_relay_new(l, a[1], b[1], 4096, on_done, NULL, &r), 0);
    ck_assert_int_eq(write(a[0], "req", 3), 3);
    ck_assert_int_eq(shutdown(a[0], SHUT_WR), 0);
    for (int i = 0; i < 20; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(read(b[0], buf, sizeof(buf)), 3);
    ck_assert_int_eq(read(b[0], buf, sizeof(buf)), 0); /* EOF passed on */
    ck_assert_int_eq(done_calls, 0);                   /* the other way is still open */
    ck_assert_int_eq(write(b[0], "reply", 5), 5);
    for (int i = 0; i < 20; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(read(a[0], buf, sizeof(buf)), 5);
    ck_assert_int_eq(memcmp(buf, "reply", 5), 0);
    ck_assert_int_eq(done_calls, 0);
    ck_assert_int_eq(shutdown(b[0], SHUT_WR), 0);
    for (int i = 0; i < 20 && !done_calls; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(done_status, 0);
    ck_assert_int_eq(read(a[0], buf, sizeof(buf)), 0);
    duplex_relay_free(r);
    close(a[0]), close(b[0]);
    loop_free(l);
}
END_TEST

static int head_seen, head_verdict;
static int on_head(const uint8_t *p, size_t n, void *data)
{
    (void)data;
    head_seen = n == 4 && memcmp(p, "HEAD", 4) == 0;
    return head_verdict;
}

/* B's head goes to the callback, not to A; what A gets starts after it; send_b goes first. */
START_TEST(test_relay_heads)
{
    struct loop *l;
    struct duplex_relay *r;
    int a[2], b[2];
    char buf[64];

    done_calls = 0, head_seen = 0, head_verdict = 0;
    spairs(a, b);
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(duplex_relay_new(l, a[1], b[1], 4096, on_done, NULL, &r), 0);
    ck_assert_int_eq(duplex_relay_send_b(r, "HDR!", 4), 0);
    ck_assert_int_eq(duplex_relay_expect_b(r, 4, on_head), 0);
    ck_assert_int_eq(write(a[0], "data", 4), 4);
    ck_assert_int_eq(write(b[0], "HE", 2), 2); /* a head in pieces */
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(head_seen, 0);
    ck_assert_int_eq(loop_run_once(l, 0), 0); /* idle while the head is partial: no spinning */
    ck_assert_int_eq(write(b[0], "ADpayload", 9), 9);
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(head_seen, 1);
    ck_assert_int_eq(read(b[0], buf, sizeof(buf)), 8);
    ck_assert_int_eq(memcmp(buf, "HDR!data", 8), 0);
    ck_assert_int_eq(read(a[0], buf, sizeof(buf)), 7);
    ck_assert_int_eq(memcmp(buf, "payload", 7), 0);
    duplex_relay_free(r);
    close(a[0]), close(b[0]);

    /* a rejected head ends the relay with the callback's status, nothing reaches A */
    done_calls = 0, head_seen = 0, head_verdict = -ECONNREFUSED;
    spairs(a, b);
    ck_assert_int_eq(duplex_relay_new(l, a[1], b[1], 4096, on_done, NULL, &r), 0);
    ck_assert_int_eq(duplex_relay_expect_b(r, 4, on_head), 0);
    ck_assert_int_eq(write(b[0], "HEADmore", 8), 8);
    for (int i = 0; i < 10 && !done_calls; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(done_status, -ECONNREFUSED);
    ck_assert_int_eq(read(a[0], buf, sizeof(buf)), -1);
    duplex_relay_free(r);
    close(a[0]), close(b[0]);

    /* EOF before the head is complete: -EPROTO */
    done_calls = 0, head_verdict = 0;
    spairs(a, b);
    ck_assert_int_eq(duplex_relay_new(l, a[1], b[1], 4096, on_done, NULL, &r), 0);
    ck_assert_int_eq(duplex_relay_expect_b(r, 4, on_head), 0);
    ck_assert_int_eq(write(b[0], "HE", 2), 2);
    ck_assert_int_eq(shutdown(b[0], SHUT_WR), 0);
    for (int i = 0; i < 10 && !done_calls; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(done_status, -EPROTO);
    duplex_relay_free(r);
    close(a[0]), close(b[0]);
    loop_free(l);
}
END_TEST

/* A peer that closes completely: what it sent is delivered, then the relay ends (no spin). */
START_TEST(test_relay_hangup)
{
    struct loop *l;
    struct duplex_relay *r;
    int a[2], b[2];
    char buf[64];

    done_calls = 0;
    spairs(a, b);
    ck_assert_int_eq(loop_new(&l), 0);
    ck_assert_int_eq(duplex_relay_new(l, a[1], b[1], 4096, on_done, NULL, &r), 0);
    ck_assert_int_eq(write(b[0], "last words", 10), 10);
    close(b[0]);
    for (int i = 0; i < 20 && !done_calls; i++)
        loop_run_once(l, 5);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(done_status, 0);
    ck_assert_int_eq(read(a[0], buf, sizeof(buf)), 10);
    duplex_relay_free(r);
    close(a[0]);
    loop_free(l);
}
END_TEST

/* ---- the agent's server ---- */

static int tcp_listener(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int unix_pair_listener(char *path, size_t n)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(path, n, "/tmp/test-portfwd.%d.sock", getpid());
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 128), 0);
    return fd;
}


static int test_connect(const char *path)
{
    int fd = unix_connect(path, SOCK_NONBLOCK);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* read exactly n bytes from a non-blocking fd, running the loop meanwhile */
static ssize_t pump_read(struct loop *l, int fd, void *buf, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < 400 && got < n; i++) {
        ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
        if (r == 0)
            break;
        if (r > 0)
            got += (size_t)r;
        else
            loop_run_once(l, 5);
    }
    return (ssize_t)got;
}

START_TEST(test_agent_server)
{
    struct loop *l;
    struct portfwd_server *srv;
    char path[108], buf[64];
    uint8_t hdr[PORTFWD_REQ_LEN], rep[PORTFWD_REPLY_LEN];
    uint16_t port;
    int st = -1, tl, c, s = -1;

    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(loop_new(&l), 0);
    tl = tcp_listener(&port);
    ck_assert_int_eq(portfwd_serve(l, unix_pair_listener(path, sizeof(path)), &srv), 0);

    /* a good request: reply 0, then bytes both ways with the guest's server */
    c = test_connect(path);
    portfwd_req_encode(port, hdr);
    ck_assert_int_eq(write(c, hdr, 3), 3); /* the header may come in pieces */
    loop_run_once(l, 5);
    ck_assert_int_eq(write(c, hdr + 3, sizeof(hdr) - 3), (ssize_t)sizeof(hdr) - 3);
    ck_assert_int_eq(write(c, "ping", 4), 4); /* data right behind the header */
    ck_assert_int_eq(pump_read(l, c, rep, sizeof(rep)), (ssize_t)sizeof(rep));
    ck_assert_int_eq(portfwd_reply_parse(rep, sizeof(rep), &st), 0);
    ck_assert_int_eq(st, 0);
    for (int i = 0; i < 100 && s < 0; i++) {
        s = accept4(tl, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        loop_run_once(l, 5);
    }
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(pump_read(l, s, buf, 4), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    ck_assert_int_eq(write(s, "pong", 4), 4);
    ck_assert_int_eq(pump_read(l, c, buf, 4), 4);
    ck_assert_int_eq(memcmp(buf, "pong", 4), 0);
    ck_assert_uint_eq(portfwd_active(srv), 1);
    close(s); /* the server's FIN reaches the shim's stream as EOF (a half-close) */
    ck_assert_int_eq(pump_read(l, c, buf, sizeof(buf)), 0);
    ck_assert_uint_eq(portfwd_active(srv), 1); /* the other way is still open */
    close(c); /* and now the shim's end: the connection is gone */
    for (int i = 0; i < 20 && portfwd_active(srv); i++)
        loop_run_once(l, 5);
    ck_assert_uint_eq(portfwd_active(srv), 0);

    /* nobody listens: the reply carries ECONNREFUSED and the stream closes */
    close(tl);
    c = test_connect(path);
    portfwd_req_encode(port, hdr);
    ck_assert_int_eq(write(c, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
    ck_assert_int_eq(pump_read(l, c, rep, sizeof(rep)), (ssize_t)sizeof(rep));
    ck_assert_int_eq(portfwd_reply_parse(rep, sizeof(rep), &st), 0);
    ck_assert_int_eq(st, ECONNREFUSED);
    ck_assert_int_eq(pump_read(l, c, buf, sizeof(buf)), 0);
    close(c);

    /* junk instead of a header: EINVAL, closed */
    c = test_connect(path);
    ck_assert_int_eq(write(c, "GET / HTTP/1.0\r\n", 16), 16);
    ck_assert_int_eq(pump_read(l, c, rep, sizeof(rep)), (ssize_t)sizeof(rep));
    ck_assert_int_eq(portfwd_reply_parse(rep, sizeof(rep), &st), 0);
    ck_assert_int_eq(st, EINVAL);
    ck_assert_int_eq(pump_read(l, c, buf, sizeof(buf)), 0);
    close(c);
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 5);
    ck_assert_uint_eq(portfwd_active(srv), 0);

    /* more than PORTFWD_MAX_CONNS idle streams: the surplus waits in the backlog */
    int many[PORTFWD_MAX_CONNS + 4];
    for (size_t i = 0; i < ELEMENTSOF(many); i++)
        many[i] = test_connect(path);
    for (int i = 0; i < 20; i++)
        loop_run_once(l, 5);
    ck_assert_uint_eq(portfwd_active(srv), PORTFWD_MAX_CONNS);
    for (size_t i = 0; i < ELEMENTSOF(many); i++)
        close(many[i]);
    for (int i = 0; i < 40 && portfwd_active(srv); i++)
        loop_run_once(l, 5);
    ck_assert_uint_eq(portfwd_active(srv), 0);
    portfwd_server_free(srv);
    unlink(path);
    loop_free(l);
}
END_TEST

/* ---- the shim's steering (root, Linux >= 5.9) ---- */

START_TEST(test_steer_any_loopback_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct cvm_err err = {0};
    int self, ns, l, link, c, s;
    socklen_t sl = sizeof(sa);

    if (geteuid() != 0)
        ck_abort_msg("root required: the BPF steering cannot be checked without it");
    self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(self, 0);
    ck_assert_int_eq(unshare(CLONE_NEWNET), 0); /* Check forks each test: ours alone */
    ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(system("ip link set lo up"), 0);
    l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l, 8), 0);
    link = portfwd_steer_attach(ns, l, &err);
    ck_assert_msg(link >= 0, "%s", err.msg);
    ck_assert_int_ne(fcntl(link, F_GETFD) & FD_CLOEXEC, 0);
    for (int port = 1; port < 65536; port += 12345) {
        c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sa.sin_port = htons((uint16_t)port);
        ck_assert_msg(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0, "port %d: %m", port);
        s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        ck_assert_int_ge(s, 0);
        ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
        ck_assert_int_eq(ntohs(sa.sin_port), port); /* the destination, kept */
        close(s), close(c);
    }
    /* 127.0.0.2 is not steered */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    close(c);
    /* closing the link detaches it: nothing left in the netns */
    close(link);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    close(c);
    /* the shim refuses to steer its own netns */
    ck_assert_int_eq(setns(self, CLONE_NEWNET), 0);
    struct portfwd *pf = NULL;
    struct loop *lp;
    ck_assert_int_eq(loop_new(&lp), 0);
    ck_assert_int_eq(portfwd_start(lp, self, "t", NULL, NULL, &pf, &err), -EPERM);
    loop_free(lp);
}
END_TEST

static Suite *portfwd_suite(void)
{
    Suite *s = suite_create("portfwd");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_req_roundtrip_and_rejects);
    tcase_add_test(t, test_reply_roundtrip_and_rejects);
    tcase_add_test(t, test_relay_both_ways_backpressure);
    tcase_add_test(t, test_relay_half_close);
    tcase_add_test(t, test_relay_heads);
    tcase_add_test(t, test_relay_hangup);
    tcase_add_test(t, test_agent_server);
    tcase_add_test(t, test_steer_any_loopback_port);
    suite_add_tcase(s, t);
    return s;
}

CVM_CHECK_MAIN(portfwd_suite)
