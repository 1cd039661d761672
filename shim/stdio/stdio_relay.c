/* Unidirectional fd relay with a fixed ring buffer and epoll-driven backpressure. */
#define LOG_MODULE "stdio"
#include "stdio/stdio_relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "loop.h"

struct relay {
    struct loop *loop;
    int src, sink;
    unsigned flags;
    struct loop_source *src_w, *sink_w;
    bool sink_pollable, src_eof, done, sink_broken, notified;
    bool src_closing; /* relay_close_src(): take what the source holds now, then EOF */
    size_t head, len; /* ring: data at [head, head+len) mod size */
    uint64_t in, out, dropped;
    relay_done_fn cb;
    void *data;
    uint8_t buf[RELAY_BUF_SIZE];
};

static void update_interest(struct relay *r);

static void finish(struct relay *r)
{
    if (r->done)
        return;
    r->done = true;
    r->src_w = loop_source_free(r->src_w);
    r->sink_w = loop_source_free(r->sink_w);
    if (r->flags & RELAY_SHUT_SINK)
        (void)shutdown(r->sink, SHUT_WR);
    if (r->cb && !r->notified) {
        r->notified = true;
        r->cb(r, r->data);
    }
}

/* Write as much as possible; returns false when the sink would block. */
static bool flush_sink(struct relay *r)
{
    while (r->len > 0) {
        size_t chunk = MIN(r->len, RELAY_BUF_SIZE - r->head);
        if (r->sink_broken) {
            r->dropped += chunk;
        } else {
            ssize_t n = write(r->sink, r->buf + r->head, chunk);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    return false;
                log_warn("stdio sink: %m; discarding further output");
                r->sink_broken = true;
                continue;
            }
            chunk = (size_t)n;
            r->out += chunk;
        }
        r->head = (r->head + chunk) % RELAY_BUF_SIZE;
        r->len -= chunk;
        if (r->len == 0)
            r->head = 0;
    }
    return true;
}

static void fill_from_src(struct relay *r, uint32_t revents)
{
    while (r->len < RELAY_BUF_SIZE && !r->src_eof) {
        size_t tail = (r->head + r->len) % RELAY_BUF_SIZE;
        size_t space = tail >= r->head && !(r->len && tail == r->head) ? RELAY_BUF_SIZE - tail
                                                                       : r->head - tail;
        ssize_t n = read(r->src, r->buf + tail, space);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (r->src_closing) /* everything that had arrived is taken */
                    r->src_eof = true;
                return;
            }
            r->src_eof = true; /* ECONNRESET etc.: treat as end of stream */
            return;
        }
        if (n == 0) {
            /* A FIFO with no writer yet reads 0: EOF only after a writer came and went. */
            if (!(r->flags & RELAY_FIFO_SRC) || (revents & EPOLLHUP) || r->src_closing)
                r->src_eof = true;
            return;
        }
        r->len += (size_t)n;
        r->in += (size_t)n;
        if (!r->sink_pollable)
            break;
    }
}

static void step(struct relay *r, uint32_t revents)
{
    if (r->done)
        return;
    /* While closing, the source is read whenever there is room (no EPOLLIN comes for a
     * FIFO that is empty but still has a writer). */
    if (revents || (r->src_closing && !r->src_eof))
        fill_from_src(r, revents);
    (void)flush_sink(r); /* a regular-file sink is written synchronously */
    if (r->src_eof && r->len == 0) {
        finish(r);
        return;
    }
    update_interest(r);
}

static void update_interest(struct relay *r)
{
    if (r->src_w)
        (void)loop_io_set_events(r->src_w, r->len < RELAY_BUF_SIZE && !r->src_eof ? EPOLLIN : 0);
    if (r->sink_w)
        (void)loop_io_set_events(r->sink_w, r->len > 0 ? EPOLLOUT : 0);
}

static void src_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    (void)s;
    (void)fd;
    step(data, revents | EPOLLIN);
}

static void sink_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct relay *r = data;
    (void)s;
    (void)fd;
    if (revents & (EPOLLERR | EPOLLHUP)) {
        if (!r->sink_broken && (r->flags & RELAY_SHUT_SINK)) /* stdin: the process ended or closed it */
            log_debug("stdin closed by the process; discarding further input");
        else if (!r->sink_broken)
            log_warn("stdio sink closed by the reader; discarding further output");
        r->sink_broken = true;
    }
    step(r, 0);
}

int relay_new(struct loop *l, int src, int sink, unsigned flags, relay_done_fn done, void *data,
              struct relay **ret)
{
    struct relay *r = calloc(1, sizeof(*r));
    struct stat st;
    int rc;

    if (!r)
        return -ENOMEM;
    r->loop = l;
    r->src = src;
    r->sink = sink;
    r->flags = flags;
    r->cb = done;
    r->data = data;
    r->sink_pollable = !(fstat(sink, &st) == 0 && S_ISREG(st.st_mode));
    rc = loop_add_io(l, src, EPOLLIN, src_cb, r, &r->src_w);
    if (rc < 0)
        goto fail;
    if (r->sink_pollable) {
        rc = loop_add_io(l, sink, 0, sink_cb, r, &r->sink_w);
        if (rc < 0)
            goto fail;
    }
    *ret = r;
    return 0;
fail:
    loop_source_free(r->src_w);
    free(r);
    return rc;
}

void relay_free(struct relay *r)
{
    if (!r)
        return;
    loop_source_free(r->src_w);
    loop_source_free(r->sink_w);
    if (r->flags & RELAY_OWN_SRC)
        safe_close(r->src);
    if (r->flags & RELAY_OWN_SINK)
        safe_close(r->sink);
    free(r);
}

void relay_close_src(struct relay *r)
{
    if (!r || r->done)
        return;
    /* Not EOF yet: what sits in the source (a FIFO holds up to its pipe size) may not fit in
     * the buffer now; it is read as the sink drains, and EOF comes once the source is empty. */
    r->src_closing = true;
    step(r, 0);
}

bool relay_done(const struct relay *r)
{
    return r->done;
}

bool relay_src_paused(const struct relay *r)
{
    return !r->done && r->src_w && !(loop_io_get_events(r->src_w) & EPOLLIN);
}

uint64_t relay_bytes_in(const struct relay *r)
{
    return r->in;
}

uint64_t relay_bytes_out(const struct relay *r)
{
    return r->out;
}

uint64_t relay_bytes_dropped(const struct relay *r)
{
    return r->dropped;
}

size_t relay_buffered(const struct relay *r)
{
    return r->len;
}
