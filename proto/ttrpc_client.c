/* ttrpc client: odd increasing stream ids, a pending-call table, per-call deadlines on one
 * timer armed for the earliest, and every pending call failed when the connection goes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_MODULE "ttrpc"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_conn.h"

#define N_BUCKETS 256u

struct pending {
    uint32_t stream_id;
    uint64_t deadline_ns; /* 0 = none */
    uint32_t max_reply;   /* bytes of the whole Response frame; checked before any decoding */
    ttrpc_reply_fn cb;
    void *data;
    TAILQ_ENTRY(pending) link;
};
TAILQ_HEAD(pending_list, pending);

struct ttrpc_client {
    struct loop *loop;
    struct ttrpc_conn *conn;
    uint32_t next_stream;
    struct pending_list buckets[N_BUCKETS];
    size_t n_pending;
    struct loop_source *timer;
    uint64_t timer_at; /* deadline the timer is armed for, 0 = disarmed */
    bool closed;
    bool freed;
    void (*on_closed)(void *);
    void *on_closed_data;
};

static struct pending_list *bucket(struct ttrpc_client *c, uint32_t id)
{
    return &c->buckets[(id >> 1) % N_BUCKETS];
}

static void finish(struct ttrpc_client *c, struct pending *p, const struct ttrpc_result *res)
{
    TAILQ_REMOVE(bucket(c, p->stream_id), p, link);
    c->n_pending--;
    p->cb(res, p->data);
    free(p);
}

static void fail(struct ttrpc_client *c, struct pending *p, int code, const char *msg)
{
    struct ttrpc_result res = {.code = code, .message = msg};
    finish(c, p, &res);
}

static void fail_all(struct ttrpc_client *c, int code, const char *msg)
{
    for (unsigned i = 0; i < N_BUCKETS; i++) {
        struct pending *p;
        while ((p = TAILQ_FIRST(&c->buckets[i])))
            fail(c, p, code, msg);
    }
}

static void rearm(struct ttrpc_client *c)
{
    uint64_t min = 0, now;
    for (unsigned i = 0; i < N_BUCKETS; i++) {
        struct pending *p;
        TAILQ_FOREACH(p, &c->buckets[i], link)
        if (p->deadline_ns && (!min || p->deadline_ns < min))
            min = p->deadline_ns;
    }
    if (min == c->timer_at || !c->timer)
        return;
    c->timer_at = min;
    now = now_ns();
    (void)loop_timer_set(c->timer, !min ? 0 : min > now ? (min - now + 999) / 1000 : 1);
}

static void on_timer(struct loop_source *s, void *data)
{
    struct ttrpc_client *c = data;
    uint64_t now = now_ns();
    (void)s;
    c->timer_at = 0;
    for (unsigned i = 0; i < N_BUCKETS && !c->freed; i++) {
        struct pending *p, *next;
        for (p = TAILQ_FIRST(&c->buckets[i]); p && !c->freed; p = next) {
            next = TAILQ_NEXT(p, link);
            if (p->deadline_ns && p->deadline_ns <= now)
                fail(c, p, RPC_DEADLINE_EXCEEDED, "context deadline exceeded");
        }
    }
    if (!c->freed)
        rearm(c);
}

static struct pending *lookup(struct ttrpc_client *c, uint32_t id)
{
    struct pending *p;
    TAILQ_FOREACH(p, bucket(c, id), link)
    if (p->stream_id == id)
        return p;
    return NULL;
}

static void on_frame(struct ttrpc_conn *conn, const struct ttrpc_frame *f, void *data)
{
    struct ttrpc_client *c = data;
    struct ttrpc_result res = {0};
    Ttrpc__Response *resp;
    struct pending *p;
    (void)conn;

    if (f->hdr.type != TTRPC_TYPE_RESPONSE)
        return;
    p = lookup(c, f->hdr.stream_id);
    if (!p) {
        /* A late reply to a call that timed out, as the Go client logs and drops. */
        log_debug("received message for unknown stream %u", f->hdr.stream_id);
        return;
    }
    if (f->oversized) {
        fail(c, p, RPC_RESOURCE_EXHAUSTED,
             "message length exceeds this connection's maximum message size");
        return;
    }
    if (f->hdr.length > p->max_reply) {
        /* The peer answered more than this method can need: nothing of it is decoded. */
        char msg[128];
        log_warn("reply of %u bytes on stream %u is over the call's cap of %u: refused",
                 f->hdr.length, f->hdr.stream_id, p->max_reply);
        snprintf(msg, sizeof(msg), "reply of %u bytes exceeds this call's maximum of %u",
                 f->hdr.length, p->max_reply);
        fail(c, p, RPC_RESOURCE_EXHAUSTED, msg);
        if (!c->freed)
            rearm(c);
        return;
    }
    resp = ttrpc__response__unpack(NULL, f->hdr.length, f->payload);
    if (!resp) {
        fail(c, p, RPC_INTERNAL, "ttrpc: malformed response");
        return;
    }
    if (resp->status && resp->status->code != 0) {
        res.code = resp->status->code;
        res.message = resp->status->message;
    } else {
        res.payload = resp->payload.data;
        res.len = resp->payload.len;
    }
    finish(c, p, &res);
    ttrpc__response__free_unpacked(resp, NULL);
    if (!c->freed)
        rearm(c);
}

static void on_close(struct ttrpc_conn *conn, int err, void *data)
{
    struct ttrpc_client *c = data;
    (void)conn;
    (void)err;
    c->closed = true;
    c->conn = NULL;
    fail_all(c, RPC_UNAVAILABLE, "ttrpc: closed");
    if (!c->freed && c->on_closed)
        c->on_closed(c->on_closed_data);
}

static const struct ttrpc_conn_ops client_ops = {.on_frame = on_frame, .on_close = on_close};

int ttrpc_client_new(struct loop *l, int fd, struct ttrpc_client **ret)
{
    struct ttrpc_client *c = calloc(1, sizeof(*c));
    int r;
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->loop = l;
    c->next_stream = 1;
    for (unsigned i = 0; i < N_BUCKETS; i++)
        TAILQ_INIT(&c->buckets[i]);
    r = loop_add_timer(l, 0, on_timer, c, &c->timer);
    if (r >= 0)
        r = ttrpc_conn_new(l, fd, &client_ops, c, &c->conn);
    if (r < 0) {
        loop_source_free(c->timer);
        close(fd);
        free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void ttrpc_client_set_max_reply(struct ttrpc_client *c, uint32_t max)
{
    ttrpc_conn_set_max_payload(c->conn, max);
}

static void client_release(void *p)
{
    free(p);
}

void ttrpc_client_free(struct ttrpc_client *c)
{
    if (!c || c->freed)
        return;
    c->freed = true;
    ttrpc_conn_close(c->conn);
    c->conn = NULL;
    c->closed = true;
    c->timer = loop_source_free(c->timer);
    fail_all(c, RPC_CANCELLED, "context canceled");
    /* Callbacks of this client may still be on the stack: release after the batch. */
    if (loop_defer(c->loop, client_release, c) < 0)
        free(c);
}

void ttrpc_client_on_closed(struct ttrpc_client *c, void (*cb)(void *), void *data)
{
    c->on_closed = cb;
    c->on_closed_data = data;
}

bool ttrpc_client_is_closed(const struct ttrpc_client *c)
{
    return c->closed;
}

size_t ttrpc_client_n_pending(const struct ttrpc_client *c)
{
    return c->n_pending;
}

static int call_raw(struct ttrpc_client *c, const char *service, const char *method,
                    const uint8_t *payload, size_t len, const struct ttrpc_kv *md, size_t n_md,
                    uint64_t timeout_ns, size_t max_reply, ttrpc_reply_fn cb, void *data)
{
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    Ttrpc__KeyValue kvs[16], *kvp[16];
    _cleanup_free_ uint8_t *out = NULL;
    struct pending *p;
    size_t n;
    int r;

    if (c->closed || !c->conn)
        return -ENOTCONN;
    if (n_md > ELEMENTSOF(kvs))
        return -E2BIG;
    if (c->next_stream > UINT32_MAX - 2)
        return -EOVERFLOW; /* ids never wrap or repeat on a connection */
    req.service = (char *)service;
    req.method = (char *)method;
    req.payload.data = (uint8_t *)payload;
    req.payload.len = len;
    req.timeout_nano = (int64_t)timeout_ns;
    for (size_t i = 0; i < n_md; i++) {
        ttrpc__key_value__init(&kvs[i]);
        kvs[i].key = (char *)md[i].key;
        kvs[i].value = (char *)md[i].value;
        kvp[i] = &kvs[i];
    }
    req.n_metadata = n_md;
    req.metadata = n_md ? kvp : NULL;
    n = ttrpc__request__get_packed_size(&req);
    if (n > TTRPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    out = malloc(n ? n : 1);
    p = calloc(1, sizeof(*p));
    if (!out || !p) {
        free(p);
        return -ENOMEM;
    }
    ttrpc__request__pack(&req, out);
    p->stream_id = c->next_stream;
    p->max_reply =
        max_reply && max_reply < TTRPC_MAX_PAYLOAD ? (uint32_t)max_reply : TTRPC_MAX_PAYLOAD;
    p->cb = cb;
    p->data = data;
    if (timeout_ns)
        p->deadline_ns = now_ns() + timeout_ns;
    r = ttrpc_conn_send(c->conn, p->stream_id, TTRPC_TYPE_REQUEST, 0, out, n);
    if (r < 0) {
        free(p);
        return r;
    }
    c->next_stream += 2;
    TAILQ_INSERT_TAIL(bucket(c, p->stream_id), p, link);
    c->n_pending++;
    if (p->deadline_ns && (!c->timer_at || p->deadline_ns < c->timer_at))
        rearm(c);
    return 0;
}

int ttrpc_client_call_raw(struct ttrpc_client *c, const char *service, const char *method,
                          const uint8_t *payload, size_t len, const struct ttrpc_kv *md,
                          size_t n_md, uint64_t timeout_ns, ttrpc_reply_fn cb, void *data)
{
    return call_raw(c, service, method, payload, len, md, n_md, timeout_ns, 0, cb, data);
}

int ttrpc_client_call_max(struct ttrpc_client *c, const char *service, const char *method,
                          const ProtobufCMessage *req, const struct ttrpc_kv *md, size_t n_md,
                          uint64_t timeout_ns, size_t max_reply, ttrpc_reply_fn cb, void *data)
{
    _cleanup_free_ uint8_t *payload = NULL;
    size_t n = 0;
    if (req) {
        n = protobuf_c_message_get_packed_size(req);
        if (n > TTRPC_MAX_PAYLOAD)
            return -EMSGSIZE;
        payload = malloc(n ? n : 1);
        if (!payload)
            return -ENOMEM;
        protobuf_c_message_pack(req, payload);
    }
    return call_raw(c, service, method, payload, n, md, n_md, timeout_ns, max_reply, cb, data);
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *req, const struct ttrpc_kv *md, size_t n_md,
                      uint64_t timeout_ns, ttrpc_reply_fn cb, void *data)
{
    return ttrpc_client_call_max(c, service, method, req, md, n_md, timeout_ns, 0, cb, data);
}

struct sync_state {
    bool done;
    int code;
    char msg[256];
    uint8_t *payload;
    size_t len;
};

static void sync_reply(const struct ttrpc_result *res, void *data)
{
    struct sync_state *st = data;
    st->done = true;
    st->code = res->code;
    if (res->code) {
        snprintf(st->msg, sizeof(st->msg), "%s", res->message ? res->message : "");
        return;
    }
    if (res->len) {
        st->payload = malloc(res->len);
        if (!st->payload) {
            st->code = RPC_RESOURCE_EXHAUSTED;
            snprintf(st->msg, sizeof(st->msg), "out of memory");
            return;
        }
        memcpy(st->payload, res->payload, res->len);
        st->len = res->len;
    }
}

int ttrpc_client_call_sync(struct ttrpc_client *c, struct loop *l, const char *service,
                           const char *method, const ProtobufCMessage *req,
                           const struct ttrpc_kv *md, size_t n_md, uint64_t timeout_ns,
                           uint8_t **ret_payload, size_t *ret_len, struct cvm_err *err)
{
    struct sync_state st = {0};
    int r = ttrpc_client_call(c, service, method, req, md, n_md, timeout_ns, sync_reply, &st);
    if (r < 0)
        return cvm_err_set(err, r, "ttrpc call %s/%s: %s", service, method, strerror(-r));
    while (!st.done) {
        r = loop_run_once(l, -1);
        if (r < 0) {
            /* The call is still pending and owns &st: we cannot return while it can fire. */
            ttrpc_client_free(c);
            return cvm_err_set(err, r, "event loop: %s", strerror(-r));
        }
    }
    if (st.code != 0) {
        if (err && err->code == RPC_OK) {
            err->code = st.code;
            snprintf(err->msg, sizeof(err->msg), "%s", st.msg);
        }
        return rpc_code_to_errno(st.code);
    }
    *ret_payload = st.payload;
    *ret_len = st.len;
    return 0;
}

int ttrpc_dial_unix(const char *path, int *ret_fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -EBADF;
    int r;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    r = fd_set_nonblock(fd, 1);
    if (r < 0)
        return r;
    *ret_fd = TAKE_FD(fd);
    return 0;
}
