/* Bidirectional socket relay (duplex_relay.h). Side k's bytes go through dir[k] to side 1-k. */
#include "duplex_relay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "loop.h"

#define HEAD_MAX 64u

struct side {
    int fd;
    struct loop_source *src;
    bool rd_eof;  /* read returned 0 */
    bool wr_shut; /* shutdown(SHUT_WR) done */
    bool gone;    /* hung up: dropped from the loop, never written again */
};

struct dir {
    uint8_t *buf;
    size_t off, len; /* pending bytes are [off, len) */
    uint64_t moved;
};

struct duplex_relay {
    struct loop *l;
    struct side s[2];
    struct dir d[2];
    size_t cap;
    size_t head_n; /* bytes still expected as B's head (0: none / done) */
    duplex_head_fn head;
    duplex_done_fn done;
    void *data;
    bool finished;
};

static void finish(struct duplex_relay *r, int status)
{
    if (r->finished)
        return;
    r->finished = true;
    for (int k = 0; k < 2; k++)
        r->s[k].src = loop_source_free(r->s[k].src);
    r->done(r, status, r->data); /* may free r: nothing after this */
}

static size_t pending(const struct dir *d)
{
    return d->len - d->off;
}

/* The epoll interest of side k from the state. */
static int update(struct duplex_relay *r, int k)
{
    struct side *s = &r->s[k];
    uint32_t ev = 0;
    if (!s->src)
        return 0;
    if (!s->rd_eof && r->d[k].len < r->cap)
        ev |= EPOLLIN;
    /* B's bytes wait for A until the head has been checked: no EPOLLOUT on A meanwhile */
    if (pending(&r->d[1 - k]) && !s->wr_shut && !(k == 0 && r->head_n))
        ev |= EPOLLOUT;
    if (loop_io_get_events(s->src) == ev)
        return 0;
    return loop_io_set_events(s->src, ev);
}

/* Write what dir[1-k] holds to side k; shut k's write side after its source's EOF. */
static int flush_to(struct duplex_relay *r, int k)
{
    struct side *s = &r->s[k];
    struct dir *d = &r->d[1 - k];
    while (pending(d) && !s->gone) {
        ssize_t n = send(s->fd, d->buf + d->off, pending(d), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return -errno;
        }
        d->off += (size_t)n;
        d->moved += (uint64_t)n;
    }
    if (d->off == d->len)
        d->off = d->len = 0;
    if (!pending(d) && r->s[1 - k].rd_eof && !s->wr_shut && !s->gone) {
        if (shutdown(s->fd, SHUT_WR) < 0 && errno != ENOTCONN)
            return -errno;
        s->wr_shut = true;
    }
    return 0;
}

/* Read from side k into dir[k] while there is room. */
static int fill_from(struct duplex_relay *r, int k)
{
    struct side *s = &r->s[k];
    struct dir *d = &r->d[k];
    if (d->len == r->cap && d->off) { /* full but partly written: make room at the tail */
        memmove(d->buf, d->buf + d->off, d->len - d->off);
        d->len -= d->off;
        d->off = 0;
    }
    while (!s->rd_eof && d->len < r->cap) {
        ssize_t n = recv(s->fd, d->buf + d->len, r->cap - d->len, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return -errno;
        }
        if (n == 0)
            s->rd_eof = true;
        d->len += (size_t)n;
    }
    if (k == 1 && r->head_n) {
        if (pending(d) >= r->head_n) {
            int h = r->head(d->buf + d->off, r->head_n, r->data);
            d->off += r->head_n;
            r->head_n = 0;
            if (h < 0)
                return h;
        } else if (s->rd_eof) {
            return -EPROTO; /* the peer ended before its header */
        }
    }
    return 0;
}

static bool all_done(const struct duplex_relay *r)
{
    for (int k = 0; k < 2; k++)
        if (r->s[k].gone) /* it can take nothing more: done once what it sent is delivered */
            return !pending(&r->d[k]) || r->s[1 - k].gone;
    for (int k = 0; k < 2; k++) {
        const struct side *s = &r->s[k], *o = &r->s[1 - k];
        if (!s->rd_eof || pending(&r->d[k]) || !o->wr_shut)
            return false;
    }
    return true;
}

/* One pass over both sides: read, write, re-arm. */
static void step(struct duplex_relay *r)
{
    int e = 0;
    for (int k = 0; k < 2 && !e; k++)
        if (!r->s[k].gone)
            e = fill_from(r, k);
    /* the head is held back from A until it has been checked */
    for (int k = 0; k < 2 && !e; k++)
        if (!(k == 0 && r->head_n))
            e = flush_to(r, k);
    for (int k = 0; k < 2 && !e; k++)
        e = update(r, k);
    if (e < 0) {
        finish(r, e);
        return;
    }
    if (all_done(r))
        finish(r, 0);
}

static void on_io(struct loop_source *src, int fd, uint32_t revents, void *data)
{
    struct duplex_relay *r = data;
    int k = r->s[0].src == src ? 0 : 1, soerr = 0;
    socklen_t sl = sizeof(soerr);
    (void)fd;
    if (revents & EPOLLERR) {
        if (getsockopt(r->s[k].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
            finish(r, -soerr);
            return;
        }
    }
    if (revents & (EPOLLHUP | EPOLLERR)) {
        /* the peer is gone both ways: take what it sent, then never poll it again (a hung-up
         * fd reports EPOLLHUP whatever the interest, so it would spin) */
        int e = fill_from(r, k);
        if (e < 0) {
            finish(r, e);
            return;
        }
        r->s[k].rd_eof = true;
        r->s[k].gone = true;
        r->s[k].src = loop_source_free(r->s[k].src);
        r->d[1 - k].off = r->d[1 - k].len = 0; /* undeliverable */
    }
    step(r);
}

int duplex_relay_new(struct loop *l, int fd_a, int fd_b, size_t bufsz, duplex_done_fn done,
                     void *data, struct duplex_relay **ret)
{
    struct duplex_relay *r;
    int fds[2] = {fd_a, fd_b}, e = 0;
    if (fd_a < 0 || fd_b < 0 || bufsz == 0 || !done)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->l = l, r->cap = bufsz, r->done = done, r->data = data;
    for (int k = 0; k < 2 && !e; k++) {
        r->s[k].fd = fds[k];
        r->d[k].buf = malloc(bufsz);
        if (!r->d[k].buf)
            e = -ENOMEM;
        else
            e = loop_add_io(l, fds[k], EPOLLIN, on_io, r, &r->s[k].src);
    }
    if (e < 0) {
        for (int k = 0; k < 2; k++) {
            r->s[k].src = loop_source_free(r->s[k].src);
            free(r->d[k].buf);
        }
        free(r);
        return e;
    }
    *ret = r;
    return 0;
}

int duplex_relay_send_b(struct duplex_relay *r, const void *p, size_t n)
{
    struct dir *d = &r->d[0];
    if (n > r->cap - d->len)
        return -ENOBUFS;
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return update(r, 1);
}

int duplex_relay_expect_b(struct duplex_relay *r, size_t n, duplex_head_fn head)
{
    if (n == 0 || n > HEAD_MAX || !head)
        return -EINVAL;
    r->head_n = n;
    r->head = head;
    return 0;
}

uint64_t duplex_relay_bytes(const struct duplex_relay *r, int dir)
{
    return r->d[dir ? 1 : 0].moved;
}

int duplex_relay_fd(const struct duplex_relay *r, int side)
{
    return r->s[side ? 1 : 0].fd;
}

void duplex_relay_free(struct duplex_relay *r)
{
    if (!r)
        return;
    for (int k = 0; k < 2; k++) {
        r->s[k].src = loop_source_free(r->s[k].src);
        safe_close(r->s[k].fd);
        free(r->d[k].buf);
    }
    free(r);
}
