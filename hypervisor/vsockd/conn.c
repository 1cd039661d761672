/* Connection table and the unix-socket side of every vsock stream (see vsockd.h).
 * Backpressure both ways without unbounded buffers: host→guest bytes are read straight into
 * guest rx buffers, and only while the guest has credit (dev.c); guest→host bytes go straight
 * to the unix socket and only the part it refuses is held, bounded by the buf_alloc we
 * advertised, so a guest that respects credit can never overrun it. */
#define LOG_MODULE "vsockd"
#include "vsockd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "handshake.h"
#include "log.h"

static unsigned hash_of(uint32_t host_port, uint32_t guest_port)
{
    return (host_port * 2654435761u ^ guest_port) % VSOCKD_HASH;
}

void vsockd_init(struct vsockd *d, struct loop *l, uint64_t guest_cid,
                 void (*schedule_rx)(struct vsockd *d))
{
    memset(d, 0, sizeof(*d));
    d->loop = l;
    d->schedule_rx = schedule_rx;
    d->guest_cid = guest_cid;
    d->next_port = VSOCKD_FIRST_HOST_PORT;
    TAILQ_INIT(&d->all);
    TAILQ_INIT(&d->ctrl);
    TAILQ_INIT(&d->rx);
    for (unsigned i = 0; i < VSOCKD_HASH; i++)
        TAILQ_INIT(&d->hash[i]);
}

struct conn *conn_lookup(struct vsockd *d, uint32_t host_port, uint32_t guest_port)
{
    struct conn *c;
    TAILQ_FOREACH(c, &d->hash[hash_of(host_port, guest_port)], link_hash)
    if (c->host_port == host_port && c->guest_port == guest_port)
        return c;
    return NULL;
}

static void hash_insert(struct conn *c)
{
    TAILQ_INSERT_TAIL(&c->d->hash[hash_of(c->host_port, c->guest_port)], c, link_hash);
    c->in_hash = true;
}

static void io_cb(struct loop_source *s, int fd, uint32_t revents, void *data);

static struct conn *conn_new(struct vsockd *d, int fd, enum conn_state st)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->d = d;
    c->fd = fd;
    c->state = st;
    buf_init(&c->out, VSOCKD_BUF_ALLOC);
    vsock_credit_init(&c->cr, VSOCKD_BUF_ALLOC);
    if (loop_add_io(d->loop, fd, st == CONN_HANDSHAKE ? EPOLLIN | EPOLLRDHUP : 0, io_cb, c,
                    &c->src) < 0) {
        free(c);
        return NULL;
    }
    TAILQ_INSERT_TAIL(&d->all, c, link_all);
    d->n_conns++;
    return c;
}

void conn_destroy(struct conn *c)
{
    struct vsockd *d = c->d;
    if (c->in_hash)
        TAILQ_REMOVE(&d->hash[hash_of(c->host_port, c->guest_port)], c, link_hash);
    if (c->in_ctrl)
        TAILQ_REMOVE(&d->ctrl, c, link_ctrl);
    if (c->in_rx)
        TAILQ_REMOVE(&d->rx, c, link_rx);
    TAILQ_REMOVE(&d->all, c, link_all);
    d->n_conns--;
    loop_source_free(c->src);
    safe_close(c->fd);
    buf_done(&c->out);
    free(c);
}

void vsockd_queue_rst(struct vsockd *d, uint32_t host_port, uint32_t guest_port)
{
    if (d->rst_n == VSOCKD_RST_QUEUE) {
        /* Only a guest flooding us with bad packets gets here; its peer times out instead. */
        d->stat_rst_dropped++;
        return;
    }
    d->rst[(d->rst_head + d->rst_n) % VSOCKD_RST_QUEUE] =
        (struct rst_entry){.host_port = host_port, .guest_port = guest_port};
    d->rst_n++;
    d->schedule_rx(d);
}

void conn_reset(struct conn *c)
{
    if (c->state != CONN_HANDSHAKE)
        vsockd_queue_rst(c->d, c->host_port, c->guest_port);
    conn_destroy(c);
}

void conn_queue(struct conn *c, enum vsock_op op)
{
    c->pending |= PEND(op);
    if (!c->in_ctrl) {
        TAILQ_INSERT_TAIL(&c->d->ctrl, c, link_ctrl);
        c->in_ctrl = true;
    }
    c->d->schedule_rx(c->d);
}

void conn_update_rx(struct conn *c)
{
    bool ready = c->state == CONN_ESTABLISHED && c->readable && !c->rd_eof && !c->peer_no_recv &&
                 vsock_credit_peer_free(&c->cr) > 0;
    if (ready && !c->in_rx) {
        TAILQ_INSERT_TAIL(&c->d->rx, c, link_rx);
        c->in_rx = true;
        c->d->schedule_rx(c->d);
    } else if (!ready && c->in_rx) {
        TAILQ_REMOVE(&c->d->rx, c, link_rx);
        c->in_rx = false;
    }
}

void conn_update_events(struct conn *c)
{
    uint32_t ev = 0;
    if (!c->src)
        return;
    if (c->state == CONN_HANDSHAKE)
        ev = EPOLLIN | EPOLLRDHUP;
    else if (c->state == CONN_ESTABLISHED) {
        /* EPOLLIN stays off while we know there is data: the rx pump reads when the guest has
         * room, and re-arms EPOLLIN on EAGAIN. That is the host-side backpressure. */
        if (!c->readable && !c->rd_eof && !c->peer_no_recv)
            ev |= EPOLLIN;
        if (buf_avail(&c->out) > 0)
            ev |= EPOLLOUT;
    }
    (void)loop_io_set_events(c->src, ev);
}

bool conn_flush(struct conn *c)
{
    while (buf_avail(&c->out) > 0) {
        ssize_t n = send(c->fd, buf_peek(&c->out), buf_avail(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            log_debug("conn %u:%u: unix write: %s", c->host_port, c->guest_port, strerror(errno));
            conn_reset(c);
            return false;
        }
        buf_consume(&c->out, (size_t)n);
        vsock_credit_forwarded(&c->cr, (uint32_t)n);
    }
    if (buf_avail(&c->out) == 0) {
        if (c->peer_no_send && c->peer_no_recv) {
            /* The guest closed: everything it sent is delivered, finish with RST (what Linux
             * expects after SHUTDOWN of both directions) and close our end. */
            conn_reset(c);
            return false;
        }
        if (c->peer_no_send && !c->wr_shut) {
            (void)shutdown(c->fd, SHUT_WR);
            c->wr_shut = true;
        }
    }
    if (c->state == CONN_ESTABLISHED && vsock_credit_update_due(&c->cr))
        conn_queue(c, VSOCK_OP_CREDIT_UPDATE);
    conn_update_events(c);
    return true;
}

bool conn_write_guest_data(struct conn *c, const struct iovec *iov, unsigned n, size_t len)
{
    size_t done = 0;

    if (c->state != CONN_ESTABLISHED || c->peer_no_send || c->hup) {
        /* Host side gone or guest said it was done: nobody can take these bytes. Count them
         * as forwarded so the sender is not stalled while the close handshake runs. */
        vsock_credit_forwarded(&c->cr, (uint32_t)len);
        return true;
    }
    if (!vsock_credit_rx_fits(&c->cr, buf_avail(&c->out), len)) {
        log_warn("conn %u:%u: guest sent %zu bytes beyond its credit", c->host_port, c->guest_port,
                 len);
        conn_reset(c);
        return false;
    }
    if (buf_avail(&c->out) == 0) {
        struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
        ssize_t w;
        do
            w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) {
            log_debug("conn %u:%u: unix write: %s", c->host_port, c->guest_port, strerror(errno));
            conn_reset(c);
            return false;
        }
        if (w > 0) {
            done = (size_t)w;
            vsock_credit_forwarded(&c->cr, (uint32_t)w);
        }
    }
    if (done < len) {
        size_t off = done;
        for (unsigned i = 0; i < n; i++) {
            if (off >= iov[i].iov_len) {
                off -= iov[i].iov_len;
                continue;
            }
            if (buf_append(&c->out, (uint8_t *)iov[i].iov_base + off, iov[i].iov_len - off) < 0) {
                conn_reset(c);
                return false;
            }
            off = 0;
        }
    }
    c->d->stat_tx_bytes += len;
    return conn_flush(c);
}

bool conn_established(struct conn *c)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "OK %u\n", c->host_port);
    ssize_t w = send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);

    /* A fresh socket has room for 16 bytes; anything else means the client is gone. */
    if (w != n) {
        conn_reset(c);
        return false;
    }
    c->state = CONN_ESTABLISHED;
    c->deadline_ns = 0;
    conn_update_events(c);
    conn_update_rx(c);
    return true;
}

static uint32_t alloc_host_port(struct vsockd *d, uint32_t guest_port)
{
    for (;;) {
        uint32_t p = d->next_port++;
        if (d->next_port == 0)
            d->next_port = VSOCKD_FIRST_HOST_PORT;
        if (!conn_lookup(d, p, guest_port))
            return p;
    }
}

static void do_handshake(struct conn *c, uint32_t revents)
{
    char buf[HANDSHAKE_MAX_LINE];
    uint32_t port;
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    int r;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_destroy(c);
        return;
    }
    r = handshake_parse(buf, (size_t)n, &port);
    if (r == 0) {
        /* Partial line: wait for more (the deadline bounds it), unless no more can come. */
        if (revents & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
            conn_destroy(c);
        return;
    }
    if (r < 0) {
        log_warn("host client sent a malformed CONNECT line");
        conn_destroy(c);
        return;
    }
    (void)!recv(c->fd, buf, (size_t)r, MSG_DONTWAIT); /* consume exactly the line */
    c->guest_port = port;
    c->host_port = alloc_host_port(c->d, port);
    c->state = CONN_CONNECTING;
    c->deadline_ns = now_ns() + VSOCKD_CONNECT_TIMEOUT_NS;
    hash_insert(c);
    conn_update_events(c);
    conn_queue(c, VSOCK_OP_REQUEST);
    vsockd_arm_timer(c->d);
    log_debug("host connect %u -> guest port %u", c->host_port, port);
}

void conn_enter_closing(struct conn *c)
{
    c->rd_eof = true;
    c->shut_flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
    c->state = CONN_CLOSING;
    c->deadline_ns = now_ns() + VSOCKD_CLOSE_TIMEOUT_NS;
    conn_update_rx(c);
    vsockd_arm_timer(c->d);
    conn_queue(c, VSOCK_OP_SHUTDOWN);
}

static void io_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct conn *c = data;
    (void)s;
    (void)fd;

    if (c->state == CONN_HANDSHAKE) {
        do_handshake(c, revents);
        return;
    }
    if (revents & (EPOLLHUP | EPOLLERR)) {
        /* Level-triggered HUP would spin while we wait for guest credit: stop watching the fd;
         * the rx pump reads the rest and then sees EOF or the error. */
        c->hup = true;
        c->src = loop_source_free(c->src);
        if (c->state == CONN_CONNECTING) {
            conn_reset(c);
            return;
        }
        if (c->state != CONN_ESTABLISHED)
            return;
        if (c->rd_eof || c->peer_no_recv) {
            conn_enter_closing(c);
        } else {
            /* Read what the host left, at the guest's pace; EOF then starts the close. */
            c->readable = true;
            conn_update_rx(c);
        }
        return;
    }
    if (revents & EPOLLOUT) {
        if (!conn_flush(c))
            return;
    }
    if (revents & EPOLLIN) {
        c->readable = true;
        conn_update_events(c);
        conn_update_rx(c);
    }
}

int conn_accept_host(struct vsockd *d, int fd)
{
    struct conn *c;
    if (d->n_conns >= VSOCKD_MAX_CONNS) {
        safe_close(fd);
        return -EMFILE;
    }
    c = conn_new(d, fd, CONN_HANDSHAKE);
    if (!c) {
        safe_close(fd);
        return -ENOMEM;
    }
    c->deadline_ns = now_ns() + VSOCKD_CONNECT_TIMEOUT_NS;
    vsockd_arm_timer(d);
    return 0;
}

int conn_connect_guest(struct vsockd *d, const struct vsock_hdr *h)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -EBADF;
    struct conn *c;
    int n;

    if (d->n_conns >= VSOCKD_MAX_CONNS)
        return -EMFILE;
    n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", d->uds_path, h->dst_port);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    /* A unix connect completes or fails at once; EAGAIN (full backlog) counts as refused. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    c = conn_new(d, fd, CONN_ESTABLISHED);
    if (!c)
        return -ENOMEM;
    TAKE_FD(fd);
    c->host_port = h->dst_port;
    c->guest_port = h->src_port;
    hash_insert(c);
    vsock_credit_from_peer(&c->cr, h->buf_alloc, h->fwd_cnt);
    conn_update_events(c);
    conn_queue(c, VSOCK_OP_RESPONSE);
    return 0;
}

void conn_shutdown_all(struct vsockd *d)
{
    struct conn *c;
    while ((c = TAILQ_FIRST(&d->all)))
        conn_destroy(c);
}

static void timer_cb(struct loop_source *s, void *data)
{
    struct vsockd *d = data;
    unsigned long long now = now_ns();
    struct conn *c, *tmp;
    (void)s;

    d->timer_armed = false;
    for (c = TAILQ_FIRST(&d->all); c; c = tmp) {
        tmp = TAILQ_NEXT(c, link_all);
        if (!c->deadline_ns || c->deadline_ns > now)
            continue;
        if (c->state == CONN_ESTABLISHED) {
            c->deadline_ns = 0;
            continue;
        }
        log_debug("conn %u:%u: timed out in state %d", c->host_port, c->guest_port, c->state);
        conn_reset(c);
    }
    vsockd_arm_timer(d);
}

void vsockd_arm_timer(struct vsockd *d)
{
    struct conn *c;
    bool need = false;

    if (d->timer_armed)
        return;
    TAILQ_FOREACH(c, &d->all, link_all)
    if (c->deadline_ns) {
        need = true;
        break;
    }
    if (!need)
        return;
    if (!d->timer)
        return;
    if (loop_timer_set(d->timer, 500000) == 0)
        d->timer_armed = true;
}

int vsockd_timer_init(struct vsockd *d)
{
    /* Created now, disarmed: the seccomp filter installed later has no timerfd_create. */
    return loop_add_timer(d->loop, 0, timer_cb, d, &d->timer);
}
