/* shim/events.c against an in-process ttrpc server speaking Events/Forward: envelope contents,
 * order kept across refused connects and failed calls, bounded queue, bad topics, flush. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shim/events/events.h"
#include "check_main.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "fd.h"
#include "loop.h"
#include "ttrpc.h"

struct fake {
    struct loop *loop;
    struct ttrpc_server *srv;
    int refuse_dials;   /* dial failures before accepting */
    int fail_calls;     /* Forward calls answered with fail_code (0: UNAVAILABLE) first */
    int fail_code;
    int n_dials;
    char topics[64][64];
    char ids[64][32];
    int n;
    int bad_envelope;
};

static void forward(struct ttrpc_call *call, const uint8_t *p, size_t n, void *ud)
{
    struct fake *f = ud;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req =
        containerd__services__events__ttrpc__v1__forward_request__unpack(NULL, n, p);
    if (!req || !req->envelope) {
        ttrpc_call_reply_error(call, 13, "bad");
        return;
    }
    if (f->fail_calls > 0) {
        f->fail_calls--;
        ttrpc_call_reply_error(call, f->fail_code ? f->fail_code : 14, "try again");
        containerd__services__events__ttrpc__v1__forward_request__free_unpacked(req, NULL);
        return;
    }
    Containerd__Services__Events__Ttrpc__V1__Envelope *e = req->envelope;
    if (!e->timestamp || e->timestamp->seconds <= 0 || strcmp(e->namespace_, "ns1") != 0 || !e->event ||
        strcmp(ttrpc_call_metadata(call, "containerd-namespace-ttrpc") ?: "", "ns1") != 0)
        f->bad_envelope++;
    if (f->n < 64) {
        snprintf(f->topics[f->n], sizeof(f->topics[0]), "%s|%s", e->topic, e->event->type_url);
        Containerd__Events__TaskExit *x = NULL;
        if (strcmp(e->event->type_url, "containerd.events.TaskExit") == 0)
            x = containerd__events__task_exit__unpack(NULL, e->event->value.len, e->event->value.data);
        snprintf(f->ids[f->n], sizeof(f->ids[0]), "%s", x ? x->id : "");
        if (x)
            containerd__events__task_exit__free_unpacked(x, NULL);
        f->n++;
    }
    containerd__services__events__ttrpc__v1__forward_request__free_unpacked(req, NULL);
    ttrpc_call_reply(call, NULL);
}

static const struct ttrpc_method methods[] = { { "Forward", forward } };

static int dial(void *data, int *ret_fd)
{
    struct fake *f = data;
    int sp[2];
    f->n_dials++;
    if (f->refuse_dials > 0) {
        f->refuse_dials--;
        return -ECONNREFUSED;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
        return -errno;
    ck_assert_int_eq(ttrpc_server_add_conn(f->srv, sp[1]), 0);
    *ret_fd = sp[0];
    return 0;
}

static void setup_fake(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(loop_new(&f->loop), 0);
    struct ttrpc_server_opts o = { 0 };
    ck_assert_int_eq(ttrpc_server_new(f->loop, &o, &f->srv), 0);
    ck_assert_int_eq(ttrpc_server_register(f->srv, "containerd.services.events.ttrpc.v1.Events", methods, 1, f), 0);
}

static void publish_exit(struct evt_publisher *p, const char *id)
{
    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    ev.container_id = "c1";
    ev.id = (char *)id;
    ev.exit_status = 3;
    ck_assert_int_eq(evt_publish(p, "/tasks/exit", &ev.base), 0);
}

START_TEST(test_order_and_envelope)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    f.refuse_dials = 2; /* containerd not there yet */
    f.fail_calls = 2;   /* then two failed Forwards */
    ck_assert_int_eq(evt_new(f.loop, "/nonexistent", "ns1", dial, &f, &p), 0);
    evt_set_backoff_ms(p, 2);
    Containerd__Events__TaskCreate c = CONTAINERD__EVENTS__TASK_CREATE__INIT;
    c.container_id = "c1";
    ck_assert_int_eq(evt_publish(p, "/tasks/create", &c.base), 0);
    Containerd__Events__TaskStart s = CONTAINERD__EVENTS__TASK_START__INIT;
    s.container_id = "c1";
    ck_assert_int_eq(evt_publish(p, "/tasks/start", &s.base), 0);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i);
        publish_exit(p, id);
    }
    Containerd__Events__TaskDelete d = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    d.container_id = "c1";
    ck_assert_int_eq(evt_publish(p, "/tasks/delete", &d.base), 0);
    ck_assert_int_eq(evt_flush(p, 5000), 0);
    ck_assert_int_eq(f.n, 13);
    ck_assert_str_eq(f.topics[0], "/tasks/create|containerd.events.TaskCreate");
    ck_assert_str_eq(f.topics[1], "/tasks/start|containerd.events.TaskStart");
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i);
        ck_assert_str_eq(f.topics[2 + i], "/tasks/exit|containerd.events.TaskExit");
        ck_assert_str_eq(f.ids[2 + i], id);
    }
    ck_assert_str_eq(f.topics[12], "/tasks/delete|containerd.events.TaskDelete");
    ck_assert_int_eq(f.bad_envelope, 0);
    ck_assert_int_ge(f.n_dials, 3);
    ck_assert_uint_eq(evt_sent(p), 13);
    ck_assert_uint_eq(evt_dropped(p), 0);
    evt_free(p);
    ttrpc_server_free(f.srv);
    for (int i = 0; i < 3; i++) /* deferred frees of closed connections */
        loop_run_once(f.loop, 0);
    loop_free(f.loop);
}
END_TEST

static void teardown_fake(struct fake *f, struct evt_publisher *p)
{
    evt_free(p);
    ttrpc_server_free(f->srv);
    for (int i = 0; i < 3; i++) /* deferred frees of closed connections */
        loop_run_once(f->loop, 0);
    loop_free(f->loop);
}

static void publish_oom(struct evt_publisher *p, int expect)
{
    Containerd__Events__TaskOOM o = CONTAINERD__EVENTS__TASK_OOM__INIT;
    o.container_id = "c1";
    ck_assert_int_eq(evt_publish(p, "/tasks/oom", &o.base), expect);
}

/* A droppable event is given up after EVT_MAX_ATTEMPTS failed sends; order is kept. */
START_TEST(test_drop_after_max_attempts_keeps_order)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    f.fail_calls = EVT_MAX_ATTEMPTS; /* the first event is given up, the second still goes */
    ck_assert_int_eq(evt_new(f.loop, "/x", "ns1", dial, &f, &p), 0);
    evt_set_backoff_ms(p, 1);
    publish_oom(p, 0);
    publish_exit(p, "second");
    ck_assert_int_eq(evt_flush(p, 5000), 0);
    ck_assert_int_eq(f.n, 1);
    ck_assert_str_eq(f.ids[0], "second");
    ck_assert_uint_eq(evt_dropped(p), 1);
    teardown_fake(&f, p);
}
END_TEST

/* containerd unreachable or failing for longer than EVT_MAX_ATTEMPTS sends: an exit is kept
 * and goes once containerd answers, before what was published after it. */
START_TEST(test_exit_survives_containerd_down)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    f.refuse_dials = 3;
    f.fail_calls = 3 * EVT_MAX_ATTEMPTS; /* UNAVAILABLE */
    ck_assert_int_eq(evt_new(f.loop, "/x", "ns1", dial, &f, &p), 0);
    evt_set_backoff_ms(p, 1);
    publish_exit(p, "first");
    publish_exit(p, "second");
    ck_assert_int_eq(evt_flush(p, 10000), 0);
    ck_assert_int_eq(f.n, 2);
    ck_assert_str_eq(f.ids[0], "first");
    ck_assert_str_eq(f.ids[1], "second");
    ck_assert_uint_eq(evt_dropped(p), 0);
    teardown_fake(&f, p);
}
END_TEST

/* No subscriber (cvm-runtime's daemons): nothing is queued or dialled, flush returns at once,
 * a bad topic is still refused. */
START_TEST(test_no_subscriber_drops_without_waiting)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    ck_assert_int_eq(evt_new(f.loop, NULL, "ns1", dial, &f, &p), 0);
    publish_exit(p, "first");
    ck_assert_uint_eq(evt_queued(p), 0);
    ck_assert_uint_eq(evt_dropped(p), 1);
    ck_assert_int_eq(evt_flush(p, 0), 0);
    ck_assert_int_eq(f.n_dials, 0);
    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    ck_assert_int_eq(evt_publish(p, "no-slash", &ev.base), -EINVAL);
    teardown_fake(&f, p);
}
END_TEST

/* containerd's own verdict on an exit (INVALID_ARGUMENT) is final: retrying it would hold
 * every later event forever, so it is given up after EVT_MAX_ATTEMPTS like the rest. */
START_TEST(test_exit_refused_by_containerd_is_given_up)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    f.fail_calls = EVT_MAX_ATTEMPTS;
    f.fail_code = 3;
    ck_assert_int_eq(evt_new(f.loop, "/x", "ns1", dial, &f, &p), 0);
    evt_set_backoff_ms(p, 1);
    publish_exit(p, "first");
    publish_exit(p, "second");
    ck_assert_int_eq(evt_flush(p, 5000), 0);
    ck_assert_int_eq(f.n, 1);
    ck_assert_str_eq(f.ids[0], "second");
    ck_assert_uint_eq(evt_dropped(p), 1);
    teardown_fake(&f, p);
}
END_TEST

/* A guest's OOM flood fills the droppable share of the queue; exits still get in, and all
 * that was kept goes in order once containerd is back. */
START_TEST(test_full_queue_keeps_exits)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    f.refuse_dials = 2;
    ck_assert_int_eq(evt_new(f.loop, "/x", "ns1", dial, &f, &p), 0);
    evt_set_backoff_ms(p, 1);
    for (unsigned i = 0; i < EVT_QUEUE_MAX; i++)
        publish_oom(p, 0);
    publish_oom(p, -ENOBUFS);
    publish_exit(p, "x1");
    publish_oom(p, -ENOBUFS);
    Containerd__Events__TaskDelete d = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    d.container_id = "c1";
    ck_assert_int_eq(evt_publish(p, "/tasks/delete", &d.base), 0);
    ck_assert_uint_eq(evt_queued(p), EVT_QUEUE_MAX + 2);
    ck_assert_uint_eq(evt_dropped(p), 2);
    ck_assert(evt_topic_must_deliver("/tasks/exit") && evt_topic_must_deliver("/tasks/exec-started"));
    ck_assert(!evt_topic_must_deliver("/tasks/oom") && !evt_topic_must_deliver("/tasks/paused"));
    ck_assert_int_eq(evt_flush(p, 20000), 0);
    ck_assert_uint_eq(evt_sent(p), EVT_QUEUE_MAX + 2);
    teardown_fake(&f, p);
}
END_TEST

START_TEST(test_bounds_and_topics)
{
    struct fake f;
    struct evt_publisher *p;
    setup_fake(&f);
    f.refuse_dials = 1 << 30; /* containerd never comes */
    ck_assert_int_eq(evt_new(f.loop, "/x", "ns1", dial, &f, &p), 0);
    Containerd__Events__TaskOOM o = CONTAINERD__EVENTS__TASK_OOM__INIT;
    o.container_id = "c";
    ck_assert_int_eq(evt_publish(p, "tasks/exit", &o.base), -EINVAL);
    ck_assert_int_eq(evt_publish(p, "/", &o.base), -EINVAL);
    ck_assert_int_eq(evt_publish(p, "/tasks/", &o.base), -EINVAL);
    ck_assert_int_eq(evt_publish(p, "/tasks//oom", &o.base), -EINVAL);
    ck_assert_int_eq(evt_publish(p, "/tasks/o o m", &o.base), -EINVAL);
    for (unsigned i = 0; i < EVT_QUEUE_MAX; i++)
        ck_assert_int_eq(evt_publish(p, "/tasks/oom", &o.base), 0);
    ck_assert_int_eq(evt_publish(p, "/tasks/oom", &o.base), -ENOBUFS);
    ck_assert_uint_eq(evt_queued(p), EVT_QUEUE_MAX);
    uint64_t t0 = now_ns();
    ck_assert_int_eq(evt_flush(p, 200), -ETIMEDOUT); /* bounded: exit never hangs on events */
    ck_assert_uint_lt(now_ns() - t0, 2000000000ull);
    evt_free(p);
    ttrpc_server_free(f.srv);
    for (int i = 0; i < 3; i++) /* deferred frees of closed connections */
        loop_run_once(f.loop, 0);
    loop_free(f.loop);
}
END_TEST

static Suite *events_suite(void)
{
    Suite *s = suite_create("shim_events");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_order_and_envelope);
    tcase_add_test(tc, test_drop_after_max_attempts_keeps_order);
    tcase_add_test(tc, test_bounds_and_topics);
    tcase_add_test(tc, test_exit_survives_containerd_down);
    tcase_add_test(tc, test_exit_refused_by_containerd_is_given_up);
    tcase_add_test(tc, test_full_queue_keeps_exits);
    tcase_add_test(tc, test_no_subscriber_drops_without_waiting);
    suite_add_tcase(s, tc);
    return s;
}

CVM_CHECK_MAIN(events_suite)
