/* ttrpc server over socketpairs: dispatch, error statuses, ordering, survival after bad
 * frames, cancellation on close, credentials, and no leaked fds on any path. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "fd.h"
#include "loop.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_frame.h"

static struct loop *L;
static struct ttrpc_server *S;
static int peer = -1; /* the raw client end */
static int fds_before;
static struct ttrpc_call *held[8];
static int n_held, n_cancelled;

static void echo(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Ttrpc__KeyValue *kv = ttrpc__key_value__unpack(NULL, n, p);
    const char *ns = ttrpc_call_metadata(call, "containerd-namespace-ttrpc");
    (void)ud;
    if (!kv) {
        ttrpc_call_reply_error(call, RPC_INTERNAL, "ttrpc: error unmarshalling payload");
        return;
    }
    if (ns) {
        free(kv->value);
        kv->value = strdup(ns);
    }
    ttrpc_call_reply(call, &kv->base);
    ttrpc__key_value__free_unpacked(kv, NULL);
}

static void on_cancel(struct ttrpc_call *call, void *data)
{
    (void)call;
    (void)data;
    n_cancelled++;
}

static void hold(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    (void)p;
    (void)n;
    (void)ud;
    ttrpc_call_set_cancel(call, on_cancel, NULL);
    held[n_held++] = call;
}

static void fail_enoent(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    struct cvm_err err = {0};
    (void)p;
    (void)n;
    (void)ud;
    cvm_err_set(&err, -ENOENT, "container c1: not found");
    ttrpc_call_reply_errno(call, -ENOENT, &err);
}

static const struct ttrpc_method methods[] = {
    {"Echo", echo},
    {"Hold", hold},
    {"Fail", fail_enoent},
};

static void setup(void)
{
    int sv[2];
    fds_before = fd_count_open();
    n_held = n_cancelled = 0;
    ck_assert_int_eq(loop_new(&L), 0);
    ck_assert_int_eq(ttrpc_server_new(L, NULL, &S), 0);
    ck_assert_int_eq(ttrpc_server_register(S, "test.v1.Svc", methods, 3, NULL), 0);
    ck_assert_int_eq(ttrpc_server_register(S, "test.v1.Svc", methods, 3, NULL), -EEXIST);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(S, sv[0]), 0);
    peer = sv[1];
}

static void teardown(void)
{
    if (peer >= 0)
        close(peer);
    peer = -1;
    for (int i = 0; i < 5; i++)
        loop_run_once(L, 0);
    ttrpc_server_free(S);
    loop_free(L);
    ck_assert_int_eq(fd_count_open(), fds_before);
}

static void send_request(uint32_t id, const char *svc, const char *method, const char *key,
                         const char *ns)
{
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, md = TTRPC__KEY_VALUE__INIT, *mdp = &md;
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    uint8_t payload[512], frame[1024];
    struct buf b;

    kv.key = (char *)key;
    kv.value = "v";
    req.service = (char *)svc;
    req.method = (char *)method;
    req.payload.len = ttrpc__key_value__pack(&kv, payload);
    req.payload.data = payload;
    if (ns) {
        md.key = "containerd-namespace-ttrpc";
        md.value = (char *)ns;
        req.n_metadata = 1;
        req.metadata = &mdp;
    }
    size_t n = ttrpc__request__pack(&req, frame);
    buf_init(&b, 4096);
    ck_assert_int_eq(ttrpc_frame_append(&b, id, TTRPC_TYPE_REQUEST, 0, frame, n), 0);
    ck_assert_int_eq(write_all(peer, buf_peek(&b), buf_avail(&b)), 0);
    buf_done(&b);
}

/* Pump the server loop until one response frame can be read from the peer. */
static Ttrpc__Response *recv_response(uint32_t *ret_id)
{
    static struct ttrpc_reader rd;
    static int init;
    struct ttrpc_frame f;
    if (!init) {
        ttrpc_reader_init(&rd, 0);
        init = 1;
    }
    for (int i = 0; i < 2000; i++) {
        if (ttrpc_reader_next(&rd, &f) == 1) {
            ck_assert_uint_eq(f.hdr.type, TTRPC_TYPE_RESPONSE);
            *ret_id = f.hdr.stream_id;
            return ttrpc__response__unpack(NULL, f.hdr.length, f.payload);
        }
        loop_run_once(L, 5);
        struct pollfd p = {.fd = peer, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            uint8_t tmp[65536];
            ssize_t n = read(peer, tmp, sizeof(tmp));
            ck_assert_int_gt(n, 0);
            ttrpc_reader_feed(&rd, tmp, (size_t)n);
        }
    }
    ck_abort_msg("no response");
    return NULL;
}

static void expect_status(uint32_t want_id, int code, const char *msg)
{
    uint32_t id;
    Ttrpc__Response *r = recv_response(&id);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(id, want_id);
    ck_assert_ptr_nonnull(r->status);
    ck_assert_int_eq(r->status->code, code);
    if (msg)
        ck_assert_str_eq(r->status->message, msg);
    ttrpc__response__free_unpacked(r, NULL);
}

static void expect_echo(uint32_t want_id, const char *key, const char *value)
{
    uint32_t id;
    Ttrpc__Response *r = recv_response(&id);
    Ttrpc__KeyValue *kv;
    ck_assert_uint_eq(id, want_id);
    ck_assert(r->status == NULL || r->status->code == 0);
    kv = ttrpc__key_value__unpack(NULL, r->payload.len, r->payload.data);
    ck_assert_ptr_nonnull(kv);
    ck_assert_str_eq(kv->key, key);
    ck_assert_str_eq(kv->value, value);
    ttrpc__key_value__free_unpacked(kv, NULL);
    ttrpc__response__free_unpacked(r, NULL);
}

START_TEST(dispatch_and_metadata)
{
    send_request(1, "test.v1.Svc", "Echo", "hello", NULL);
    expect_echo(1, "hello", "v");
    send_request(3, "test.v1.Svc", "Echo", "k", "default");
    expect_echo(3, "k", "default");
}
END_TEST

START_TEST(unknown_service_and_method)
{
    send_request(1, "no.such.Svc", "Echo", "x", NULL);
    expect_status(1, RPC_UNIMPLEMENTED, "service no.such.Svc");
    send_request(3, "test.v1.Svc", "Nope", "x", NULL);
    expect_status(3, RPC_UNIMPLEMENTED, "method Nope");
    send_request(5, "test.v1.Svc", "Fail", "x", NULL);
    expect_status(5, RPC_NOT_FOUND, "container c1: not found");
    send_request(7, "test.v1.Svc", "Echo", "still-alive", NULL);
    expect_echo(7, "still-alive", "v");
}
END_TEST

START_TEST(stream_id_rules)
{
    send_request(2, "test.v1.Svc", "Echo", "x", NULL);
    expect_status(2, RPC_INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
    send_request(5, "test.v1.Svc", "Echo", "a", NULL);
    expect_echo(5, "a", "v");
    send_request(5, "test.v1.Svc", "Echo", "b", NULL);
    expect_status(5, RPC_INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
    send_request(3, "test.v1.Svc", "Echo", "c", NULL);
    expect_status(3, RPC_INVALID_ARGUMENT, NULL);
}
END_TEST

START_TEST(malformed_and_zero_length_requests)
{
    struct buf b;
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    buf_init(&b, 4096);
    ttrpc_frame_append(&b, 1, TTRPC_TYPE_REQUEST, 0, garbage, sizeof(garbage));
    ttrpc_frame_append(&b, 3, TTRPC_TYPE_REQUEST, 0, NULL, 0);
    /* Unknown frame types are ignored, as by ttrpc 1.1. */
    ttrpc_frame_append(&b, 5, 9, 0, "zz", 2);
    ck_assert_int_eq(write_all(peer, buf_peek(&b), buf_avail(&b)), 0);
    buf_done(&b);
    expect_status(1, RPC_INVALID_ARGUMENT, NULL);
    expect_status(3, RPC_UNIMPLEMENTED, "service ");
    send_request(7, "test.v1.Svc", "Echo", "after", NULL);
    expect_echo(7, "after", "v");
}
END_TEST

START_TEST(oversized_request_answered_connection_survives)
{
    struct ttrpc_header h = {.length = TTRPC_MAX_PAYLOAD + 100, .stream_id = 1, .type = 1};
    uint8_t hdr[TTRPC_HEADER_LEN];
    uint8_t *junk = calloc(1, h.length);
    size_t off = 0;
    ttrpc_header_encode(&h, hdr);
    ck_assert_int_eq(write_all(peer, hdr, sizeof(hdr)), 0);
    fd_set_nonblock(peer, 1);
    while (off < h.length) {
        ssize_t n = write(peer, junk + off, h.length - off);
        if (n > 0)
            off += (size_t)n;
        loop_run_once(L, 1);
    }
    fd_set_nonblock(peer, 0);
    free(junk);
    expect_status(1, RPC_RESOURCE_EXHAUSTED,
                  "message length 4194404 exceed maximum message size of 4194304");
    send_request(3, "test.v1.Svc", "Echo", "survived", NULL);
    expect_echo(3, "survived", "v");
}
END_TEST

START_TEST(out_of_order_replies_and_cancel_on_close)
{
    send_request(1, "test.v1.Svc", "Hold", "w", NULL);
    send_request(3, "test.v1.Svc", "Hold", "w", NULL);
    send_request(5, "test.v1.Svc", "Echo", "quick", NULL);
    expect_echo(5, "quick", "v"); /* answered while 1 and 3 are pending */
    ck_assert_int_eq(n_held, 2);
    ttrpc_call_reply_error(held[1], RPC_NOT_FOUND, "second first");
    expect_status(3, RPC_NOT_FOUND, "second first");
    /* The client goes away with call 1 pending: its cancel callback runs, nothing leaks. */
    close(peer);
    peer = -1;
    for (int i = 0; i < 10 && ttrpc_server_n_conns(S) > 0; i++)
        loop_run_once(L, 10);
    ck_assert_uint_eq(ttrpc_server_n_conns(S), 0);
    ck_assert_int_eq(n_cancelled, 1);
}
END_TEST

START_TEST(peer_closes_mid_frame)
{
    static const uint8_t partial[] = {0, 0, 0, 50, 0, 0, 0, 1, 1, 0, 0x0a, 0x05};
    ck_assert_int_eq(write_all(peer, partial, sizeof(partial)), 0);
    close(peer);
    peer = -1;
    for (int i = 0; i < 10 && ttrpc_server_n_conns(S) > 0; i++)
        loop_run_once(L, 10);
    ck_assert_uint_eq(ttrpc_server_n_conns(S), 0);
}
END_TEST

START_TEST(listener_checks_peer_credentials)
{
    char path[] = "/tmp/ttrpc-test-XXXXXX";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd, cfd, status;
    pid_t pid;

    ck_assert_ptr_nonnull(mkdtemp(path));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_ge(listen(lfd, 16), 0);
    chmod(path, 0755);
    chmod(sa.sun_path, 0777);
    ttrpc_server_free(S);
    struct ttrpc_server_opts o = {.require_same_user = true};
    ck_assert_int_eq(ttrpc_server_new(L, &o, &S), 0);
    ttrpc_server_register(S, "test.v1.Svc", methods, 3, NULL);
    ck_assert_int_eq(ttrpc_server_add_listener(S, lfd), 0);

    /* Same user: served. */
    ck_assert_int_eq(ttrpc_dial_unix(sa.sun_path, &cfd), 0);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, 10);
    ck_assert_uint_eq(ttrpc_server_n_conns(S), 1);
    close(cfd);

    /* Another uid: rejected (the connection is closed without a byte). */
    pid = fork();
    if (pid == 0) {
        char c;
        int fd;
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        if (ttrpc_dial_unix(sa.sun_path, &fd) < 0)
            _exit(4);
        fd_set_nonblock(fd, 0);
        _exit(read(fd, &c, 1) == 0 ? 0 : 5);
    }
    for (int i = 0; i < 50; i++) {
        loop_run_once(L, 10);
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
    }
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, 10);
    ck_assert_uint_eq(ttrpc_server_n_conns(S), 0);
    ttrpc_server_free(S);
    S = NULL;
    ttrpc_server_new(L, NULL, &S);
    close(lfd);
    unlink(sa.sun_path);
    rmdir(path);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("ttrpc_server");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dispatch_and_metadata);
    tcase_add_test(tc, unknown_service_and_method);
    tcase_add_test(tc, stream_id_rules);
    tcase_add_test(tc, malformed_and_zero_length_requests);
    tcase_add_test(tc, oversized_request_answered_connection_survives);
    tcase_add_test(tc, out_of_order_replies_and_cancel_on_close);
    tcase_add_test(tc, peer_closes_mid_frame);
    tcase_add_test(tc, listener_checks_peer_credentials);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(server_suite)
