#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void buf_init(struct buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

void buf_done(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void buf_reset(struct buf *b)
{
    b->off = b->len = 0;
}

/* Compact consumed bytes away, then grow the allocation to hold need more bytes. */
static int make_room(struct buf *b, size_t need)
{
    size_t held = b->len - b->off;
    size_t want;
    uint8_t *n;

    if (need > b->cap || held > b->cap - need)
        return -ENOBUFS;
    if (b->off > 0 && b->alloc - b->len < need) {
        memmove(b->data, b->data + b->off, held);
        b->len = held;
        b->off = 0;
    }
    if (b->alloc - b->len >= need)
        return 0;
    want = b->alloc ? b->alloc : 4096;
    while (want - b->len < need)
        want *= 2;
    if (want > b->cap + 4096)
        want = b->cap + 4096;
    n = realloc(b->data, want);
    if (!n)
        return -ENOMEM;
    b->data = n;
    b->alloc = want;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int r;
    if (n == 0)
        return 0;
    r = make_room(b, n);
    if (r < 0)
        return r;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

uint8_t *buf_reserve(struct buf *b, size_t n, int *err)
{
    int r = make_room(b, n);
    if (r < 0) {
        if (err)
            *err = r;
        return NULL;
    }
    return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len - b->off) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
}

long buf_read_fd(struct buf *b, int fd, size_t max)
{
    size_t room = b->cap - buf_avail(b);
    uint8_t *p;
    ssize_t n;
    int err = 0;

    if (max > room)
        max = room;
    if (max == 0)
        return -ENOBUFS;
    p = buf_reserve(b, max, &err);
    if (!p)
        return err;
    do
        n = read(fd, p, max);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    b->len += (size_t)n;
    return n;
}

long buf_write_fd(struct buf *b, int fd)
{
    ssize_t n;
    if (buf_avail(b) == 0)
        return 0;
    do
        n = write(fd, buf_peek(b), buf_avail(b));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    buf_consume(b, (size_t)n);
    return n;
}
