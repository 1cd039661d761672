#include "ttrpc_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"
#include "loop.h"

/* Reads per wakeup: bounded so one chatty peer cannot starve the others. */
#define READS_PER_WAKEUP 16

struct ttrpc_conn {
    struct loop *loop;
    int fd;
    struct loop_source *src;
    struct ttrpc_reader rd;
    struct buf out;
    const struct ttrpc_conn_ops *ops;
    void *data;
    bool closed;
};

static void conn_release(void *p)
{
    struct ttrpc_conn *c = p;
    ttrpc_reader_done(&c->rd);
    buf_done(&c->out);
    free(c);
}

static void conn_shutdown(struct ttrpc_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    c->src = loop_source_free(c->src);
    c->fd = safe_close(c->fd);
    if (loop_defer(c->loop, conn_release, c) < 0)
        conn_release(c); /* OOM: nothing of it is referenced by the loop any more */
}

static void conn_fail(struct ttrpc_conn *c, int err)
{
    if (c->closed)
        return;
    conn_shutdown(c);
    if (c->ops->on_close)
        c->ops->on_close(c, err, c->data);
}

static void update_events(struct ttrpc_conn *c)
{
    uint32_t ev = 0;
    if (c->closed)
        return;
    if (buf_avail(&c->out) < TTRPC_CONN_OUT_HIGH)
        ev |= EPOLLIN;
    if (buf_avail(&c->out) > 0)
        ev |= EPOLLOUT;
    (void)loop_io_set_events(c->src, ev);
}

static int flush_out(struct ttrpc_conn *c)
{
    while (buf_avail(&c->out) > 0) {
        long n = buf_write_fd(&c->out, c->fd);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return (int)n;
    }
    update_events(c);
    return 0;
}

static void dispatch_frames(struct ttrpc_conn *c)
{
    struct ttrpc_frame f;
    while (!c->closed && ttrpc_reader_next(&c->rd, &f) == 1)
        c->ops->on_frame(c, &f, c->data);
}

static void on_io(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct ttrpc_conn *c = data;
    (void)s;
    (void)fd;

    if (revents & EPOLLOUT) {
        int r = flush_out(c);
        if (r < 0) {
            conn_fail(c, r);
            return;
        }
    }
    if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (int i = 0; i < READS_PER_WAKEUP && !c->closed; i++) {
            long n = ttrpc_reader_read_fd(&c->rd, c->fd);
            if (n == -EAGAIN)
                break;
            if (n <= 0) {
                /* Deliver complete frames that arrived before the close first. */
                dispatch_frames(c);
                if (n == 0)
                    conn_fail(c, ttrpc_reader_mid_frame(&c->rd) ? -EPIPE : 0);
                else
                    conn_fail(c, (int)n);
                return;
            }
            dispatch_frames(c);
            if (!c->closed && buf_avail(&c->out) >= TTRPC_CONN_OUT_HIGH)
                break;
        }
    }
    update_events(c);
}

int ttrpc_conn_new(struct loop *l, int fd, const struct ttrpc_conn_ops *ops, void *data,
                   struct ttrpc_conn **ret)
{
    struct ttrpc_conn *c;
    int r;

    r = fd_set_nonblock(fd, 1);
    if (r < 0)
        return r;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->loop = l;
    c->fd = fd;
    c->ops = ops;
    c->data = data;
    ttrpc_reader_init(&c->rd, TTRPC_MAX_PAYLOAD);
    buf_init(&c->out, TTRPC_CONN_OUT_CAP);
    r = loop_add_io(l, fd, EPOLLIN, on_io, c, &c->src);
    if (r < 0) {
        ttrpc_reader_done(&c->rd);
        buf_done(&c->out);
        free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void ttrpc_conn_set_max_payload(struct ttrpc_conn *c, uint32_t max)
{
    ttrpc_reader_done(&c->rd);
    ttrpc_reader_init(&c->rd, max < TTRPC_MAX_PAYLOAD ? max : TTRPC_MAX_PAYLOAD);
}

int ttrpc_conn_send(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type, uint8_t flags,
                    const void *payload, size_t len)
{
    bool was_empty;
    int r;

    if (c->closed)
        return -ENOTCONN;
    if (len > TTRPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    was_empty = buf_avail(&c->out) == 0;
    r = ttrpc_frame_append(&c->out, stream_id, type, flags, payload, len);
    if (r < 0) {
        /* The peer stopped reading and 64 MiB are queued: it is gone for practical purposes. */
        conn_fail(c, r);
        return r;
    }
    if (was_empty) {
        r = flush_out(c);
        if (r < 0) {
            conn_fail(c, r);
            return r;
        }
    } else {
        update_events(c);
    }
    return 0;
}

void ttrpc_conn_close(struct ttrpc_conn *c)
{
    if (c)
        conn_shutdown(c);
}

bool ttrpc_conn_is_closed(const struct ttrpc_conn *c)
{
    return c->closed;
}

int ttrpc_conn_fd(const struct ttrpc_conn *c)
{
    return c->fd;
}
