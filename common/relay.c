/* One direction of a byte stream (relay.h): a ring buffer between two fds, driven by epoll. */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "loop.h"

#define ROUNDS_PER_WAKEUP 16

struct relay {
    struct loop *loop;
    int src, sink;
    unsigned flags;
    struct relay_cb cb;
    struct loop_source *src_w, *sink_w, *batch_timer, *idle_timer;
    uint64_t idle_usec;
    bool sink_pollable;
    bool src_eof, src_closing, sink_broken, sink_held, batching, done, in_step, hup_told;
    size_t size, head, len; /* ring: data at [head, head + len) mod size */
    uint64_t in, out, dropped, reads;
    uint8_t *buf;
};

static void step(struct relay *r, uint32_t src_revents);

static void drop_sources(struct relay *r)
{
    r->src_w = loop_source_free(r->src_w);
    r->sink_w = loop_source_free(r->sink_w);
    r->batch_timer = loop_source_free(r->batch_timer);
    r->idle_timer = loop_source_free(r->idle_timer);
}

static void finish(struct relay *r, int status)
{
    if (r->done)
        return;
    r->done = true;
    drop_sources(r);
    /* the reader sees the end; an error (RELAY_ABORT_ON_ERROR) is not an end to pass on */
    if ((r->flags & RELAY_SHUT_SINK) &&
        (status == 0 || status == -ECANCELED || status == -ETIMEDOUT))
        (void)shutdown(r->sink, SHUT_WR);
    r->cb.done(r, status, r->cb.data); /* may free r: nothing after this */
}

static void sink_breaks(struct relay *r)
{
    if (r->sink_broken)
        return;
    r->sink_broken = true;
    if (r->cb.sink_broken)
        r->cb.sink_broken(r, r->cb.data);
}

/* Write what is buffered. 0, or -errno of a write error (the sink is then broken). */
static int flush_sink(struct relay *r, bool *moved)
{
    while (r->len > 0 && !r->sink_held) {
        size_t chunk = r->len < r->size - r->head ? r->len : r->size - r->head;
        if (r->sink_broken) {
            r->dropped += chunk;
        } else {
            ssize_t n = write(r->sink, r->buf + r->head, chunk);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    return 0;
                int e = -errno;
                sink_breaks(r);
                if (r->flags & RELAY_ABORT_ON_ERROR)
                    return e;
                continue;
            }
            chunk = (size_t)n;
            r->out += chunk;
        }
        *moved = true;
        r->head = (r->head + chunk) % r->size;
        r->len -= chunk;
        if (r->len == 0)
            r->head = 0;
    }
    return 0;
}

static void on_batch(struct loop_source *t, void *data)
{
    struct relay *r = data;
    (void)t;
    r->batching = false;
    step(r, 0);
}

/* Read while there is room. 0, or -errno of a read error with RELAY_ABORT_ON_ERROR. */
static int fill_from_src(struct relay *r, uint32_t revents, bool *moved)
{
    while (r->len < r->size && !r->src_eof && !r->batching) {
        size_t tail = (r->head + r->len) % r->size;
        size_t space =
            tail >= r->head && !(r->len && tail == r->head) ? r->size - tail : r->head - tail;
        ssize_t n = read(r->src, r->buf + tail, space);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (r->src_closing) /* everything that had arrived is taken */
                    r->src_eof = true;
                return 0;
            }
            int e = -errno;
            /* EIO from a pty master: the slave side is gone, which is its EOF */
            r->src_eof = true;
            *moved = true;
            return (r->flags & RELAY_ABORT_ON_ERROR) && e != -EIO ? e : 0;
        }
        *moved = true;
        if (n == 0) {
            /* A FIFO with no writer yet reads 0: EOF only after a writer came and went. */
            if (!(r->flags & RELAY_FIFO_SRC) || (revents & EPOLLHUP) || r->src_closing)
                r->src_eof = true;
            return 0;
        }
        r->len += (size_t)n;
        r->in += (size_t)n;
        r->reads++;
        if ((r->flags & RELAY_TTY_BATCH) && n < RELAY_TTY_SHORT_READ && !r->src_closing) {
            if ((r->batch_timer ||
                 loop_add_timer(r->loop, RELAY_TTY_BATCH_US, on_batch, r, &r->batch_timer) == 0) &&
                loop_timer_set(r->batch_timer, RELAY_TTY_BATCH_US) == 0)
                r->batching = true; /* no timer: read as data comes, which is only slower */
            return 0;
        }
        if (!r->sink_pollable)
            return 0; /* a file sink is written synchronously: one read per round */
    }
    return 0;
}

/* Interest of one fd: a source only while it has some (see relay.h). */
static int set_interest(struct relay *r, struct loop_source **w, int fd, uint32_t ev,
                        void (*fn)(struct loop_source *, int, uint32_t, void *))
{
    if (!ev) {
        *w = loop_source_free(*w);
        return 0;
    }
    if (*w)
        return loop_io_get_events(*w) == ev ? 0 : loop_io_set_events(*w, ev);
    return loop_add_io(r->loop, fd, ev, fn, r, w);
}

static void src_cb(struct loop_source *s, int fd, uint32_t revents, void *data);
static void sink_cb(struct loop_source *s, int fd, uint32_t revents, void *data);

static int update_interest(struct relay *r)
{
    bool want_read = !r->src_eof && !r->batching && r->len < r->size;
    bool want_write = r->len > 0 && !r->sink_broken && !r->sink_held && r->sink_pollable;
    int e = set_interest(r, &r->src_w, r->src, want_read ? EPOLLIN : 0, src_cb);
    if (e == 0)
        e = set_interest(r, &r->sink_w, r->sink, want_write ? EPOLLOUT : 0, sink_cb);
    return e;
}

static void step(struct relay *r, uint32_t src_revents)
{
    int e = 0;
    bool moved_any = false;
    if (r->done || r->in_step)
        return;
    r->in_step = true;
    for (int round = 0; round < ROUNDS_PER_WAKEUP && !e; round++) {
        bool moved = false;
        size_t before = r->in;
        /* While closing, the source is read whenever there is room (no EPOLLIN comes for a FIFO
         * that is empty but still has a writer). */
        e = fill_from_src(r, round == 0 ? src_revents : 0, &moved);
        if (!e && (r->in != before || (r->src_eof && moved)) && r->cb.input && r->sink_held)
            e = r->cb.input(r, r->cb.data); /* may take the head and release the sink */
        if (!e)
            e = flush_sink(r, &moved);
        moved_any |= moved;
        if (!moved || r->batching)
            break;
    }
    r->in_step = false;
    if (e < 0) {
        finish(r, e);
        return;
    }
    if (moved_any && r->idle_timer)
        (void)loop_timer_set(r->idle_timer, r->idle_usec);
    if (r->src_eof && r->len == 0 && !r->sink_held) {
        finish(r, 0);
        return;
    }
    if (update_interest(r) < 0)
        finish(r, -ENOMEM);
}

static void src_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct relay *r = data;
    (void)s;
    (void)fd;
    if ((revents & EPOLLHUP) && !r->hup_told && r->cb.src_hangup) {
        r->hup_told = true;
        r->cb.src_hangup(r, r->cb.data); /* must not free r */
    }
    step(r, revents | EPOLLIN);
}

static void sink_cb(struct loop_source *s, int fd, uint32_t revents, void *data)
{
    struct relay *r = data;
    (void)s;
    (void)fd;
    if (revents & EPOLLERR && (r->flags & RELAY_ABORT_ON_ERROR)) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(r->sink, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
            sink_breaks(r);
            finish(r, -soerr);
            return;
        }
    }
    if (revents & (EPOLLERR | EPOLLHUP))
        sink_breaks(r); /* the reader is gone: drain and discard from now on */
    step(r, 0);
}

static void on_idle(struct loop_source *t, void *data)
{
    (void)t;
    finish(data, -ETIMEDOUT);
}

int relay_new(struct loop *l, int src, int sink, size_t bufsz, unsigned flags,
              const struct relay_cb *cb, struct relay **ret)
{
    struct relay *r;
    struct stat st;
    int e;
    if (src < 0 || sink < 0 || bufsz == 0 || !cb || !cb->done)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->buf = malloc(bufsz))) {
        free(r);
        return -ENOMEM;
    }
    r->loop = l;
    r->src = src;
    r->sink = sink;
    r->size = bufsz;
    r->flags = flags;
    r->cb = *cb;
    r->sink_pollable = !(fstat(sink, &st) == 0 && S_ISREG(st.st_mode));
    e = update_interest(r);
    if (e < 0) {
        drop_sources(r);
        free(r->buf);
        free(r);
        return e;
    }
    *ret = r;
    return 0;
}

void relay_free(struct relay *r)
{
    if (!r)
        return;
    drop_sources(r);
    if (r->flags & RELAY_OWN_SRC)
        safe_close(r->src);
    if (r->flags & RELAY_OWN_SINK)
        safe_close(r->sink);
    free(r->buf);
    free(r);
}

void relay_close_src(struct relay *r)
{
    if (!r || r->done)
        return;
    /* Not EOF yet: what sits in the source (a FIFO holds up to its pipe size) may not fit in
     * the buffer now; it is read as the sink drains, and EOF comes once the source is empty. */
    r->src_closing = true;
    r->batching = false;
    step(r, 0);
}

void relay_end(struct relay *r)
{
    if (r && !r->done) {
        r->dropped += r->len;
        r->len = 0;
        finish(r, -ECANCELED);
    }
}

int relay_idle_limit(struct relay *r, uint64_t usec)
{
    if (r->done)
        return 0;
    r->idle_usec = usec;
    if (!usec) {
        r->idle_timer = loop_source_free(r->idle_timer);
        return 0;
    }
    if (r->idle_timer)
        return loop_timer_set(r->idle_timer, usec);
    return loop_add_timer(r->loop, usec, on_idle, r, &r->idle_timer);
}

int relay_prepend(struct relay *r, const void *p, size_t n)
{
    if (r->in)
        return -EBUSY;
    if (n > r->size - r->len)
        return -ENOBUFS;
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return update_interest(r);
}

void relay_hold_sink(struct relay *r)
{
    r->sink_held = true;
    (void)update_interest(r);
}

void relay_sink_gone(struct relay *r)
{
    if (r->done)
        return;
    sink_breaks(r);
    step(r, 0);
}

void relay_release_sink(struct relay *r)
{
    if (!r->sink_held)
        return;
    r->sink_held = false;
    if (!r->in_step) /* from the input callback the running step goes on writing */
        step(r, 0);
}

int relay_take_head(struct relay *r, void *p, size_t n)
{
    if (r->len < n)
        return -EAGAIN;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)p)[i] = r->buf[(r->head + i) % r->size];
    r->head = (r->head + n) % r->size;
    r->len -= n;
    if (r->len == 0)
        r->head = 0;
    return 0;
}

struct relay_status relay_status(const struct relay *r)
{
    return (struct relay_status){
        .done = r->done,
        .sink_broken = r->sink_broken,
        .src_eof = r->src_eof,
        .src_paused = !r->done && !r->src_eof && r->len == r->size,
        .bytes_in = r->in,
        .bytes_out = r->out,
        .bytes_dropped = r->dropped,
        .reads = r->reads,
        .buffered = r->len,
    };
}

int relay_src_fd(const struct relay *r)
{
    return r->src;
}

int relay_sink_fd(const struct relay *r)
{
    return r->sink;
}
