/* One direction of a stdio stream: copy src -> sink on the loop through a fixed 64 KiB buffer.
 * Backpressure: while the buffer is full, EPOLLIN on src is off; EPOLLOUT on sink is on only
 * while bytes are buffered. Nothing is dropped unless the sink is broken (EPIPE etc.), in which
 * case the source keeps being drained (so the process never blocks) and the bytes are counted.
 * Done (callback) once src hit EOF and every byte was written. */
#ifndef CVM_SHIM_STDIO_RELAY_H
#define CVM_SHIM_STDIO_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct relay;

#define RELAY_BUF_SIZE (64u * 1024u)

enum {
    RELAY_OWN_SRC = 1 << 0,   /* close src when freed */
    RELAY_OWN_SINK = 1 << 1,  /* close sink when freed */
    RELAY_SHUT_SINK = 1 << 2, /* shutdown(sink, SHUT_WR) when done (sockets) */
    RELAY_FIFO_SRC = 1 << 3,  /* src is a FIFO: read()==0 is EOF only with EPOLLHUP (§3.5) */
};

typedef void (*relay_done_fn)(struct relay *r, void *data);

/* src and sink must be non-blocking (a regular-file sink may be blocking: it is written
 * synchronously). */
int relay_new(struct loop *l, int src, int sink, unsigned flags, relay_done_fn done, void *data,
              struct relay **ret);
void relay_free(struct relay *r); /* accepts NULL; never calls done */
/* Treat src as finished now: read what is already available, then finish after draining
 * (CloseIO). */
void relay_close_src(struct relay *r);
bool relay_done(const struct relay *r);
bool relay_src_paused(const struct relay *r); /* EPOLLIN off because the buffer is full */
uint64_t relay_bytes_in(const struct relay *r);
uint64_t relay_bytes_out(const struct relay *r);
uint64_t relay_bytes_dropped(const struct relay *r);
size_t relay_buffered(const struct relay *r);

#endif
