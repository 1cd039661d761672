/* A bounded, growable byte buffer with a read cursor (sshbuf-like).
 * Data lives in [data+off, data+len). Growth beyond cap fails with -ENOBUFS. */
#ifndef CVM_BUF_H
#define CVM_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data;
    size_t off; /* read cursor */
    size_t len; /* end of valid data */
    size_t alloc;
    size_t cap; /* hard limit on bytes held (len - off) */
};

void buf_init(struct buf *b, size_t cap);
void buf_done(struct buf *b);
static inline size_t buf_avail(const struct buf *b)
{
    return b->len - b->off;
}
static inline const uint8_t *buf_peek(const struct buf *b)
{
    return b->data + b->off;
}
int buf_append(struct buf *b, const void *p, size_t n);
/* Reserve n writable bytes at the tail; returns pointer or NULL (-ENOBUFS/-ENOMEM in *err). */
uint8_t *buf_reserve(struct buf *b, size_t n, int *err);
void buf_commit(struct buf *b, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Read from fd into the buffer (up to max bytes). Returns bytes read, 0 on EOF, -errno. */
long buf_read_fd(struct buf *b, int fd, size_t max);
/* Write buffered bytes to fd. Returns bytes written or -errno (-EAGAIN when none could). */
long buf_write_fd(struct buf *b, int fd);

#endif
