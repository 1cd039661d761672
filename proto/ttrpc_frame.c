#include "ttrpc_frame.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_LEN])
{
    out[0] = (uint8_t)(h->length >> 24);
    out[1] = (uint8_t)(h->length >> 16);
    out[2] = (uint8_t)(h->length >> 8);
    out[3] = (uint8_t)h->length;
    out[4] = (uint8_t)(h->stream_id >> 24);
    out[5] = (uint8_t)(h->stream_id >> 16);
    out[6] = (uint8_t)(h->stream_id >> 8);
    out[7] = (uint8_t)h->stream_id;
    out[8] = h->type;
    out[9] = h->flags;
}

void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_LEN], struct ttrpc_header *h)
{
    h->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    h->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
    h->type = in[8];
    h->flags = in[9];
}

void ttrpc_reader_init(struct ttrpc_reader *r, uint32_t max_payload)
{
    memset(r, 0, sizeof(*r));
    r->max_payload = max_payload ? max_payload : TTRPC_MAX_PAYLOAD;
    /* One maximal frame plus one read's worth of the next. */
    buf_init(&r->in, (size_t)r->max_payload + TTRPC_HEADER_LEN + 65536);
}

void ttrpc_reader_done(struct ttrpc_reader *r)
{
    buf_done(&r->in);
}

static void drop_pending(struct ttrpc_reader *r)
{
    if (r->consumed_pending) {
        buf_consume(&r->in, r->consumed_pending);
        r->consumed_pending = 0;
    }
}

/* Discard bytes of a skipped oversized payload from the buffer. */
static void skip_buffered(struct ttrpc_reader *r)
{
    size_t n = buf_avail(&r->in);
    if (r->skip == 0 || n == 0)
        return;
    if ((uint64_t)n > r->skip)
        n = (size_t)r->skip;
    buf_consume(&r->in, n);
    r->skip -= n;
}

int ttrpc_reader_feed(struct ttrpc_reader *r, const void *p, size_t n)
{
    drop_pending(r);
    /* Bytes of an oversized payload never enter the buffer. */
    if (r->skip && buf_avail(&r->in) == 0) {
        size_t s = (uint64_t)n > r->skip ? (size_t)r->skip : n;
        r->skip -= s;
        p = (const uint8_t *)p + s;
        n -= s;
    }
    return buf_append(&r->in, p, n);
}

long ttrpc_reader_read_fd(struct ttrpc_reader *r, int fd)
{
    long n;
    drop_pending(r);
    skip_buffered(r);
    n = buf_read_fd(&r->in, fd, 65536);
    if (n > 0)
        skip_buffered(r);
    return n;
}

int ttrpc_reader_next(struct ttrpc_reader *r, struct ttrpc_frame *out)
{
    struct ttrpc_header h;

    drop_pending(r);
    skip_buffered(r);
    if (r->skip || buf_avail(&r->in) < TTRPC_HEADER_LEN)
        return 0;
    ttrpc_header_decode(buf_peek(&r->in), &h);
    if (h.length > r->max_payload) {
        buf_consume(&r->in, TTRPC_HEADER_LEN);
        r->skip = h.length;
        skip_buffered(r);
        memset(out, 0, sizeof(*out));
        out->hdr = h;
        out->oversized = true;
        return 1;
    }
    if (buf_avail(&r->in) < TTRPC_HEADER_LEN + (size_t)h.length)
        return 0;
    out->hdr = h;
    out->payload = buf_peek(&r->in) + TTRPC_HEADER_LEN;
    out->oversized = false;
    r->consumed_pending = TTRPC_HEADER_LEN + h.length;
    return 1;
}

bool ttrpc_reader_mid_frame(const struct ttrpc_reader *r)
{
    return r->skip > 0 || buf_avail(&r->in) > r->consumed_pending;
}

int ttrpc_frame_append(struct buf *out, uint32_t stream_id, uint8_t type, uint8_t flags,
                       const void *payload, size_t len)
{
    struct ttrpc_header h = {
        .length = (uint32_t)len, .stream_id = stream_id, .type = type, .flags = flags};
    uint8_t hdr[TTRPC_HEADER_LEN];
    uint8_t *p;
    int r = 0;

    if (len > TTRPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    ttrpc_header_encode(&h, hdr);
    /* Reserve both parts first so a frame is either queued whole or not at all. */
    p = buf_reserve(out, TTRPC_HEADER_LEN + len, &r);
    if (!p)
        return r;
    memcpy(p, hdr, TTRPC_HEADER_LEN);
    if (len)
        memcpy(p + TTRPC_HEADER_LEN, payload, len);
    buf_commit(out, TTRPC_HEADER_LEN + len);
    return 0;
}
