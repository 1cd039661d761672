/* Ordered event queue → Events/Forward. One call in flight; the head is removed only after
 * containerd acknowledged it, so order survives reconnects.
 *
 * Two classes share the one queue (order is kept across both): the lifecycle events
 * containerd must see (exit, delete, create, start, exec-added, exec-started) are never
 * dropped, neither for a full queue nor for failed sends (containerd down, timeouts): their
 * number is bounded by the processes the shim knows, each publishing each at most once, and
 * every one of those comes from a containerd RPC or an exit of a process containerd created.
 * The rest (oom, paused, resumed, checkpointed; OOM is what a guest can drive) are bounded by
 * EVT_QUEUE_MAX pending and given up after EVT_MAX_ATTEMPTS failed sends. A lifecycle event
 * that containerd itself rejects (a definitive error, not a transport one) is given up too:
 * retrying it would stall every event behind it forever. */
#define LOG_MODULE "events"
#include "events/events.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "naming/address.h"
#include "cleanup.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"

#define EVT_SERVICE "containerd.services.events.ttrpc.v1.Events"

struct evt {
    TAILQ_ENTRY(evt) link;
    char topic[64];
    char type_url[96];
    int64_t sec;
    int32_t nsec;
    unsigned attempts;
    bool must_deliver;
    size_t len;
    uint8_t payload[];
};
TAILQ_HEAD(evt_list, evt);

struct evt_publisher {
    struct loop *loop;
    char address[256];
    char ns[80];
    evt_dial_fn dial;
    void *dial_data;
    struct ttrpc_client *client;
    struct evt_list q;
    size_t n;
    size_t n_droppable; /* pending events of the bounded class */
    int in_flight;
    unsigned backoff_ms;
    unsigned connect_failures;
    struct loop_source *timer;
    uint64_t sent, dropped;
    bool no_subscriber; /* address NULL: nothing to deliver to (cvm-runtime, no containerd) */
};

static void pump(struct evt_publisher *p);

/* "/" then one or more "/"-separated identifiers (containerd's validateEnvelope). */
static int valid_topic(const char *t)
{
    char comp[80];
    if (t[0] != '/' || strlen(t) >= 64)
        return 0;
    for (const char *p = t + 1;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n >= sizeof(comp))
            return 0;
        memcpy(comp, p, n);
        comp[n] = 0;
        if (!shim_valid_identifier(comp))
            return 0;
        if (!e)
            return 1;
        p = e + 1;
    }
}

bool evt_topic_must_deliver(const char *topic)
{
    static const char *const lifecycle[] = {"/tasks/exit",       "/tasks/delete",
                                            "/tasks/create",     "/tasks/start",
                                            "/tasks/exec-added", "/tasks/exec-started"};
    for (size_t i = 0; i < ELEMENTSOF(lifecycle); i++)
        if (strcmp(topic, lifecycle[i]) == 0)
            return true;
    return false;
}

/* An answer that says "containerd was not reached or did not finish": worth retrying for
 * as long as it takes. Anything else is containerd's verdict on the event itself. */
static bool transient(int code)
{
    return code == RPC_UNAVAILABLE || code == RPC_DEADLINE_EXCEEDED || code == RPC_CANCELLED ||
           code == RPC_RESOURCE_EXHAUSTED || code == RPC_ABORTED;
}

static void timer_cb(struct loop_source *s, void *data)
{
    (void)s;
    pump(data);
}

static void retry_later(struct evt_publisher *p, unsigned ms)
{
    if (p->timer)
        loop_timer_set(p->timer, (uint64_t)ms * 1000);
}

static void on_closed(void *data)
{
    struct evt_publisher *p = data;
    log_debug("connection to containerd events lost");
    (void)p;
}

static int ensure_client(struct evt_publisher *p)
{
    int fd = -1, r;

    if (p->client && !ttrpc_client_is_closed(p->client))
        return 0;
    if (p->client) {
        ttrpc_client_free(p->client);
        p->client = NULL;
    }
    r = p->dial ? p->dial(p->dial_data, &fd) : ttrpc_dial_unix(p->address, &fd);
    if (r < 0)
        return r;
    r = ttrpc_client_new(p->loop, fd, &p->client);
    if (r < 0) {
        safe_close(fd);
        return r;
    }
    ttrpc_client_on_closed(p->client, on_closed, p);
    return 0;
}

static void drop_head(struct evt_publisher *p)
{
    struct evt *e = TAILQ_FIRST(&p->q);
    TAILQ_REMOVE(&p->q, e, link);
    p->n--;
    if (!e->must_deliver)
        p->n_droppable--;
    free(e);
}

static void reply_cb(const struct ttrpc_result *res, void *data)
{
    struct evt_publisher *p = data;
    struct evt *e = TAILQ_FIRST(&p->q);

    p->in_flight = 0;
    if (!e)
        return;
    if (res->code == 0) {
        p->sent++;
        drop_head(p);
        pump(p);
        return;
    }
    e->attempts++;
    log_warn("forward %s failed (attempt %u): %s", e->topic, e->attempts,
             res->message ? res->message : "");
    if (e->attempts >= EVT_MAX_ATTEMPTS && (!e->must_deliver || !transient(res->code))) {
        log_error("dropping event %s after %u attempts", e->topic, e->attempts);
        p->dropped++;
        drop_head(p);
        pump(p);
        return;
    }
    /* attempt x backoff as the Go shim, capped: a lifecycle event retries without end */
    retry_later(p,
                p->backoff_ms * (e->attempts < EVT_MAX_ATTEMPTS ? e->attempts : EVT_MAX_ATTEMPTS));
}

static void pump(struct evt_publisher *p)
{
    struct evt *e = TAILQ_FIRST(&p->q);
    int r;

    if (!e || p->in_flight)
        return;
    r = ensure_client(p);
    if (r < 0) {
        unsigned d = p->backoff_ms << (p->connect_failures < 4 ? p->connect_failures : 4);
        p->connect_failures++;
        log_debug("connect to %s: %s; retry in %u ms", p->address, strerror(-r), d);
        retry_later(p, d);
        return;
    }
    p->connect_failures = 0;

    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Containerd__Services__Events__Ttrpc__V1__Envelope env =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    ts.seconds = e->sec;
    ts.nanos = e->nsec;
    any.type_url = e->type_url;
    any.value.data = e->payload;
    any.value.len = e->len;
    env.timestamp = &ts;
    env.namespace_ = p->ns;
    env.topic = e->topic;
    env.event = &any;
    req.envelope = &env;
    struct ttrpc_kv md = {"containerd-namespace-ttrpc", p->ns};
    r = ttrpc_client_call(p->client, EVT_SERVICE, "Forward", &req.base, &md, 1,
                          (uint64_t)EVT_CALL_TIMEOUT_MS * 1000000ull, reply_cb, p);
    if (r < 0) {
        log_debug("forward call: %s", strerror(-r));
        ttrpc_client_free(p->client);
        p->client = NULL;
        retry_later(p, p->backoff_ms);
        return;
    }
    p->in_flight = 1;
}

int evt_new(struct loop *l, const char *address, const char *ns, evt_dial_fn dial, void *dial_data,
            struct evt_publisher **ret)
{
    struct evt_publisher *p = calloc(1, sizeof(*p));
    int r;

    if (!p)
        return -ENOMEM;
    p->loop = l;
    p->no_subscriber = address == NULL;
    if (address && strncmp(address, "unix://", 7) == 0)
        address += 7;
    snprintf(p->address, sizeof(p->address), "%s", address ? address : "");
    snprintf(p->ns, sizeof(p->ns), "%s", ns);
    p->dial = dial;
    p->dial_data = dial_data;
    p->backoff_ms = 1000;
    TAILQ_INIT(&p->q);
    r = loop_add_timer(l, 0, timer_cb, p, &p->timer);
    if (r < 0) {
        free(p);
        return r;
    }
    *ret = p;
    return 0;
}

void evt_free(struct evt_publisher *p)
{
    if (!p)
        return;
    while (TAILQ_FIRST(&p->q))
        drop_head(p);
    ttrpc_client_free(p->client);
    loop_source_free(p->timer);
    free(p);
}

void evt_set_backoff_ms(struct evt_publisher *p, unsigned ms)
{
    p->backoff_ms = ms ? ms : 1;
}

int evt_publish(struct evt_publisher *p, const char *topic, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    struct timespec now;
    struct evt *e;

    if (!valid_topic(topic))
        return -EINVAL;
    bool must = evt_topic_must_deliver(topic);
    if (p->no_subscriber) {
        /* counted, never queued: a queue nobody drains would hold every exit and make
         * evt_flush wait its whole timeout at each daemon exit */
        p->dropped++;
        log_debug("event %s: no subscriber", topic);
        return 0;
    }
    if (!must && p->n_droppable >= EVT_QUEUE_MAX) {
        p->dropped++;
        log_error("event queue full, dropping %s", topic);
        return -ENOBUFS;
    }
    if (len > (1u << 20))
        return -EMSGSIZE;
    e = calloc(1, sizeof(*e) + len);
    if (!e)
        return -ENOMEM;
    snprintf(e->topic, sizeof(e->topic), "%s", topic);
    snprintf(e->type_url, sizeof(e->type_url), "%s", msg->descriptor->name);
    clock_gettime(CLOCK_REALTIME, &now);
    e->sec = now.tv_sec;
    e->nsec = (int32_t)now.tv_nsec;
    e->len = protobuf_c_message_pack(msg, e->payload);
    e->must_deliver = must;
    TAILQ_INSERT_TAIL(&p->q, e, link);
    p->n++;
    if (!must)
        p->n_droppable++;
    log_debug("event %s queued (%zu pending)", topic, p->n);
    pump(p);
    return 0;
}

size_t evt_queued(const struct evt_publisher *p)
{
    return p->n;
}

uint64_t evt_sent(const struct evt_publisher *p)
{
    return p->sent;
}

uint64_t evt_dropped(const struct evt_publisher *p)
{
    return p->dropped;
}

int evt_flush(struct evt_publisher *p, unsigned timeout_ms)
{
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    pump(p);
    while (p->n > 0) {
        uint64_t now = now_ns();
        if (now >= end)
            return -ETIMEDOUT;
        int r = loop_run_once(p->loop, (int)((end - now) / 1000000ull) + 1);
        if (r < 0 && r != -EINTR)
            return r;
    }
    return 0;
}
