/* ttrpc framing (spec §1.2–1.5): a pure codec with no I/O.
 *
 * A frame is a 10-byte big-endian header {length u32, stream_id u32, type u8, flags u8}
 * followed by length payload bytes, length <= 4 MiB. The reader turns a byte stream into
 * frames; an oversized frame is skipped byte for byte and reported, so the connection
 * survives (the server answers it with RESOURCE_EXHAUSTED). */
#ifndef CVM_TTRPC_FRAME_H
#define CVM_TTRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TTRPC_HEADER_LEN 10u
#define TTRPC_MAX_PAYLOAD (4u << 20)

enum ttrpc_type {
    TTRPC_TYPE_REQUEST = 1,
    TTRPC_TYPE_RESPONSE = 2,
    TTRPC_TYPE_DATA = 3,
};

enum {
    TTRPC_FLAG_REMOTE_CLOSED = 0x01,
    TTRPC_FLAG_REMOTE_OPEN = 0x02,
    TTRPC_FLAG_NO_DATA = 0x04,
};

struct ttrpc_header {
    uint32_t length;
    uint32_t stream_id;
    uint8_t type;
    uint8_t flags;
};

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_LEN]);
void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_LEN], struct ttrpc_header *h);

/* A frame handed out by the reader. payload points into the reader's buffer and is valid
 * until the next ttrpc_reader_next()/feed call. oversized: payload was skipped (NULL). */
struct ttrpc_frame {
    struct ttrpc_header hdr;
    const uint8_t *payload;
    bool oversized;
};

struct ttrpc_reader {
    struct buf in;
    uint64_t skip;           /* bytes of an oversized payload still to discard */
    size_t consumed_pending; /* bytes of the last returned frame, dropped on the next call */
    uint32_t max_payload;
};

void ttrpc_reader_init(struct ttrpc_reader *r, uint32_t max_payload);
void ttrpc_reader_done(struct ttrpc_reader *r);
/* Add bytes from the peer. -ENOBUFS if the reader cannot hold them (never for a sane peer:
 * the buffer is capped at one maximal frame plus slack). */
int ttrpc_reader_feed(struct ttrpc_reader *r, const void *p, size_t n);
/* Read from fd into the reader; returns bytes, 0 on EOF, -errno. */
long ttrpc_reader_read_fd(struct ttrpc_reader *r, int fd);
/* 1 and *out filled when a frame is complete; 0 when more bytes are needed. An oversized
 * frame is reported once (oversized=true) as soon as its header is read. */
int ttrpc_reader_next(struct ttrpc_reader *r, struct ttrpc_frame *out);
/* True when a partial frame is buffered (a peer closing now closed mid-frame). */
bool ttrpc_reader_mid_frame(const struct ttrpc_reader *r);

/* Append header+payload to out as one unit; -EMSGSIZE when payload is over the limit. */
int ttrpc_frame_append(struct buf *out, uint32_t stream_id, uint8_t type, uint8_t flags,
                       const void *payload, size_t len);

#endif
