/* ttrpc server: connection acceptance, request validation and dispatch (spec §1.4–1.9).
 *
 * Requests are dispatched as they arrive and answered whenever the handler replies, so a
 * long Wait never holds up a State on the same connection. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MODULE "ttrpc"
#include "cleanup.h"
#include "fd.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "ttrpc_conn.h"

struct service {
    char *name;
    const struct ttrpc_method *methods;
    size_t n_methods;
    void *userdata;
    TAILQ_ENTRY(service) link;
};

struct listener {
    struct ttrpc_server *srv;
    int fd;
    struct loop_source *src;
    TAILQ_ENTRY(listener) link;
};

struct srv_conn {
    struct ttrpc_server *srv;
    struct ttrpc_conn *conn;
    uint32_t last_stream;
    TAILQ_HEAD(, ttrpc_call) calls;
    TAILQ_ENTRY(srv_conn) link;
};

struct ttrpc_call {
    struct srv_conn *sc; /* NULL once the connection is gone */
    uint32_t stream_id;
    Ttrpc__Request *req;
    uint64_t deadline_ns;
    void (*cancel)(struct ttrpc_call *, void *);
    void *cancel_data;
    TAILQ_ENTRY(ttrpc_call) link;
};

struct ttrpc_server {
    struct loop *loop;
    struct ttrpc_server_opts opts;
    TAILQ_HEAD(, service) services;
    TAILQ_HEAD(, listener) listeners;
    TAILQ_HEAD(, srv_conn) conns;
    size_t n_conns;
    void (*on_closed)(void *);
    void *on_closed_data;
};

int ttrpc_server_new(struct loop *l, const struct ttrpc_server_opts *opts,
                     struct ttrpc_server **ret)
{
    struct ttrpc_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = l;
    if (opts)
        s->opts = *opts;
    if (s->opts.max_connections == 0)
        s->opts.max_connections = 1024;
    TAILQ_INIT(&s->services);
    TAILQ_INIT(&s->listeners);
    TAILQ_INIT(&s->conns);
    *ret = s;
    return 0;
}

static void call_free(struct ttrpc_call *call)
{
    if (call->sc)
        TAILQ_REMOVE(&call->sc->calls, call, link);
    if (call->req)
        ttrpc__request__free_unpacked(call->req, NULL);
    free(call);
}

/* The connection is gone: cancel what is still pending, free it all. */
static void srv_conn_drop(struct srv_conn *sc)
{
    struct ttrpc_server *srv = sc->srv;
    struct ttrpc_call *call;

    while ((call = TAILQ_FIRST(&sc->calls))) {
        TAILQ_REMOVE(&sc->calls, call, link);
        call->sc = NULL;
        if (call->cancel)
            call->cancel(call, call->cancel_data);
        if (call->req)
            ttrpc__request__free_unpacked(call->req, NULL);
        free(call);
    }
    TAILQ_REMOVE(&srv->conns, sc, link);
    srv->n_conns--;
    free(sc);
}

void ttrpc_server_free(struct ttrpc_server *s)
{
    struct service *svc;
    struct listener *ls;
    struct srv_conn *sc;

    if (!s)
        return;
    while ((sc = TAILQ_FIRST(&s->conns))) {
        ttrpc_conn_close(sc->conn);
        srv_conn_drop(sc);
    }
    while ((ls = TAILQ_FIRST(&s->listeners))) {
        TAILQ_REMOVE(&s->listeners, ls, link);
        loop_source_free(ls->src);
        free(ls);
    }
    while ((svc = TAILQ_FIRST(&s->services))) {
        TAILQ_REMOVE(&s->services, svc, link);
        free(svc->name);
        free(svc);
    }
    free(s);
}

int ttrpc_server_register(struct ttrpc_server *s, const char *service,
                          const struct ttrpc_method *methods, size_t n_methods, void *userdata)
{
    struct service *svc;
    TAILQ_FOREACH(svc, &s->services, link)
    if (strcmp(svc->name, service) == 0)
        return -EEXIST;
    svc = calloc(1, sizeof(*svc));
    if (!svc || !(svc->name = strdup(service))) {
        free(svc);
        return -ENOMEM;
    }
    svc->methods = methods;
    svc->n_methods = n_methods;
    svc->userdata = userdata;
    TAILQ_INSERT_TAIL(&s->services, svc, link);
    return 0;
}

void ttrpc_server_on_conn_closed(struct ttrpc_server *s, void (*cb)(void *), void *data)
{
    s->on_closed = cb;
    s->on_closed_data = data;
}

size_t ttrpc_server_n_conns(const struct ttrpc_server *s)
{
    return s->n_conns;
}

/* Encode and send a Response; the payload is dropped for error statuses. */
static int send_response(struct srv_conn *sc, uint32_t stream, int code, const char *msg,
                         const uint8_t *payload, size_t len)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    _cleanup_free_ uint8_t *out = NULL;
    size_t n;

    st.code = code;
    st.message = (char *)(msg ? msg : "");
    resp.status = &st; /* Go always sends a status, code 0 on success */
    if (code == 0 && len) {
        resp.payload.data = (uint8_t *)payload;
        resp.payload.len = len;
    }
    n = ttrpc__response__get_packed_size(&resp);
    if (n > TTRPC_MAX_PAYLOAD) {
        char m[128];
        snprintf(m, sizeof(m), "response of %zu bytes exceeds maximum message size of %u", n,
                 TTRPC_MAX_PAYLOAD);
        return send_response(sc, stream, RPC_RESOURCE_EXHAUSTED, m, NULL, 0);
    }
    out = malloc(n ? n : 1);
    if (!out)
        return -ENOMEM;
    ttrpc__response__pack(&resp, out);
    return ttrpc_conn_send(sc->conn, stream, TTRPC_TYPE_RESPONSE, 0, out, n);
}

static void reply_errorf(struct srv_conn *sc, uint32_t stream, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_errorf(struct srv_conn *sc, uint32_t stream, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void)send_response(sc, stream, code, msg, NULL, 0);
}

static const struct ttrpc_method *find_method(struct ttrpc_server *srv, const char *service,
                                              const char *method, struct service **ret_svc,
                                              bool *service_found)
{
    struct service *svc;
    *service_found = false;
    TAILQ_FOREACH(svc, &srv->services, link)
    {
        if (strcmp(svc->name, service) != 0)
            continue;
        *service_found = true;
        *ret_svc = svc;
        for (size_t i = 0; i < svc->n_methods; i++)
            if (strcmp(svc->methods[i].name, method) == 0)
                return &svc->methods[i];
        return NULL;
    }
    return NULL;
}

static void handle_request(struct srv_conn *sc, const struct ttrpc_frame *f)
{
    struct ttrpc_server *srv = sc->srv;
    const struct ttrpc_method *m;
    struct service *svc = NULL;
    struct ttrpc_call *call;
    Ttrpc__Request *req;
    bool svc_found;
    uint32_t id = f->hdr.stream_id;

    if (f->oversized) {
        reply_errorf(sc, id, RPC_RESOURCE_EXHAUSTED,
                     "message length %u exceed maximum message size of %u", f->hdr.length,
                     TTRPC_MAX_PAYLOAD);
        return;
    }
    if ((id & 1u) == 0) {
        reply_errorf(sc, id, RPC_INVALID_ARGUMENT,
                     "StreamID must be odd for client initiated streams");
        return;
    }
    if (id <= sc->last_stream) {
        reply_errorf(sc, id, RPC_INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
        return;
    }
    sc->last_stream = id;

    req = ttrpc__request__unpack(NULL, f->hdr.length, f->payload);
    if (!req) {
        reply_errorf(sc, id, RPC_INVALID_ARGUMENT, "unmarshal request error: malformed protobuf");
        return;
    }
    m = find_method(srv, req->service, req->method, &svc, &svc_found);
    if (!m) {
        if (svc_found)
            reply_errorf(sc, id, RPC_UNIMPLEMENTED, "method %.200s", req->method);
        else
            reply_errorf(sc, id, RPC_UNIMPLEMENTED, "service %.200s", req->service);
        ttrpc__request__free_unpacked(req, NULL);
        return;
    }
    call = calloc(1, sizeof(*call));
    if (!call) {
        reply_errorf(sc, id, RPC_RESOURCE_EXHAUSTED, "out of memory");
        ttrpc__request__free_unpacked(req, NULL);
        return;
    }
    call->sc = sc;
    call->stream_id = id;
    call->req = req;
    if (req->timeout_nano > 0)
        call->deadline_ns = now_ns() + (uint64_t)req->timeout_nano;
    TAILQ_INSERT_TAIL(&sc->calls, call, link);
    log_debug("call %s/%s stream=%u", req->service, req->method, id);
    m->handler(call, req->payload.data, req->payload.len, svc->userdata);
}

static void on_frame(struct ttrpc_conn *c, const struct ttrpc_frame *f, void *data)
{
    (void)c;
    /* ttrpc 1.1 semantics: anything but a Request is ignored; we serve unary calls only. */
    if (f->hdr.type == TTRPC_TYPE_REQUEST)
        handle_request(data, f);
}

static void on_close(struct ttrpc_conn *c, int err, void *data)
{
    struct srv_conn *sc = data;
    struct ttrpc_server *srv = sc->srv;
    (void)c;
    if (err < 0 && err != -ECONNRESET)
        log_debug("connection closed: %s", strerror(-err));
    srv_conn_drop(sc);
    if (srv->on_closed)
        srv->on_closed(srv->on_closed_data);
}

static const struct ttrpc_conn_ops srv_conn_ops = {.on_frame = on_frame, .on_close = on_close};

int ttrpc_server_add_conn(struct ttrpc_server *s, int fd)
{
    struct srv_conn *sc;
    int r;

    if (s->n_conns >= s->opts.max_connections) {
        log_warn("connection limit %zu reached, refusing a connection", s->opts.max_connections);
        close(fd);
        return -EMFILE;
    }
    sc = calloc(1, sizeof(*sc));
    if (!sc) {
        close(fd);
        return -ENOMEM;
    }
    sc->srv = s;
    TAILQ_INIT(&sc->calls);
    r = ttrpc_conn_new(s->loop, fd, &srv_conn_ops, sc, &sc->conn);
    if (r < 0) {
        close(fd);
        free(sc);
        return r;
    }
    TAILQ_INSERT_TAIL(&s->conns, sc, link);
    s->n_conns++;
    return 0;
}

/* containerd's handshaker: the peer must run as our effective uid and gid (spec §1.1). */
static int check_peer(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    if (cred.uid != geteuid() || cred.gid != getegid())
        return -EPERM;
    return 0;
}

static void on_accept(struct loop_source *src, int fd, uint32_t revents, void *data)
{
    struct listener *ls = data;
    (void)src;
    (void)revents;
    for (int i = 0; i < 64; i++) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("accept failed: %s", strerror(errno));
            return;
        }
        if (ls->srv->opts.require_same_user) {
            int r = check_peer(c);
            if (r < 0) {
                log_warn("rejecting connection: peer credentials: %s", strerror(-r));
                close(c);
                continue;
            }
        }
        (void)ttrpc_server_add_conn(ls->srv, c);
    }
}

int ttrpc_server_add_listener(struct ttrpc_server *s, int listen_fd)
{
    struct listener *ls;
    int r;

    r = fd_set_nonblock(listen_fd, 1);
    if (r < 0)
        return r;
    ls = calloc(1, sizeof(*ls));
    if (!ls)
        return -ENOMEM;
    ls->srv = s;
    ls->fd = listen_fd;
    r = loop_add_io(s->loop, listen_fd, EPOLLIN, on_accept, ls, &ls->src);
    if (r < 0) {
        free(ls);
        return r;
    }
    TAILQ_INSERT_TAIL(&s->listeners, ls, link);
    return 0;
}

/* ---- calls ---- */

int ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *msg)
{
    _cleanup_free_ uint8_t *payload = NULL;
    size_t n = 0;
    int r = 0;

    if (call->sc) {
        if (msg) {
            n = protobuf_c_message_get_packed_size(msg);
            if (n > TTRPC_MAX_PAYLOAD) {
                r = send_response(call->sc, call->stream_id, RPC_RESOURCE_EXHAUSTED,
                                  "response exceeds maximum message size of 4194304", NULL, 0);
                goto out;
            }
            payload = malloc(n ? n : 1);
            if (!payload) {
                r = send_response(call->sc, call->stream_id, RPC_RESOURCE_EXHAUSTED,
                                  "out of memory", NULL, 0);
                goto out;
            }
            protobuf_c_message_pack(msg, payload);
        }
        r = send_response(call->sc, call->stream_id, 0, NULL, payload, n);
    }
out:
    call_free(call);
    return r;
}

static int reply_error_v(struct ttrpc_call *call, int code, const char *fmt, va_list ap)
{
    char msg[1024];
    int r = 0;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (code == RPC_OK)
        code = RPC_UNKNOWN;
    if (call->sc)
        r = send_response(call->sc, call->stream_id, code, msg, NULL, 0);
    call_free(call);
    return r;
}

int ttrpc_call_reply_error(struct ttrpc_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = reply_error_v(call, code, fmt, ap);
    va_end(ap);
    return r;
}

int ttrpc_call_reply_errno(struct ttrpc_call *call, int r, const struct cvm_err *err)
{
    if (err && err->code != RPC_OK)
        return ttrpc_call_reply_error(call, err->code, "%s", err->msg);
    return ttrpc_call_reply_error(call, rpc_code_from_errno(r), "%s", strerror(r < 0 ? -r : r));
}

const char *ttrpc_call_metadata(const struct ttrpc_call *call, const char *key)
{
    for (size_t i = 0; i < call->req->n_metadata; i++)
        if (call->req->metadata[i]->key && strcmp(call->req->metadata[i]->key, key) == 0)
            return call->req->metadata[i]->value;
    return NULL;
}

const char *ttrpc_call_service(const struct ttrpc_call *call)
{
    return call->req->service;
}

const char *ttrpc_call_method(const struct ttrpc_call *call)
{
    return call->req->method;
}

uint32_t ttrpc_call_stream_id(const struct ttrpc_call *call)
{
    return call->stream_id;
}

uint64_t ttrpc_call_deadline_ns(const struct ttrpc_call *call)
{
    return call->deadline_ns;
}

void ttrpc_call_set_cancel(struct ttrpc_call *call, void (*cancel)(struct ttrpc_call *, void *),
                           void *data)
{
    call->cancel = cancel;
    call->cancel_data = data;
}
