/* QMP: the pure framing/parsing (qmp_parse.c) and the client state machine (qmp.c) driven by
 * a scripted fake QMP server on the other end of a socketpair. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "cleanup.h"
#include "fd.h"
#include "loop.h"
#include "qmp.h"
#include "qmp_parse.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
                 "\"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* ---- pure ---- */

START_TEST(test_frame)
{
    size_t len = 0, used = 0;
    const uint8_t *a = (const uint8_t *)"{\"a\":1}\r\n{\"b\"";
    ck_assert_int_eq(qmp_frame(a, strlen((const char *)a), 64, &len, &used), 1);
    ck_assert_uint_eq(len, 7);
    ck_assert_uint_eq(used, 9);
    ck_assert_int_eq(qmp_frame(a + 9, 4, 64, &len, &used), 0);
    ck_assert_int_eq(qmp_frame((const uint8_t *)"{}\n", 3, 64, &len, &used), 1);
    ck_assert_uint_eq(len, 2);
    ck_assert_uint_eq(used, 3);
    ck_assert_int_eq(qmp_frame((const uint8_t *)"0123456789", 10, 8, &len, &used), -EMSGSIZE);
    ck_assert_int_eq(qmp_frame((const uint8_t *)"012345678\n", 10, 8, &len, &used), -EMSGSIZE);
    ck_assert_int_eq(qmp_frame((const uint8_t *)"01234567\r\n", 10, 8, &len, &used), 1);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(qmp_frame((const uint8_t *)"", 0, 8, &len, &used), 0);
}
END_TEST

static int parse(const char *s, struct qmp_msg *m)
{
    return qmp_parse_line(s, strlen(s), m);
}

START_TEST(test_parse_kinds)
{
    struct qmp_msg m;
    ck_assert_int_eq(parse("{\"QMP\": {\"version\": {}}}", &m), 0);
    ck_assert_int_eq(m.kind, QMP_MSG_GREETING);
    qmp_msg_done(&m);

    ck_assert_int_eq(parse("{\"return\": {\"status\": \"running\"}, \"id\": 42}", &m), 0);
    ck_assert_int_eq(m.kind, QMP_MSG_RETURN);
    ck_assert(m.has_id);
    ck_assert_int_eq(m.id, 42);
    ck_assert_str_eq(json_string_value(json_object_get(m.ret, "status")), "running");
    qmp_msg_done(&m);

    ck_assert_int_eq(parse("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, \"id\": 3}", &m), 0);
    ck_assert_int_eq(m.kind, QMP_MSG_ERROR);
    ck_assert_str_eq(m.err_class, "GenericError");
    ck_assert_str_eq(m.err_desc, "no");
    ck_assert_int_eq(m.id, 3);
    qmp_msg_done(&m);

    ck_assert_int_eq(parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
                           "\"SHUTDOWN\", \"data\": {\"guest\": true}}", &m), 0);
    ck_assert_int_eq(m.kind, QMP_MSG_EVENT);
    ck_assert_str_eq(m.event, "SHUTDOWN");
    ck_assert_ptr_nonnull(m.data);
    qmp_msg_done(&m);

    ck_assert_int_eq(parse("{\"return\": {}, \"id\": \"str\"}", &m), 0);
    ck_assert(!m.has_id);
    qmp_msg_done(&m);
    ck_assert_int_eq(parse("{\"return\": {}, \"id\": -1}", &m), 0);
    ck_assert(!m.has_id);
    qmp_msg_done(&m);
}
END_TEST

START_TEST(test_parse_garbage)
{
    static const char *bad[] = {
        "",  "x", "[1,2]", "\"s\"", "{}", "{\"foo\": 1}", "{\"return\": 1",
        "{\"event\": 5}", "{\"event\": \"\"}", "{\"error\": \"x\", \"id\": 1}",
        "{\"error\": {\"desc\": \"no class\"}}", "{\"QMP\": 1}",
        "{\"return\": {}, \"id\": 1, \"id\": 2}",
        "{\"event\": \"A_NAME_THAT_IS_FAR_TOO_LONG_TO_BE_ANY_QEMU_EVENT_0123456789_ABCDEFGHIJ\"}",
    };
    struct qmp_msg m;
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        ck_assert_msg(parse(bad[i], &m) == -EBADMSG, "accepted: %s", bad[i]);
        ck_assert_ptr_null(m.root);
    }
}
END_TEST

START_TEST(test_encode)
{
    _cleanup_free_ char *s = NULL;
    size_t n = 0;
    json_t *args = json_pack("{s:s}", "device", "x");
    ck_assert_int_eq(qmp_encode_command("stop", NULL, 5, &s, &n), 0);
    ck_assert_str_eq(s, "{\"execute\":\"stop\",\"id\":5}\r\n");
    ck_assert_uint_eq(n, strlen(s));
    free(s);
    ck_assert_int_eq(qmp_encode_command("x", args, 6, &s, &n), 0);
    ck_assert_str_eq(s, "{\"execute\":\"x\",\"arguments\":{\"device\":\"x\"},\"id\":6}\r\n");
    json_decref(args);
}
END_TEST

/* ---- client against a scripted fake server ---- */

struct rec {
    int ready, closed, closed_r;
    char events[8][32];
    int n_events;
    int replies[8]; /* order of completions, by tag */
    int reply_r[8];
    char reply_txt[8][64];
    int n_replies;
    bool free_on_event;
    struct qmp *q;
};

struct call {
    struct rec *rec;
    int tag;
};

static void on_ready(struct qmp *q, void *data)
{
    (void)q;
    ((struct rec *)data)->ready++;
}

static void on_event(struct qmp *q, const char *name, json_t *d, void *data)
{
    struct rec *r = data;
    (void)d;
    if (r->n_events < 8)
        snprintf(r->events[r->n_events++], 32, "%s", name);
    if (r->free_on_event) {
        qmp_free(q);
        r->q = NULL;
    }
}

static void on_closed(struct qmp *q, int r, void *data)
{
    (void)q;
    ((struct rec *)data)->closed++;
    ((struct rec *)data)->closed_r = r;
}

static void on_reply(struct qmp *q, int r, json_t *ret, const char *cls, const char *desc,
                     void *data)
{
    struct call *c = data;
    struct rec *rc = c->rec;
    (void)q;
    rc->replies[rc->n_replies] = c->tag;
    rc->reply_r[rc->n_replies] = r;
    if (r == 0 && json_is_object(ret) && json_object_get(ret, "status"))
        snprintf(rc->reply_txt[rc->n_replies], 64, "%s",
                 json_string_value(json_object_get(ret, "status")));
    else if (r == -EIO)
        snprintf(rc->reply_txt[rc->n_replies], 64, "%s:%s", cls, desc);
    rc->n_replies++;
}

struct fixture {
    struct loop *loop;
    int srv; /* the fake server's end (blocking) */
    struct rec rec;
};

static void fx_init(struct fixture *f)
{
    int sv[2];
    static const struct qmp_callbacks cb = {on_ready, on_event, on_closed, NULL};
    struct qmp_callbacks c = cb;
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(loop_new(&f->loop), 0);
    c.data = &f->rec;
    ck_assert_int_eq(qmp_new(f->loop, sv[0], &c, &f->rec.q), 0);
    f->srv = sv[1];
}

static void fx_done(struct fixture *f)
{
    qmp_free(f->rec.q);
    loop_run_once(f->loop, 0);
    loop_free(f->loop);
    close(f->srv);
}

static void srv_send(struct fixture *f, const char *s)
{
    ck_assert_int_eq(write_all(f->srv, s, strlen(s)), 0);
}

/* Spin the loop until cond holds (5 s cap). */
#define SPIN(f, cond)                                                                             \
    do {                                                                                          \
        unsigned long long _end = now_ns() + 5000000000ULL;                                       \
        while (!(cond) && now_ns() < _end)                                                        \
            loop_run_once((f)->loop, 50);                                                         \
        ck_assert_msg((cond), "timed out waiting for " #cond);                                    \
    } while (0)

/* Read one line the client sent (blocking, 5 s cap). */
static void srv_expect(struct fixture *f, const char *want)
{
    char line[512];
    size_t n = 0;
    while (n < sizeof(line) - 1) {
        struct pollfd p = {.fd = f->srv, .events = POLLIN};
        loop_run_once(f->loop, 0);
        if (poll(&p, 1, 20) == 1) {
            ck_assert_int_eq(read(f->srv, line + n, 1), 1);
            if (line[n++] == '\n')
                break;
        }
    }
    line[n] = '\0';
    ck_assert_str_eq(line, want);
}

static void negotiate(struct fixture *f)
{
    srv_send(f, GREETING);
    srv_expect(f, "{\"execute\":\"qmp_capabilities\",\"id\":0}\r\n");
    ck_assert_int_eq(f->rec.ready, 0);
    srv_send(f, "{\"return\": {}, \"id\": 0}\r\n");
    SPIN(f, f->rec.ready == 1);
}

START_TEST(test_negotiation)
{
    struct fixture f;
    fx_init(&f);
    ck_assert_int_eq(qmp_execute(f.rec.q, "stop", NULL, on_reply, NULL), -ENOTCONN);
    negotiate(&f);
    ck_assert(qmp_is_ready(f.rec.q));
    fx_done(&f);
}
END_TEST

START_TEST(test_out_of_order_with_events)
{
    struct fixture f;
    struct call a, b, c;
    fx_init(&f);
    negotiate(&f);
    a = (struct call){&f.rec, 1};
    b = (struct call){&f.rec, 2};
    c = (struct call){&f.rec, 3};
    ck_assert_int_eq(qmp_execute(f.rec.q, "query-status", NULL, on_reply, &a), 0);
    ck_assert_int_eq(qmp_execute(f.rec.q, "stop", NULL, on_reply, &b), 0);
    ck_assert_int_eq(qmp_execute(f.rec.q, "cont", NULL, on_reply, &c), 0);
    srv_expect(&f, "{\"execute\":\"query-status\",\"id\":1}\r\n");
    srv_expect(&f, "{\"execute\":\"stop\",\"id\":2}\r\n");
    srv_expect(&f, "{\"execute\":\"cont\",\"id\":3}\r\n");
    /* One write carrying several lines, replies out of order, events between. */
    srv_send(&f, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"STOP\"}\r\n"
                 "{\"return\": {}, \"id\": 2}\r\n"
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": 3}\r\n"
                 "{\"event\": \"RESUME\", \"timestamp\": {}}\r\n"
                 "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 1}\r\n");
    SPIN(&f, f.rec.n_replies == 3);
    ck_assert_int_eq(f.rec.replies[0], 2);
    ck_assert_int_eq(f.rec.reply_r[0], 0);
    ck_assert_int_eq(f.rec.replies[1], 3);
    ck_assert_int_eq(f.rec.reply_r[1], -EIO);
    ck_assert_str_eq(f.rec.reply_txt[1], "GenericError:nope");
    ck_assert_int_eq(f.rec.replies[2], 1);
    ck_assert_str_eq(f.rec.reply_txt[2], "paused");
    ck_assert_int_eq(f.rec.n_events, 2);
    ck_assert_str_eq(f.rec.events[0], "STOP");
    ck_assert_str_eq(f.rec.events[1], "RESUME");
    /* A reply split across writes. */
    ck_assert_int_eq(qmp_execute(f.rec.q, "query-status", NULL, on_reply, &a), 0);
    srv_expect(&f, "{\"execute\":\"query-status\",\"id\":4}\r\n");
    srv_send(&f, "{\"return\": {\"status\": \"run");
    loop_run_once(f.loop, 20);
    ck_assert_int_eq(f.rec.n_replies, 3);
    srv_send(&f, "ning\"}, \"id\": 4}\r\n");
    SPIN(&f, f.rec.n_replies == 4);
    ck_assert_str_eq(f.rec.reply_txt[3], "running");
    fx_done(&f);
}
END_TEST

START_TEST(test_garbage_skipped)
{
    struct fixture f;
    struct call a;
    fx_init(&f);
    negotiate(&f);
    a = (struct call){&f.rec, 1};
    ck_assert_int_eq(qmp_execute(f.rec.q, "stop", NULL, on_reply, &a), 0);
    srv_send(&f, "garbage\r\n\r\n{\"return\": {}, \"id\": 99}\r\n[1]\r\n{\"event\": 7}\r\n"
                 "{\"return\": {}, \"id\": \"x\"}\r\n{\"return\": {}, \"id\": 1}\r\n");
    SPIN(&f, f.rec.n_replies == 1);
    ck_assert_int_eq(f.rec.reply_r[0], 0);
    ck_assert_uint_eq(qmp_garbage_count(f.rec.q), 4);
    ck_assert_int_eq(f.rec.closed, 0);
    ck_assert(qmp_is_ready(f.rec.q));
    fx_done(&f);
}
END_TEST

START_TEST(test_bad_greeting)
{
    struct fixture f;
    fx_init(&f);
    srv_send(&f, "this is not QMP\r\n");
    SPIN(&f, f.rec.closed == 1);
    ck_assert_int_eq(f.rec.closed_r, -EPROTO);
    ck_assert_int_eq(f.rec.ready, 0);
    fx_done(&f);
}
END_TEST

START_TEST(test_caps_refused)
{
    struct fixture f;
    fx_init(&f);
    srv_send(&f, GREETING);
    srv_expect(&f, "{\"execute\":\"qmp_capabilities\",\"id\":0}\r\n");
    srv_send(&f, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"x\"}, \"id\": 0}\r\n");
    SPIN(&f, f.rec.closed == 1);
    ck_assert_int_eq(f.rec.closed_r, -EPROTO);
    ck_assert_int_eq(f.rec.ready, 0);
    fx_done(&f);
}
END_TEST

START_TEST(test_overlong_line)
{
    struct fixture f;
    struct call a;
    char *big = malloc(QMP_LINE_MAX + 100);
    fx_init(&f);
    negotiate(&f);
    a = (struct call){&f.rec, 1};
    ck_assert_int_eq(qmp_execute(f.rec.q, "stop", NULL, on_reply, &a), 0);
    memset(big, 'x', QMP_LINE_MAX + 100);
    ck_assert_int_eq(fd_set_nonblock(f.srv, 1), 0);
    {
        size_t off = 0;
        unsigned long long end = now_ns() + 5000000000ULL;
        while (off < QMP_LINE_MAX + 100 && !f.rec.closed && now_ns() < end) {
            ssize_t n = write(f.srv, big + off, QMP_LINE_MAX + 100 - off);
            if (n > 0)
                off += (size_t)n;
            loop_run_once(f.loop, 10);
        }
    }
    SPIN(&f, f.rec.closed == 1);
    ck_assert_int_eq(f.rec.closed_r, -EMSGSIZE);
    ck_assert_int_eq(f.rec.n_replies, 1);
    ck_assert_int_eq(f.rec.reply_r[0], -ECONNRESET);
    ck_assert_int_eq(qmp_execute(f.rec.q, "stop", NULL, on_reply, &a), -ENOTCONN);
    free(big);
    fx_done(&f);
}
END_TEST

START_TEST(test_eof_fails_pending)
{
    struct fixture f;
    struct call a;
    fx_init(&f);
    negotiate(&f);
    a = (struct call){&f.rec, 1};
    ck_assert_int_eq(qmp_execute(f.rec.q, "quit", NULL, on_reply, &a), 0);
    srv_expect(&f, "{\"execute\":\"quit\",\"id\":1}\r\n");
    srv_send(&f, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}\r\n");
    f.srv = safe_close(f.srv);
    SPIN(&f, f.rec.closed == 1);
    ck_assert_int_eq(f.rec.closed_r, 0);
    ck_assert_int_eq(f.rec.n_events, 1);
    ck_assert_str_eq(f.rec.events[0], "SHUTDOWN");
    ck_assert_int_eq(f.rec.reply_r[0], -ECONNRESET);
    fx_done(&f);
}
END_TEST

START_TEST(test_free_from_callback)
{
    struct fixture f;
    struct call a;
    int fds_before;
    fx_init(&f);
    fds_before = fd_count_open();
    negotiate(&f);
    a = (struct call){&f.rec, 1};
    ck_assert_int_eq(qmp_execute(f.rec.q, "stop", NULL, on_reply, &a), 0);
    f.rec.free_on_event = true;
    srv_send(&f, "{\"event\": \"STOP\"}\r\n{\"event\": \"RESUME\"}\r\n");
    SPIN(&f, f.rec.q == NULL);
    loop_run_once(f.loop, 10);
    ck_assert_int_eq(f.rec.n_events, 1); /* nothing dispatched after the free */
    ck_assert_int_eq(f.rec.n_replies, 1);
    ck_assert_int_eq(f.rec.reply_r[0], -ECANCELED);
    ck_assert_int_eq(fd_count_open(), fds_before - 1);
    fx_done(&f);
}
END_TEST

static Suite *qmp_suite(void)
{
    Suite *s = suite_create("qmp");
    TCase *pure = tcase_create("parse");
    TCase *cl = tcase_create("client");
    tcase_add_test(pure, test_frame);
    tcase_add_test(pure, test_parse_kinds);
    tcase_add_test(pure, test_parse_garbage);
    tcase_add_test(pure, test_encode);
    tcase_add_test(cl, test_negotiation);
    tcase_add_test(cl, test_out_of_order_with_events);
    tcase_add_test(cl, test_garbage_skipped);
    tcase_add_test(cl, test_bad_greeting);
    tcase_add_test(cl, test_caps_refused);
    tcase_add_test(cl, test_overlong_line);
    tcase_add_test(cl, test_eof_fails_pending);
    tcase_add_test(cl, test_free_from_callback);
    suite_add_tcase(s, pure);
    suite_add_tcase(s, cl);
    return s;
}

CVM_CHECK_MAIN(qmp_suite)
