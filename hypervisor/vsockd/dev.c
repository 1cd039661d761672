/* The virtio-vsock device: turns guest tx packets into connection events and fills guest rx
 * buffers with control packets and host data (see vsockd.h). Runs from deferred callbacks so
 * every event source (kicks, unix readiness, credit) funnels into one pass per loop batch. */
#define LOG_MODULE "vsockd"
#include "vsockd.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

/* Work per pass before yielding to other events: one ring's worth. */
#define PASS_BUDGET 256

static void fill_hdr(struct vsockd *d, struct vsock_hdr *h, uint32_t host_port, uint32_t guest_port,
                     enum vsock_op op)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = VSOCK_HOST_CID;
    h->dst_cid = d->guest_cid;
    h->src_port = host_port;
    h->dst_port = guest_port;
    h->type = VSOCK_TYPE_STREAM;
    h->op = op;
}

static void put_hdr(const struct vq_chain *ch, const struct vsock_hdr *h)
{
    uint8_t raw[VSOCK_HDR_LEN];
    vsock_hdr_encode(h, raw);
    iov_copy_to(&ch->iov[ch->n_out], ch->n_in, 0, raw, sizeof(raw));
}

/* One control packet into the chain. Returns true when the chain was used. */
static bool rx_control(struct vsockd *d, const struct vq_chain *ch)
{
    struct vsock_hdr h;
    struct conn *c;

    if (d->rst_n > 0) {
        struct rst_entry e = d->rst[d->rst_head];
        d->rst_head = (d->rst_head + 1) % VSOCKD_RST_QUEUE;
        d->rst_n--;
        fill_hdr(d, &h, e.host_port, e.guest_port, VSOCK_OP_RST);
        put_hdr(ch, &h);
        return true;
    }
    while ((c = TAILQ_FIRST(&d->ctrl))) {
        unsigned op;
        for (op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++)
            if (c->pending & PEND(op))
                break;
        if (op <= VSOCK_OP_CREDIT_REQUEST) {
            c->pending &= ~PEND(op);
            fill_hdr(d, &h, c->host_port, c->guest_port, (enum vsock_op)op);
            if (op == VSOCK_OP_SHUTDOWN)
                h.flags = c->shut_flags;
            vsock_credit_stamp(&c->cr, &h);
            put_hdr(ch, &h);
        }
        if (!c->pending) {
            TAILQ_REMOVE(&d->ctrl, c, link_ctrl);
            c->in_ctrl = false;
        }
        if (op <= VSOCK_OP_CREDIT_REQUEST)
            return true;
        /* A data packet already carried the credit update this entry was queued for. */
    }
    return false;
}

enum rx_result { RX_USED, RX_UNUSED, RX_UNUSED_RETRY };

/* Read host bytes for the first ready connection straight into the guest's buffer. */
static enum rx_result rx_data(struct vsockd *d, const struct vq_chain *ch, uint32_t *written)
{
    struct conn *c = TAILQ_FIRST(&d->rx);
    struct iovec piov[VQ_MAX_IOV];
    size_t room;
    unsigned k;
    ssize_t n;
    struct vsock_hdr h;

    if (!c)
        return RX_UNUSED;
    room = ch->in_len - VSOCK_HDR_LEN;
    room = room < VSOCK_MAX_PAYLOAD ? room : VSOCK_MAX_PAYLOAD;
    if (room > vsock_credit_peer_free(&c->cr))
        room = vsock_credit_peer_free(&c->cr);
    k = iov_slice(&ch->iov[ch->n_out], ch->n_in, VSOCK_HDR_LEN, room, piov, VQ_MAX_IOV);
    do
        n = readv(c->fd, piov, (int)k);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        fill_hdr(d, &h, c->host_port, c->guest_port, VSOCK_OP_RW);
        h.len = (uint32_t)n;
        vsock_credit_stamp(&c->cr, &h);
        vsock_credit_sent(&c->cr, (uint32_t)n);
        put_hdr(ch, &h);
        *written = VSOCK_HDR_LEN + (uint32_t)n;
        d->stat_rx_bytes += (unsigned long long)n;
        /* Round robin: the next buffer goes to the next connection. */
        TAILQ_REMOVE(&d->rx, c, link_rx);
        c->in_rx = false;
        if (c->pending & PEND(VSOCK_OP_CREDIT_UPDATE) && c->cr.fwd_cnt == c->cr.fwd_cnt_adv)
            c->pending &= ~PEND(VSOCK_OP_CREDIT_UPDATE); /* this packet carried it */
        conn_update_rx(c);
        return RX_USED;
    }
    c->readable = false;
    if (n == 0) {
        /* Host finished sending. If it closed entirely, close the guest side too and wait
         * for its RST; a half close only ends the host→guest direction. */
        if (c->hup) {
            conn_enter_closing(c);
        } else {
            c->rd_eof = true;
            c->shut_flags = VSOCK_SHUTDOWN_SEND;
            conn_update_rx(c);
            conn_update_events(c);
            conn_queue(c, VSOCK_OP_SHUTDOWN);
        }
    } else if (errno == EAGAIN) {
        conn_update_rx(c);
        conn_update_events(c); /* re-arm EPOLLIN */
    } else {
        log_debug("conn %u:%u: unix read: %s", c->host_port, c->guest_port, strerror(errno));
        conn_reset(c);
    }
    return RX_UNUSED_RETRY;
}

static void rx_pump(void *data)
{
    struct vsockd *d = data;
    struct vq *q;
    bool pushed = false;
    int budget = PASS_BUDGET;

    d->rx_scheduled = false;
    q = vu_dev_queue(d->vu, VU_RXQ);
    if (!q)
        return;
    while (budget-- > 0 && (d->rst_n || !TAILQ_EMPTY(&d->ctrl) || !TAILQ_EMPTY(&d->rx))) {
        struct vq_chain ch;
        uint32_t written = VSOCK_HDR_LEN;
        int r = vq_pop(q, vu_dev_mem(d->vu), &ch);

        if (r == -ENOENT)
            break; /* the guest kicks when it adds buffers */
        if (r < 0 || ch.in_len <= VSOCK_HDR_LEN) {
            if (r == 0) {
                q->broken = true;
                q->why = "rx buffer smaller than a packet header";
            }
            vu_dev_queue_failed(d->vu, VU_RXQ);
            return;
        }
        if (!rx_control(d, &ch)) {
            enum rx_result rr = rx_data(d, &ch, &written);
            if (rr != RX_USED) {
                vq_unpop(q);
                if (rr == RX_UNUSED)
                    break;
                continue;
            }
        }
        if (vq_push(q, &ch, written) == 0)
            pushed = true;
    }
    if (pushed)
        vu_dev_notify(d->vu, VU_RXQ);
    if (budget < 0)
        vsockd_schedule_rx(d);
}

static void handle_packet(struct vsockd *d, const struct vsock_hdr *h, const struct vq_chain *ch)
{
    struct conn *c = conn_lookup(d, h->dst_port, h->src_port);
    int r;

    if (h->op != VSOCK_OP_RW && h->op != VSOCK_OP_CREDIT_UPDATE)
        log_debug("guest %s %u -> host %u flags=%u%s", vsock_op_name(h->op), h->src_port,
                  h->dst_port, h->flags, c ? "" : " (no connection)");

    if (!c) {
        if (h->op == VSOCK_OP_REQUEST) {
            r = conn_connect_guest(d, h);
            if (r < 0) {
                log_debug("guest connect to host port %u refused: %s", h->dst_port, strerror(-r));
                vsockd_queue_rst(d, h->dst_port, h->src_port);
            }
        } else if (h->op != VSOCK_OP_RST) {
            vsockd_queue_rst(d, h->dst_port, h->src_port);
        }
        return;
    }
    if (h->op == VSOCK_OP_RST) {
        conn_destroy(c); /* a refused CONNECT shows as the host client's socket closing */
        return;
    }
    vsock_credit_from_peer(&c->cr, h->buf_alloc, h->fwd_cnt);
    switch (h->op) {
    case VSOCK_OP_REQUEST:
        conn_reset(c); /* a second REQUEST for a live pair: the guest lost track of it */
        return;
    case VSOCK_OP_RESPONSE:
        if (c->state != CONN_CONNECTING) {
            conn_reset(c);
            return;
        }
        if (!conn_established(c))
            return;
        break;
    case VSOCK_OP_RW: {
        struct iovec piov[VQ_MAX_IOV];
        unsigned k = iov_slice(ch->iov, ch->n_out, VSOCK_HDR_LEN, h->len, piov, VQ_MAX_IOV);
        if (!conn_write_guest_data(c, piov, k, h->len))
            return;
        break;
    }
    case VSOCK_OP_CREDIT_UPDATE: break;
    case VSOCK_OP_CREDIT_REQUEST: conn_queue(c, VSOCK_OP_CREDIT_UPDATE); break;
    case VSOCK_OP_SHUTDOWN:
        if ((h->flags & VSOCK_SHUTDOWN_RCV) && !c->peer_no_recv) {
            /* Nobody will read what the host writes from now on: make its writes fail
             * (EPIPE) instead of filling the socket and blocking it. */
            c->peer_no_recv = true;
            (void)shutdown(c->fd, SHUT_RD);
        }
        if (h->flags & VSOCK_SHUTDOWN_SEND)
            c->peer_no_send = true;
        if (c->state == CONN_CLOSING && c->peer_no_recv && c->peer_no_send) {
            conn_reset(c);
            return;
        }
        if (!conn_flush(c))
            return;
        break;
    default: break;
    }
    conn_update_rx(c);
}

static void tx_pump(void *data)
{
    struct vsockd *d = data;
    struct vq *q;
    bool pushed = false;
    int budget = PASS_BUDGET;

    d->tx_scheduled = false;
    q = vu_dev_queue(d->vu, VU_TXQ);
    if (!q)
        return;
    while (budget-- > 0) {
        struct vq_chain ch;
        uint8_t raw[VSOCK_HDR_LEN];
        struct vsock_hdr h;
        int r = vq_pop(q, vu_dev_mem(d->vu), &ch);

        if (r == -ENOENT)
            break;
        if (r < 0) {
            vu_dev_queue_failed(d->vu, VU_TXQ);
            return;
        }
        /* The header is copied once; the guest may scribble on its buffer meanwhile. */
        if (iov_copy_from(ch.iov, ch.n_out, 0, raw, sizeof(raw)) == sizeof(raw)) {
            vsock_hdr_decode(raw, &h);
            switch (vsock_hdr_check(&h, d->guest_cid, ch.out_len - VSOCK_HDR_LEN)) {
            case VSOCK_PKT_OK: handle_packet(d, &h, &ch); break;
            case VSOCK_PKT_RST:
                log_debug("malformed %s from guest port %u", vsock_op_name(h.op), h.src_port);
                {
                    struct conn *c = conn_lookup(d, h.dst_port, h.src_port);
                    if (c)
                        conn_reset(c);
                    else
                        vsockd_queue_rst(d, h.dst_port, h.src_port);
                }
                break;
            case VSOCK_PKT_DROP: break;
            }
        }
        ch.in_len = 0; /* nothing written back into tx buffers */
        if (vq_push(q, &ch, 0) == 0)
            pushed = true;
    }
    if (pushed)
        vu_dev_notify(d->vu, VU_TXQ);
    if (budget < 0)
        vsockd_schedule_tx(d);
}

void vsockd_schedule_rx(struct vsockd *d)
{
    if (!d->rx_scheduled && loop_defer(d->loop, rx_pump, d) == 0)
        d->rx_scheduled = true;
}

void vsockd_schedule_tx(struct vsockd *d)
{
    if (!d->tx_scheduled && loop_defer(d->loop, tx_pump, d) == 0)
        d->tx_scheduled = true;
}

static void vu_kick(void *data, unsigned qidx)
{
    struct vsockd *d = data;
    if (qidx == VU_TXQ)
        vsockd_schedule_tx(d);
    /* An rx kick brings buffers; a tx kick may bring credit or ask for replies: either way
     * the rx pump has a look (it returns at once when there is nothing to send). */
    vsockd_schedule_rx(d);
}

static void vu_stopped(void *data, unsigned qidx)
{
    struct vsockd *d = data;
    /* The guest driver went away (reset or unload): its sockets are gone with it. */
    if (qidx == VU_RXQ) {
        conn_shutdown_all(d);
        d->rst_n = 0;
    }
}

static void vu_gone(void *data, int err)
{
    struct vsockd *d = data;
    loop_quit(d->loop, err < 0 ? 1 : 0);
}

const struct vu_dev_ops vsockd_vu_ops = {
    .kick = vu_kick,
    .stopped = vu_stopped,
    .gone = vu_gone,
};
