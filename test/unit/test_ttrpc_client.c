/* ttrpc client against our server (and a raw peer) over socketpairs: 1,000 concurrent calls
 * answered out of order, deadlines, a lost connection, oversized responses, fd hygiene. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "fd.h"
#include "loop.h"
#include "pb_count.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_frame.h"

#define N_CALLS 1000

static struct loop *L;
static struct ttrpc_server *S;
static struct ttrpc_client *C;
static int fds_before;
static struct ttrpc_call *held[N_CALLS];
static int n_held;

struct result {
    int done;
    int code;
    char msg[128];
    char key[32];
};
static struct result results[N_CALLS];

static void hold(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    (void)p;
    (void)n;
    (void)ud;
    ttrpc_call_set_cancel(call, NULL, NULL);
    held[n_held++] = call;
}

static void echo_key(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    Ttrpc__KeyValue *kv = ttrpc__key_value__unpack(NULL, n, p);
    (void)ud;
    ttrpc_call_reply(call, &kv->base);
    ttrpc__key_value__free_unpacked(kv, NULL);
}

static const struct ttrpc_method methods[] = {{"Hold", hold}, {"Echo", echo_key}};

static void on_reply(const struct ttrpc_result *res, void *data)
{
    struct result *r = data;
    ck_assert_int_eq(r->done, 0); /* exactly once */
    r->done = 1;
    r->code = res->code;
    if (res->code)
        snprintf(r->msg, sizeof(r->msg), "%s", res->message);
    else {
        Ttrpc__KeyValue *kv = ttrpc__key_value__unpack(NULL, res->len, res->payload);
        ck_assert_ptr_nonnull(kv);
        snprintf(r->key, sizeof(r->key), "%s", kv->key);
        ttrpc__key_value__free_unpacked(kv, NULL);
    }
}

static void setup(void)
{
    int sv[2];
    fds_before = fd_count_open();
    n_held = 0;
    memset(results, 0, sizeof(results));
    ck_assert_int_eq(loop_new(&L), 0);
    ck_assert_int_eq(ttrpc_server_new(L, NULL, &S), 0);
    ck_assert_int_eq(ttrpc_server_register(S, "t.Svc", methods, 2, NULL), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(ttrpc_server_add_conn(S, sv[0]), 0);
    ck_assert_int_eq(ttrpc_client_new(L, sv[1], &C), 0);
}

static void teardown(void)
{
    ttrpc_client_free(C);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, 0);
    ttrpc_server_free(S);
    loop_free(L);
    ck_assert_int_eq(fd_count_open(), fds_before);
}

static int call(const char *method, int i, uint64_t timeout_ns)
{
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    char key[32];
    snprintf(key, sizeof(key), "k%d", i);
    kv.key = key;
    return ttrpc_client_call(C, "t.Svc", method, &kv.base, NULL, 0, timeout_ns, on_reply, &results[i]);
}

static void pump_until(int *flag, int ms)
{
    for (int i = 0; i < ms && !*flag; i++)
        loop_run_once(L, 1);
}

START_TEST(thousand_concurrent_calls_out_of_order)
{
    for (int i = 0; i < N_CALLS; i++)
        ck_assert_int_eq(call("Hold", i, 0), 0);
    ck_assert_uint_eq(ttrpc_client_n_pending(C), N_CALLS);
    for (int i = 0; i < 2000 && n_held < N_CALLS; i++)
        loop_run_once(L, 1);
    ck_assert_int_eq(n_held, N_CALLS);
    /* Answer in a scrambled order: every reply must reach its own caller. */
    for (int step = 0; step < N_CALLS; step++) {
        int i = (step * 389) % N_CALLS; /* 389 is coprime with 1000: a permutation */
        Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
        char key[32];
        snprintf(key, sizeof(key), "reply-%d", i);
        kv.key = key;
        ck_assert_int_eq(ttrpc_call_reply(held[i], &kv.base), 0);
    }
    for (int i = 0; i < 5000 && ttrpc_client_n_pending(C) > 0; i++)
        loop_run_once(L, 1);
    ck_assert_uint_eq(ttrpc_client_n_pending(C), 0);
    for (int i = 0; i < N_CALLS; i++) {
        char want[32];
        snprintf(want, sizeof(want), "reply-%d", i);
        ck_assert_int_eq(results[i].done, 1);
        ck_assert_int_eq(results[i].code, 0);
        ck_assert_str_eq(results[i].key, want);
    }
}
END_TEST

START_TEST(deadline_expires_and_late_reply_is_dropped)
{
    ck_assert_int_eq(call("Hold", 0, 50 * 1000000ull), 0);
    ck_assert_int_eq(call("Echo", 1, 0), 0);
    pump_until(&results[1].done, 1000);
    ck_assert_int_eq(results[1].code, 0);
    ck_assert_str_eq(results[1].key, "k1");
    uint64_t t0 = now_ns();
    pump_until(&results[0].done, 2000);
    ck_assert_int_eq(results[0].done, 1);
    ck_assert_int_eq(results[0].code, RPC_DEADLINE_EXCEEDED);
    ck_assert_uint_lt(now_ns() - t0, 1000000000ull);
    /* The server answers late: the client drops it without calling back twice. */
    ck_assert_int_eq(n_held, 1);
    ttrpc_call_reply(held[0], NULL);
    for (int i = 0; i < 20; i++)
        loop_run_once(L, 1);
    ck_assert_int_eq(call("Echo", 2, 0), 0);
    pump_until(&results[2].done, 1000);
    ck_assert_str_eq(results[2].key, "k2");
}
END_TEST

static int closed_cb_count;
static void on_closed(void *d)
{
    (void)d;
    closed_cb_count++;
}

START_TEST(lost_connection_fails_every_pending_call)
{
    closed_cb_count = 0;
    ttrpc_client_on_closed(C, on_closed, NULL);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(call("Hold", i, 0), 0);
    for (int i = 0; i < 100 && n_held < 10; i++)
        loop_run_once(L, 1);
    ttrpc_server_free(S); /* closes the server end */
    S = NULL;
    pump_until(&results[9].done, 1000);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(results[i].done, 1);
        ck_assert_int_eq(results[i].code, RPC_UNAVAILABLE);
        ck_assert_str_eq(results[i].msg, "ttrpc: closed");
    }
    ck_assert_int_eq(closed_cb_count, 1);
    ck_assert(ttrpc_client_is_closed(C));
    ck_assert_int_eq(call("Echo", 11, 0), -ENOTCONN);
    ttrpc_server_new(L, NULL, &S);
}
END_TEST

START_TEST(oversized_response_fails_only_that_call)
{
    /* A raw peer instead of our server, which never sends oversized frames. */
    int sv[2];
    struct ttrpc_client *c2;
    uint8_t hdr[TTRPC_HEADER_LEN];
    struct ttrpc_header h = {.length = TTRPC_MAX_PAYLOAD + 1, .stream_id = 1, .type = TTRPC_TYPE_RESPONSE};
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    uint8_t kvb[64], rb[128];
    struct buf b;
    uint8_t *junk;
    size_t off = 0;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(ttrpc_client_new(L, sv[1], &c2), 0);
    kv.key = "x";
    ck_assert_int_eq(ttrpc_client_call(c2, "t.Svc", "A", &kv.base, NULL, 0, 0, on_reply, &results[0]), 0);
    ck_assert_int_eq(ttrpc_client_call(c2, "t.Svc", "B", &kv.base, NULL, 0, 0, on_reply, &results[1]), 0);
    for (int i = 0; i < 10; i++)
        loop_run_once(L, 1);
    ttrpc_header_encode(&h, hdr);
    ck_assert_int_eq(write_all(sv[0], hdr, sizeof(hdr)), 0);
    junk = calloc(1, h.length);
    fd_set_nonblock(sv[0], 1);
    while (off < h.length) {
        ssize_t n = write(sv[0], junk + off, h.length - off);
        if (n > 0)
            off += (size_t)n;
        loop_run_once(L, 1);
    }
    free(junk);
    fd_set_nonblock(sv[0], 0);
    kv.key = "second";
    resp.payload.len = ttrpc__key_value__pack(&kv, kvb);
    resp.payload.data = kvb;
    buf_init(&b, 4096);
    ttrpc_frame_append(&b, 3, TTRPC_TYPE_RESPONSE, 0, rb, ttrpc__response__pack(&resp, rb));
    ck_assert_int_eq(write_all(sv[0], buf_peek(&b), buf_avail(&b)), 0);
    buf_done(&b);
    pump_until(&results[1].done, 2000);
    ck_assert_int_eq(results[0].code, RPC_RESOURCE_EXHAUSTED);
    ck_assert_int_eq(results[1].code, 0);
    ck_assert_str_eq(results[1].key, "second");
    ttrpc_client_free(c2);
    close(sv[0]);
}
END_TEST

/* A connection bound below the frame cap (the shim's agent connection): a longer reply fails its
 * call as oversized, unbuffered, and the next reply on the same connection goes through. */
START_TEST(connection_bound_skips_longer_replies)
{
    int sv[2];
    struct ttrpc_client *c2;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    static uint8_t kvb[8192], rb[8300];
    static char big[4000];
    struct buf b;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(ttrpc_client_new(L, sv[1], &c2), 0);
    ttrpc_client_set_max_reply(c2, 1024);
    kv.key = "x";
    ck_assert_int_eq(ttrpc_client_call(c2, "t.Svc", "A", &kv.base, NULL, 0, 0, on_reply, &results[0]), 0);
    ck_assert_int_eq(ttrpc_client_call(c2, "t.Svc", "B", &kv.base, NULL, 0, 0, on_reply, &results[1]), 0);
    for (int i = 0; i < 10; i++)
        loop_run_once(L, 1);
    memset(big, 'y', sizeof(big) - 1);
    buf_init(&b, 65536);
    kv.key = big; /* ~4 KB answer to A: over the connection's 1 KiB */
    resp.payload.len = ttrpc__key_value__pack(&kv, kvb);
    resp.payload.data = kvb;
    ttrpc_frame_append(&b, 1, TTRPC_TYPE_RESPONSE, 0, rb, ttrpc__response__pack(&resp, rb));
    kv.key = "second";
    resp.payload.len = ttrpc__key_value__pack(&kv, kvb);
    ttrpc_frame_append(&b, 3, TTRPC_TYPE_RESPONSE, 0, rb, ttrpc__response__pack(&resp, rb));
    ck_assert_int_eq(write_all(sv[0], buf_peek(&b), buf_avail(&b)), 0);
    buf_done(&b);
    pump_until(&results[1].done, 2000);
    pump_until(&results[0].done, 2000);
    ck_assert_int_eq(results[0].code, RPC_RESOURCE_EXHAUSTED);
    ck_assert_msg(strstr(results[0].msg, "exceeds this connection's maximum"), "%s", results[0].msg);
    ck_assert_int_eq(results[1].code, 0);
    ck_assert_str_eq(results[1].key, "second");
    ttrpc_client_free(c2);
    close(sv[0]);
}
END_TEST

/* A per-call reply cap: an answer over it fails that call (RESOURCE_EXHAUSTED) without being
 * decoded; one under it, on the same connection, goes through. */
START_TEST(reply_over_the_call_cap_is_refused)
{
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    kv.key = big; /* Echo answers it back: ~600 bytes */
    ck_assert_int_eq(ttrpc_client_call_max(C, "t.Svc", "Echo", &kv.base, NULL, 0, 0, 512, on_reply, &results[0]), 0);
    kv.key = "small";
    ck_assert_int_eq(ttrpc_client_call_max(C, "t.Svc", "Echo", &kv.base, NULL, 0, 0, 512, on_reply, &results[1]), 0);
    kv.key = big; /* no cap given: the frame cap */
    ck_assert_int_eq(ttrpc_client_call_max(C, "t.Svc", "Echo", &kv.base, NULL, 0, 0, 0, on_reply, &results[2]), 0);
    pump_until(&results[2].done, 2000);
    pump_until(&results[1].done, 2000);
    pump_until(&results[0].done, 2000);
    ck_assert_int_eq(results[0].code, RPC_RESOURCE_EXHAUSTED);
    ck_assert_msg(strstr(results[0].msg, "exceeds this call's maximum of 512"), "%s", results[0].msg);
    ck_assert_int_eq(results[1].code, 0);
    ck_assert_str_eq(results[1].key, "small");
    ck_assert_int_eq(results[2].code, 0);
    ck_assert_uint_eq(ttrpc_client_n_pending(C), 0);
}
END_TEST

/* pb_count_field: counts top-level occurrences, skips nested bytes, refuses malformed input. */
START_TEST(pb_count_field_counts_and_refuses)
{
    Ttrpc__StringList sl = TTRPC__STRING_LIST__INIT;
    char *items[5] = {"a", "", "ccc", "d", "e"};
    uint8_t b[64];
    size_t n;
    sl.n_list = 5;
    sl.list = items;
    n = ttrpc__string_list__pack(&sl, b);
    ck_assert_int_eq(pb_count_field(b, n, 1), 5);
    ck_assert_int_eq(pb_count_field(b, n, 2), 0);
    ck_assert_int_eq(pb_count_field(NULL, 0, 1), 0);
    ck_assert_int_eq(pb_count_field(b, n - 1, 1), -EBADMSG); /* truncated string */
    /* A KeyValue inside a Request's metadata: field 1 of the nested one is not counted. */
    Ttrpc__Request rq = TTRPC__REQUEST__INIT;
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *kvp[2] = {&kv, &kv};
    kv.key = "k";
    kv.value = "v";
    rq.service = "s";
    rq.n_metadata = 2;
    rq.metadata = kvp;
    rq.timeout_nano = 123456789;
    n = ttrpc__request__pack(&rq, b);
    ck_assert_int_eq(pb_count_field(b, n, 1), 1);
    ck_assert_int_eq(pb_count_field(b, n, 5), 2);
    ck_assert_int_eq(pb_count_field(b, n, 4), 1);
    static const uint8_t bad_wire[] = {0x0b, 0x00};            /* field 1, group start */
    static const uint8_t field0[] = {0x00, 0x01};              /* field number 0 */
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t fixed_short[] = {0x09, 1, 2, 3};      /* 64-bit with 3 bytes */
    static const uint8_t len_past_end[] = {0x0a, 0x05, 'a'};
    static const uint8_t fixed32[] = {0x0d, 1, 2, 3, 4, 0x0d, 1, 2, 3, 4};
    ck_assert_int_eq(pb_count_field(bad_wire, sizeof(bad_wire), 1), -EBADMSG);
    ck_assert_int_eq(pb_count_field(field0, sizeof(field0), 1), -EBADMSG);
    ck_assert_int_eq(pb_count_field(long_varint, sizeof(long_varint), 1), -EBADMSG);
    ck_assert_int_eq(pb_count_field(fixed_short, sizeof(fixed_short), 1), -EBADMSG);
    ck_assert_int_eq(pb_count_field(len_past_end, sizeof(len_past_end), 1), -EBADMSG);
    ck_assert_int_eq(pb_count_field(fixed32, sizeof(fixed32), 1), 2);
}
END_TEST

START_TEST(sync_call_returns_status)
{
    Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
    struct cvm_err err = {0};
    uint8_t *out = NULL;
    size_t len = 0;
    kv.key = "sync";
    ck_assert_int_eq(ttrpc_client_call_sync(C, L, "t.Svc", "Echo", &kv.base, NULL, 0, 0, &out, &len, &err), 0);
    ck_assert_uint_gt(len, 0);
    free(out);
    ck_assert_int_eq(ttrpc_client_call_sync(C, L, "t.Svc", "Missing", &kv.base, NULL, 0, 0, &out, &len, &err),
                     -ENOTSUP);
    ck_assert_int_eq(err.code, RPC_UNIMPLEMENTED);
    ck_assert_str_eq(err.msg, "method Missing");
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("ttrpc_client");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, thousand_concurrent_calls_out_of_order);
    tcase_add_test(tc, deadline_expires_and_late_reply_is_dropped);
    tcase_add_test(tc, lost_connection_fails_every_pending_call);
    tcase_add_test(tc, oversized_response_fails_only_that_call);
    tcase_add_test(tc, connection_bound_skips_longer_replies);
    tcase_add_test(tc, sync_call_returns_status);
    tcase_add_test(tc, reply_over_the_call_cap_is_refused);
    tcase_add_test(tc, pb_count_field_counts_and_refuses);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(client_suite)
