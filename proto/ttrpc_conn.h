/* One ttrpc connection on the loop: a frame reader, a bounded write buffer with EPOLLOUT
 * only while it holds data, and read backpressure while the peer is not reading our
 * replies. Shared by the server and the client; not a public API.
 *
 * Lifetime: after ttrpc_conn_close() (or a peer close, reported once through on_close) no
 * callback runs again and the memory is released after the current loop batch, so callers
 * may close from inside on_frame. */
#ifndef CVM_TTRPC_CONN_H
#define CVM_TTRPC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc_frame.h"

struct loop;
struct ttrpc_conn;

struct ttrpc_conn_ops {
    void (*on_frame)(struct ttrpc_conn *c, const struct ttrpc_frame *f, void *data);
    /* err: 0 for a clean EOF at a frame boundary, -EPIPE for EOF mid-frame, -errno else. */
    void (*on_close)(struct ttrpc_conn *c, int err, void *data);
};

#define TTRPC_CONN_OUT_CAP (64u << 20)  /* hard cap of queued output per connection */
#define TTRPC_CONN_OUT_HIGH (16u << 20) /* stop reading requests above this */

/* Lower the largest payload this connection reads (default TTRPC_MAX_PAYLOAD): a longer frame is
 * skipped without being buffered and reported as oversized. Call before the first byte is read. */
void ttrpc_conn_set_max_payload(struct ttrpc_conn *c, uint32_t max);
int ttrpc_conn_new(struct loop *l, int fd, const struct ttrpc_conn_ops *ops, void *data,
                   struct ttrpc_conn **ret);
/* Queue one frame; -EMSGSIZE over 4 MiB, -ENOBUFS when the peer stopped reading (the
 * connection is then closed), -ENOTCONN after close. */
int ttrpc_conn_send(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type, uint8_t flags,
                    const void *payload, size_t len);
/* Close without calling on_close. Accepts NULL. */
void ttrpc_conn_close(struct ttrpc_conn *c);
bool ttrpc_conn_is_closed(const struct ttrpc_conn *c);
int ttrpc_conn_fd(const struct ttrpc_conn *c);

#endif
