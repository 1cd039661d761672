/* Port forwarding, guest side (portfwd.h): header in, non-blocking dial, reply out, relay. */
#define LOG_MODULE "portfwd"
#include "portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "duplex_relay.h"
#include "log.h"
#include "loop.h"
#include "portfwd_wire.h"

struct pf_conn {
    LIST_ENTRY(pf_conn) link;
    struct portfwd_server *srv;
    int vsock_fd, tcp_fd;      /* ours until the relay takes them */
    struct loop_source *src;   /* header read (vsock_fd), then dial (tcp_fd) */
    struct loop_source *timer; /* header + dial deadline */
    uint8_t hdr[PORTFWD_REQ_LEN];
    size_t hdr_len;
    uint16_t port;
    struct duplex_relay *relay;
};

struct portfwd_server {
    struct loop *l;
    int listen_fd;
    struct loop_source *accept_src;
    LIST_HEAD(, pf_conn) conns;
    unsigned n_conns;
};

static void conn_free(struct pf_conn *c)
{
    struct portfwd_server *srv = c->srv;
    LIST_REMOVE(c, link);
    srv->n_conns--;
    c->src = loop_source_free(c->src);
    c->timer = loop_source_free(c->timer);
    if (c->relay) {
        duplex_relay_free(c->relay);
    } else {
        safe_close(c->vsock_fd);
        safe_close(c->tcp_fd);
    }
    free(c);
    if (srv->accept_src && srv->n_conns < PORTFWD_MAX_CONNS)
        (void)loop_io_set_events(srv->accept_src, EPOLLIN);
}

/* Tell the shim the dial failed (best effort: a fresh stream has room for 8 bytes). */
static void refuse(struct pf_conn *c, int err)
{
    uint8_t rep[PORTFWD_REPLY_LEN];
    portfwd_reply_encode(err, rep);
    (void)send(c->vsock_fd, rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
    conn_free(c);
}

static void relay_done(struct duplex_relay *r, int status, void *data)
{
    struct pf_conn *c = data;
    if (status < 0)
        log_debug("forward to 127.0.0.1:%u ended: %s", c->port, strerror(-status));
    else
        log_debug("forward to 127.0.0.1:%u done: %llu bytes to it, %llu from it", c->port,
                  (unsigned long long)duplex_relay_bytes(r, 1),
                  (unsigned long long)duplex_relay_bytes(r, 0));
    conn_free(c);
}

static void dialled(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct pf_conn *c = data;
    uint8_t rep[PORTFWD_REPLY_LEN];
    int soerr = 0, r;
    socklen_t sl = sizeof(soerr);
    (void)s, (void)revents;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr == EINPROGRESS || soerr == EALREADY)
        return;
    c->src = loop_source_free(c->src);
    c->timer = loop_source_free(c->timer);
    if (soerr) {
        log_debug("forward to 127.0.0.1:%u: %s", c->port, strerror(soerr));
        refuse(c, soerr);
        return;
    }
    /* A = the guest's server, B = the shim's stream (the reply goes first) */
    portfwd_reply_encode(0, rep);
    r = duplex_relay_new(c->srv->l, c->tcp_fd, c->vsock_fd, PORTFWD_BUF, relay_done, c, &c->relay);
    if (r == 0) {
        c->tcp_fd = c->vsock_fd = -EBADF;
        r = duplex_relay_send_b(c->relay, rep, sizeof(rep));
    }
    if (r < 0) {
        log_warn("forward to 127.0.0.1:%u: %s", c->port, strerror(-r));
        conn_free(c);
    }
}

static void dial(struct pf_conn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(c->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r;
    c->src = loop_source_free(c->src);
    c->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->tcp_fd < 0) {
        refuse(c, errno);
        return;
    }
    if (connect(c->tcp_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        refuse(c, errno);
        return;
    }
    /* connected or in progress: EPOLLOUT says when, SO_ERROR how */
    r = loop_add_io(c->srv->l, c->tcp_fd, EPOLLOUT, dialled, c, &c->src);
    if (r < 0)
        refuse(c, -r);
}

static void header_in(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct pf_conn *c = data;
    (void)s, (void)revents;
    for (;;) {
        ssize_t n = recv(fd, c->hdr + c->hdr_len, sizeof(c->hdr) - c->hdr_len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            conn_free(c); /* closed or broken before its header */
            return;
        }
        c->hdr_len += (size_t)n;
        if (c->hdr_len == sizeof(c->hdr))
            break;
    }
    int r = portfwd_req_parse(c->hdr, c->hdr_len, &c->port);
    if (r < 0) {
        log_warn("port-forward stream with a bad header (%s): closed", strerror(-r));
        refuse(c, -r);
        return;
    }
    dial(c);
}

static void deadline(struct loop_source *s, void *data)
{
    struct pf_conn *c = data;
    (void)s;
    c->timer = NULL;
    loop_source_free(s);
    log_warn("port-forward stream: %s in %u ms: closed",
             c->hdr_len < PORTFWD_REQ_LEN ? "no header" : "no dial", PORTFWD_HEAD_TIMEOUT_MS);
    refuse(c, ETIMEDOUT);
}

static void on_accept(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct portfwd_server *srv = data;
    (void)revents;
    while (srv->n_conns < PORTFWD_MAX_CONNS) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("port-forward accept: %m");
            return;
        }
        struct pf_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            safe_close(cfd);
            return;
        }
        *c = (struct pf_conn){.srv = srv, .vsock_fd = cfd, .tcp_fd = -EBADF};
        LIST_INSERT_HEAD(&srv->conns, c, link);
        srv->n_conns++;
        if (loop_add_io(srv->l, cfd, EPOLLIN, header_in, c, &c->src) < 0 ||
            loop_add_timer(srv->l, PORTFWD_HEAD_TIMEOUT_MS * 1000ull, deadline, c, &c->timer) < 0)
            conn_free(c);
    }
    (void)loop_io_set_events(s, 0); /* at the cap: the rest waits in the backlog */
}

int portfwd_serve(struct loop *l, int listen_fd, struct portfwd_server **ret)
{
    struct portfwd_server *srv = calloc(1, sizeof(*srv));
    int r;
    if (!srv)
        return -ENOMEM;
    *srv = (struct portfwd_server){.l = l, .listen_fd = listen_fd};
    LIST_INIT(&srv->conns);
    r = loop_add_io(l, listen_fd, EPOLLIN, on_accept, srv, &srv->accept_src);
    if (r < 0) {
        free(srv);
        return r;
    }
    *ret = srv;
    return 0;
}

unsigned portfwd_active(const struct portfwd_server *s)
{
    return s ? s->n_conns : 0;
}

void portfwd_server_free(struct portfwd_server *s)
{
    if (!s)
        return;
    s->accept_src = loop_source_free(s->accept_src);
    while (!LIST_EMPTY(&s->conns))
        conn_free(LIST_FIRST(&s->conns));
    safe_close(s->listen_fd);
    free(s);
}
